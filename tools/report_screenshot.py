"""Make ``docs/report.png``, the README's picture of a report.

Run by hand (needs ``reprovar[report]``, Pillow and Debian's ``chromium``):
``python tools/report_screenshot.py [docs/report.png]``. It records a small model's
variables in a temporary ledger (one seed shared by two layers, one digest changed by SQL
as if the row had been tampered with), writes the report, screenshots its top in headless
chromium and stores it as a palette PNG (kept under 200 kB).
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import update

import reprovar
from reprovar.audit.report import write_report
from reprovar.ledger.models import variables_table

WIDTH, HEIGHT = 1200, 1400


def make_ledger(path: Path) -> reprovar.Ledger:
    led = reprovar.Ledger(path)
    layers = [("conv_1", (3, 3, 3, 32), "float32"), ("conv_2", (3, 3, 32, 64), "float32"),
              ("dense_1", (1600, 256), "bfloat16"), ("logits", (256, 10), "float64")]
    for i, (name, shape, dtype) in enumerate(layers):
        fan_in = math.prod(shape[:-1])
        seed = 2024 if name in ("conv_2", "dense_1") else 11 + i  # a seed copied between layers
        reprovar.random_normal_variable(shape, 0.0, math.sqrt(2.0 / fan_in), dtype=dtype,
                                        name=f"{name}/kernel", seed=seed, ledger=led)
        reprovar.random_normal_variable(shape[-1:], 0.0, 0.01, dtype=dtype, name=f"{name}/bias", ledger=led)
    reprovar.random_normal_variable((1000, 32), 0.0, 0.05, dtype="float16", name="embedding", seed=7, ledger=led)
    with led.engine.begin() as c:
        c.execute(update(variables_table).where(variables_table.c.name == "logits/kernel")
                  .values(digest="xxh3-128-tree4m:" + "5eed" * 8))
    return led


def main(out: str = "docs/report.png") -> None:
    from PIL import Image

    with tempfile.TemporaryDirectory() as d:
        page = Path(d) / "report.html"
        write_report(make_ledger(Path(d) / "ledger.db"), page)
        shot = Path(d) / "shot.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={d}/profile",
                        f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
        with Image.open(shot) as image:
            small = image.convert("RGB").resize((WIDTH * 3 // 4, HEIGHT * 3 // 4), Image.LANCZOS)
            small.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"wrote {out} ({Path(out).stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main(*sys.argv[1:])
