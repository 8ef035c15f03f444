"""One place for the JIT policy of every kernel, and the bit casts the kernels need.

Policy: compiled code is cached on disk (compiles take seconds), releases the GIL, and
keeps IEEE semantics (no ``fastmath``: reassociation or fused multiply-add would make the
bits depend on the CPU). The generic CPU-target test in ``tests/sampler`` checks this.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows: the lock is then only Numba's own atomic renames
    fcntl = None

from llvmlite import ir
from numba import njit, types
from numba.core import caching, config
from numba.core.codegen import get_host_cpu_features
from numba.extending import intrinsic

__all__ = [
    "JIT_POLICY",
    "kernel",
    "inline_kernel",
    "parallel_kernel",
    "parallel_allowed",
    "target_has_feature",
    "f32_to_f16_bits_hardware",
    "f32_bits",
    "f32_from_bits",
    "f64_bits",
    "f64_from_bits",
]

#: The sampler package: every source compiled code can be made from lies under it (kernels
#: import only from here), and every ``.py`` file under it is part of the cache key.
_PACKAGE_DIR = Path(__file__).resolve().parent


def _kernel_source_stamp() -> bytes:
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.digest()


class _PackageStampMixin:
    # Numba keys a cached kernel to its own file only; ours inline code from other modules
    # (bits/, transforms/, kernels/words.py), so an edit there would leave stale machine code
    # in use. Key every reprovar kernel to every file of the sampler package instead.
    _stamp: bytes | None = None

    def get_source_stamp(self):
        if _PackageStampMixin._stamp is None:
            _PackageStampMixin._stamp = _kernel_source_stamp()
        return _PackageStampMixin._stamp

    @classmethod
    def from_function(cls, py_func, py_file):
        if not Path(py_file).resolve().is_relative_to(_PACKAGE_DIR):
            return None
        return super().from_function(py_func, py_file)


def _install_package_stamped_locators() -> None:
    # Numba internals (CacheImpl was _CacheImpl before 0.61); without them we fall back to
    # Numba's per-file keying, which is only a hazard for someone editing the kernels.
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    locators = getattr(impl, "_locator_classes", None)
    if locators is None:
        return
    if any(issubclass(c, _PackageStampMixin) for c in locators):
        return
    stamped = [
        type(f"PackageStamped{base.__name__}", (_PackageStampMixin, base), {})
        for base in (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator, caching.UserWideCacheLocator)
    ]
    locators[:0] = stamped


_install_package_stamped_locators()


class _CheckedCacheFile(caching.IndexDataCacheFile):
    """Numba's index and data files of one kernel, safe when several processes share them.

    Numba writes a new entry by reading the index, choosing a data file name, writing the
    index, then the data: two processes compiling the same kernel at once (Dask workers, a
    test runner's subprocesses) can leave the index naming, for one signature, a data file
    that holds another signature's machine code, and every later process then runs that code
    on the wrong types. Here those steps take turns under a lock file beside the index, and
    an entry whose data was compiled for another signature than the one it is filed under is
    a miss: the kernel is compiled again and the entry rewritten.
    """

    def save(self, key, data):
        with self._turn():
            super().save(key, data)

    def load(self, key):
        with self._turn():
            data = super().load(key)
        if data is not None and not _filed_right(key, data):
            return None
        return data

    @contextlib.contextmanager
    def _turn(self):
        try:
            lock = open(os.path.join(self._cache_path, self._index_name + ".lock"), "a+b")
        except OSError:  # a cache directory this process cannot write: nothing to race on
            yield
            return
        with lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield


def _filed_right(key, data) -> bool:
    # key: (signature's argument types, codegen magic, code hashes), see numba's _index_key;
    # data: a reduced CompileResult, whose fourth item is the Signature it was compiled for.
    try:
        return tuple(data[3].args) == tuple(key[0])
    except (AttributeError, IndexError, TypeError):
        return True  # another layout than this Numba's: trust it, as Numba itself would


def _install_checked_cache_files() -> None:
    # Only for reprovar's kernels (the locators above); other libraries' caches are theirs.
    original = caching.Cache.__init__
    if getattr(original, "_reprovar_checked", False):
        return

    def __init__(self, py_func):
        original(self, py_func)
        if isinstance(self._impl.locator, _PackageStampMixin):
            plain = self._cache_file
            self._cache_file = _CheckedCacheFile(plain._cache_path, self._impl.filename_base, plain._source_stamp)

    __init__._reprovar_checked = True
    caching.Cache.__init__ = __init__


_install_checked_cache_files()

JIT_POLICY = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


#: The cache entries of the kernels built so far: Numba files a cached function under its
#: module, qualified name and line only, so two builds of one function (a serial and a
#: parallel one, say) would share an entry, and load each other's machine code.
_CACHE_ENTRIES: dict[tuple[str, str, int], str] = {}


def _claim_cache_entry(fn, build: str) -> None:
    key = (fn.__module__, fn.__qualname__, fn.__code__.co_firstlineno)
    claimed = _CACHE_ENTRIES.setdefault(key, build)
    if claimed != build:
        raise RuntimeError(
            f"{fn.__module__}.{fn.__qualname__} is built as a {claimed} and a {build} kernel: both "
            "would share one Numba cache entry; give each build a name of its own"
        )


def kernel(fn):
    """Compile ``fn`` as a serial kernel under the package policy."""
    _claim_cache_entry(fn, "serial")
    return njit(**JIT_POLICY)(fn)


def inline_kernel(fn):
    """Compile ``fn`` to be inlined into its callers at Numba IR level.

    Exception to the default for the small pieces of per-element math: LLVM's inliner gives up
    on large callees, and a call left in a loop body stops the loop from being vectorized.
    """
    return njit(inline="always", **JIT_POLICY)(fn)


def parallel_kernel(fn):
    """Compile ``fn`` as a ``prange`` kernel under the package policy."""
    _claim_cache_entry(fn, "parallel")
    return njit(parallel=True, **JIT_POLICY)(fn)


#: Numba threading layers whose worker threads survive ``fork()``: TBB, and the workqueue
#: (Numba restarts its threads in the child). GNU OpenMP, Numba's choice on Linux when TBB
#: cannot be loaded, kills a forked child at its next parallel region.
FORK_SAFE_LAYERS = frozenset({"tbb", "workqueue"})
_forked_after_threads = False


def parallel_allowed() -> bool:
    """Whether parallel kernels may run in this process: not in a child forked after the
    parent started a threading layer that does not survive ``fork()`` (a
    ``multiprocessing`` fork Pool worker, a DataLoader worker, ...). Such a child runs the
    serial kernels instead; values are the same bits either way.

    Example:
        >>> parallel_allowed()
        True
    """
    return not _forked_after_threads


def _threads_started_unsafely() -> bool:
    from numba.np.ufunc import parallel

    if not getattr(parallel, "_is_initialized", False):
        return False  # no thread pool yet: the child starts its own
    try:
        return parallel.threading_layer() not in FORK_SAFE_LAYERS
    except ValueError:
        return False


def _after_fork_in_child() -> None:
    global _forked_after_threads
    if not _forked_after_threads and _threads_started_unsafely():
        _forked_after_threads = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _bitcast(src, dst):
    @intrinsic
    def cast(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(dst))

        return dst(src), codegen

    return cast


def target_has_feature(feature: str) -> bool:
    """Whether the CPU that kernels are compiled for has ``feature`` (e.g. ``"f16c"``).

    Honours ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` exactly as Numba's code generator does,
    so a kernel built for a generic target never calls for an instruction it lacks.
    """
    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return f"+{feature}" in features.split(",")


@intrinsic
def f32_to_f16_bits_hardware(typingctx, x):
    """IEEE float32 -> binary16 conversion as one LLVM ``fptrunc`` (F16C's ``vcvtps2ph``).

    Only for targets with F16C: elsewhere LLVM would call a runtime function the JIT lacks.
    """
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), ir.IntType(16))

    return types.uint16(types.float32), codegen


# Reinterpretations (not conversions) of a float's IEEE bits; LLVM keeps them in vector registers.
f32_bits = _bitcast(types.float32, types.uint32)
f32_from_bits = _bitcast(types.uint32, types.float32)
f64_bits = _bitcast(types.float64, types.uint64)
f64_from_bits = _bitcast(types.uint64, types.float64)
