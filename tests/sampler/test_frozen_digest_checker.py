"""tools/check_frozen_digests.py, which tools/check_aarch64.sh runs on aarch64, fails when it should.

Here it runs natively on a changed copy of the frozen-digest table; its success on the real
table is what CI's aarch64 check shows.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import frozen_digests

REPO = Path(__file__).resolve().parents[2]
CHECKER = REPO / "tools" / "check_frozen_digests.py"
TABLE = Path(frozen_digests.__file__)


def run_checker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECKER), *args], capture_output=True, text=True, timeout=600, cwd=REPO
    )


def test_a_changed_digest_is_reported_and_fails(tmp_path):
    case = frozen_digests.FROZEN[0]
    wrong = f"{int(case.sha256, 16) ^ 1:064x}"
    table = tmp_path / "frozen_digests.py"
    table.write_text(TABLE.read_text().replace(case.sha256, wrong))
    proc = run_checker("--table", str(table))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"DIFFERS  {case.label()}: frozen {wrong}, here {case.sha256}" in proc.stdout
    assert proc.stdout.count("\nsame     ") == len(frozen_digests.FROZEN) - 1


def test_a_registered_algorithm_without_rows_fails(tmp_path):
    table = tmp_path / "frozen_digests.py"
    table.write_text(TABLE.read_text() + "\nFROZEN = []\n")
    proc = run_checker("--table", str(table))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"MISSING  {frozen_digests.BOX_MULLER} v1: registered, but no row" in proc.stdout


def test_the_wrong_machine_or_a_missing_table_is_an_environment_error(tmp_path):
    other = "x86_64" if platform.machine() != "x86_64" else "aarch64"
    proc = run_checker("--expect-machine", other)
    assert proc.returncode == 2 and f"expected {other}" in proc.stderr
    proc = run_checker("--table", str(tmp_path / "absent.py"))
    assert proc.returncode == 2 and "cannot load the table" in proc.stderr
