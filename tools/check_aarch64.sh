#!/usr/bin/env bash
# Check the frozen digests of every registered algorithm on aarch64, under emulation.
#
#   tools/check_aarch64.sh [--python PY] [--cpu NAME]...
#
# Builds once, or reuses, a Debian bookworm arm64 root holding Python and the aarch64
# wheels (from the package index) of exactly the numpy, numba, llvmlite, ml_dtypes and
# other runtime dependency versions installed for PY (default: python3 on PATH). Then it
# runs tools/check_frozen_digests.py on this source tree with qemu-aarch64-static -L ROOT,
# once per LLVM CPU target (side by side), each time with an empty Numba cache so that the
# kernels are compiled for aarch64 in this run. The table it checks is
# tests/sampler/frozen_digests.py, the one the x86-64 tests read.
#
# Building the root emulates nothing but a final import of numba: debootstrap only
# downloads and unpacks (--foreign), and the host's pip installs the aarch64 wheels with
# --platform. Running it needs no binfmt_misc, chroot or mounts either: qemu-aarch64-static
# -L finds the root's loader and libraries. Nothing on the host changes except the cache
# directory (and, run as root where apt-get exists, the packages debootstrap and
# qemu-user-static are installed when missing).
#
# --cpu NAME   an LLVM CPU for NUMBA_CPU_NAME; "host" leaves Numba to detect one (under
#              emulation LLVM sees no ARM CPU and picks "generic"). Default: host and
#              neoverse-v1 (SVE, FMA available: it must still give the same bits).
#
# Environment:
#   REPROVAR_ARM64_CACHE    where the root is kept   (default /var/cache/reprovar-arm64)
#   REPROVAR_ARM64_MIRROR   the Debian mirror         (default http://deb.debian.org/debian)
#   REPROVAR_ARM64_TIMEOUT  seconds for everything    (default 1200)
#
# The root lives in $REPROVAR_ARM64_CACHE/bookworm-arm64-KEY, KEY a hash of the Debian
# suite, the wheel versions and the layout of the root. It is built in a .build-* folder
# beside it and renamed into place only when complete, so a root that exists is whole; an
# interrupted build leaves a .build-* folder that the next run deletes. A lock serializes
# runs sharing the cache. Other roots in the cache are deleted after a new one is built.
#
# Exit status: 0 every digest is the same on aarch64; 1 a digest differs, a case raised,
# or a registered algorithm has no frozen row; 2 the environment could not be built or
# run; 124 the time limit passed.

set -euo pipefail

SUITE=bookworm
ROOT_LAYOUT=1   # bump when the way the root is built changes: it changes the cache key
CACHE=${REPROVAR_ARM64_CACHE:-/var/cache/reprovar-arm64}
MIRROR=${REPROVAR_ARM64_MIRROR:-http://deb.debian.org/debian}
TOTAL_TIMEOUT=${REPROVAR_ARM64_TIMEOUT:-1200}
SITE=/opt/reprovar-site   # inside the root

repo=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "check_aarch64: $*"; }
die() { echo "check_aarch64: error: $*" >&2; exit 2; }

# The whole run under one time limit. timeout signals its process group, which holds every
# command started here (none starts its own group), so an emulated Python is stopped too and
# the EXIT trap below removes a half-built root. The step running is kept in a file to say
# where the time went.
if [ -z "${_REPROVAR_ARM64_STEP_FILE:-}" ]; then
  case $TOTAL_TIMEOUT in '' | *[!0-9]*) die "REPROVAR_ARM64_TIMEOUT must be a number of seconds, got '$TOTAL_TIMEOUT'" ;; esac
  step_file=$(mktemp "${TMPDIR:-/tmp}/reprovar-arm64-step.XXXXXX")
  rc=0
  _REPROVAR_ARM64_STEP_FILE=$step_file timeout --kill-after=30 "$TOTAL_TIMEOUT" bash "$0" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "check_aarch64: error: timed out after $TOTAL_TIMEOUT s (REPROVAR_ARM64_TIMEOUT) during: $(cat "$step_file")" >&2
    rc=124
  fi
  rm -f "$step_file"
  exit "$rc"
fi
step() { echo "$*" >"$_REPROVAR_ARM64_STEP_FILE"; }

