"""Each adapter imports its framework only when it is itself imported."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_reprovar_alone_loads_no_framework():
    loaded = loaded_after(
        "import reprovar, reprovar.seeding, reprovar.adapter, reprovar.modelinit\n"
        "reprovar.random_normal_variable((2,), 0.0, 1.0, record=False)"
    )
    assert {"reprovar.adapter", "reprovar.modelinit"} <= loaded
    assert not {"torch", "keras"} & loaded


def test_torch_adapter_loads_no_keras():
    loaded = loaded_after("import reprovar.torch")
    assert "torch" in loaded and "keras" not in loaded