python=python3
cpus=()
while [ $# -gt 0 ]; do
  case $1 in
    --python) [ $# -ge 2 ] || die "--python needs a value"; python=$2; shift 2 ;;
    --cpu) [ $# -ge 2 ] || die "--cpu needs a value"; cpus+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (accepted: --python PY, --cpu NAME, --help)" ;;
  esac
done
[ ${#cpus[@]} -gt 0 ] || cpus=(host neoverse-v1)

work=$(mktemp -d "${TMPDIR:-/tmp}/reprovar-arm64.XXXXXX")
build=
pids=()   # emulated checks running in the background
cleanup() {
  [ -z "$build" ] || rm -rf "$build"
  rm -rf "$work"
}
# A signal also reaches the background checks (one process group); wait for them to end
# before the EXIT trap deletes their folder.
on_signal() {
  [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
  wait || true
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 143' TERM
trap 'on_signal 130' INT

# Runs "$@" with its output in a log; on failure shows the log's end and stops with status 2.
logged() {
  local what=$1; shift
  local log="$work/$(echo "$what" | tr -c 'a-zA-Z0-9\n' '-').log" rc=0
  step "$what"
  "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] && return 0
  tail -n 40 "$log" >&2
  die "$what failed (exit status $rc); the end of its output is above"
}

# --- the tools ------------------------------------------------------------------------------

if ! command -v debootstrap >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing debootstrap and qemu-user-static"
    logged "apt-get update" apt-get update -q
    logged "apt-get install" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      debootstrap qemu-user-static debian-archive-keyring
  fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  command -v qemu-aarch64-static >/dev/null || die "qemu-aarch64-static is not installed (apt-get install qemu-user-static)"
fi
for tool in flock dpkg-deb tar sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
command -v "$python" >/dev/null || die "no Python '$python' (give the test environment's with --python)"

# --- the versions to reproduce: those of the test environment ---------------------------------

# numpy, numba, llvmlite and ml_dtypes make the bits; the rest of reprovar's runtime
# requirements make it importable. All are pinned to the versions installed for $python.
pins=$("$python" - <<'EOF'
import re, sys
from importlib import metadata

names = {name: True for name in ("numpy", "numba", "llvmlite", "ml_dtypes")}  # name: required
try:
    for req in metadata.requires("reprovar") or []:
        if "extra ==" not in req:
            # one with an environment marker may not apply here: pinned only if installed
            names[re.match(r"[A-Za-z0-9_.-]+", req).group(0)] = ";" not in req
except metadata.PackageNotFoundError:
    pass  # a source tree on PYTHONPATH: the four that make the bits are enough to import it
pins, missing = {}, []
for name, required in names.items():
    key = re.sub(r"[-_.]+", "-", name).lower()
    try:
        pins[key] = f"{key}=={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        if required:
            missing.append(name)
if missing:
    sys.exit(f"not installed for {sys.executable}: {', '.join(missing)}")
print(" ".join(sorted(pins.values())))
EOF
) || die "cannot read the dependency versions from '$python'"
say "versions: $pins"

key=$(printf '%s\n' "layout=$ROOT_LAYOUT" "suite=$SUITE" "arch=arm64" "pins=$pins" | sha256sum | cut -c1-16)
root=$CACHE/$SUITE-arm64-$key

# --- the root: reused whole, or built aside and renamed into place ------------------------------

mkdir -p "$CACHE" || die "cannot create the cache directory $CACHE (set REPROVAR_ARM64_CACHE)"
exec 9>"$CACHE/.lock"
step "waiting for the lock $CACHE/.lock"
flock -w 900 9 || die "another run holds $CACHE/.lock for over 900 s"
rm -rf "$CACHE"/.build-*   # left by interrupted runs: we hold the lock, nobody else builds

build_root() {
  local t0=$SECONDS
  build=$(mktemp -d "$CACHE/.build-XXXXXX")
  say "building $root (debootstrap $SUITE arm64, then the aarch64 wheels)"
  logged "debootstrap" debootstrap --foreign --arch=arm64 --variant=minbase \
    --include=python3,libstdc++6,libgomp1 "$SUITE" "$build" "$MIRROR"
  # --foreign unpacked only the essential packages; the others (Python among them) are
  # unpacked here, keeping the merged-/usr symlinks. Nothing needs configuring to run Python.
  local pkg deb
  step "unpacking the root's packages"
  for pkg in $(cat "$build/debootstrap/base"); do
    deb=$(awk -v p="$pkg" '$1 == p { print $2 }' "$build/debootstrap/debpaths")
    [ -n "$deb" ] && [ -f "$build$deb" ] || die "debootstrap downloaded no package for $pkg"
    dpkg-deb --fsys-tarfile "$build$deb" | tar -x --keep-directory-symlink -f - -C "$build" \
      || die "cannot unpack $deb"
  done
  rm -rf "$build/debootstrap" "$build"/var/cache/apt/archives/*.deb
  local py_version
  py_version=$(readlink "$build/usr/bin/python3") || die "the root has no /usr/bin/python3"
  py_version=${py_version#python}   # "3.11"
  local platforms=() glibc
  for glibc in $(seq 17 36); do platforms+=(--platform "manylinux_2_${glibc}_aarch64"); done  # bookworm: glibc 2.36
  # The host's pip, with its own configuration and certificates, fetches aarch64 wheels only.
  logged "pip install (aarch64 wheels)" "$python" -m pip install --no-input --disable-pip-version-check \
    --no-compile --only-binary=:all: --implementation cp --python-version "$py_version" \
    --abi "cp${py_version/./}" "${platforms[@]}" --platform manylinux2014_aarch64 \
    --target "$build$SITE" $pins
  logged "the emulated Python's first import of numba" env -i PATH=/usr/bin:/bin HOME="$work" \
    PYTHONPATH="$SITE" PYTHONNOUSERSITE=1 NUMBA_CACHE_DIR="$work/numba-smoke" \
    qemu-aarch64-static -L "$build" "$build/usr/bin/python3" -c \
    'import platform, numpy, numba, ml_dtypes; assert platform.machine() == "aarch64", platform.machine()'
  printf '%s\n' "layout=$ROOT_LAYOUT" "suite=$SUITE" "mirror=$MIRROR" "pins=$pins" >"$build/reprovar-arm64.txt"
  chmod 755 "$build"
  mv -T "$build" "$root" || die "cannot rename $build to $root"
  build=
  local other
  for other in "$CACHE/$SUITE"-arm64-*; do
    [ "$other" = "$root" ] || rm -rf "$other"
  done
  say "built the root in $((SECONDS - t0)) s"
}

if [ -f "$root/reprovar-arm64.txt" ] && [ -x "$root/usr/bin/python3" ] && [ -d "$root$SITE/numba" ]; then
  say "reusing $root"
else
  if [ -e "$root" ]; then
    say "$root is incomplete (changed after it was built?): building it again"
    rm -rf "$root"
  fi
  [ "$(id -u)" -eq 0 ] || die "building the arm64 root needs root (debootstrap creates devices and owners)"
  build_root
fi
# The root is only read from now on; the lock is for building.
exec 9>&-

# --- the check --------------------------------------------------------------------------------

# One emulated process per CPU target, side by side (each compiles on one core), each
# with an empty Numba cache so that every kernel is compiled for aarch64 in this run.
step "the checks on aarch64 (LLVM CPUs: ${cpus[*]})"
say "checking on aarch64 for LLVM CPUs: ${cpus[*]} (compiling every kernel under emulation takes minutes)"
t0=$SECONDS
for i in "${!cpus[@]}"; do
  target=()
  [ "${cpus[$i]}" = host ] || target=(NUMBA_CPU_NAME="${cpus[$i]}" NUMBA_CPU_FEATURES="")
  env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 PYTHONPATH="$SITE:$repo/src" \
    PYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1 NUMBA_CACHE_DIR="$work/numba-$i" "${target[@]}" \
    qemu-aarch64-static -L "$root" "$root/usr/bin/python3" "$repo/tools/check_frozen_digests.py" \
    --table "$repo/tests/sampler/frozen_digests.py" --expect-machine aarch64 >"$work/check-$i.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!cpus[@]}"; do
  rc=0
  wait "${pids[$i]}" || rc=$?
  cat "$work/check-$i.log"
  say "LLVM CPU '${cpus[$i]}': exit status $rc"
  case $rc in
    0) ;;
    1) status=1 ;;
    *) [ "$status" -eq 1 ] || status=2 ;;
  esac
done
pids=()
say "the checks took $((SECONDS - t0)) s"
if [ "$status" -eq 0 ]; then
  say "every frozen digest is the same on aarch64 (CPU targets: ${cpus[*]})"
else
  echo "check_aarch64: FAILED: see the lines above (exit status $status)" >&2
fi
exit "$status"
