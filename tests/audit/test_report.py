"""``reprovar report`` and ``reprovar plot``: what the page says, that it is well formed and
self-contained, that it renders in a real browser, that images are images, and what happens
without the report extra.

The ledger holds variables of every distribution and dtype, one seed shared by two names,
one row whose digest was changed by raw SQL and one whose algorithm no reprovar knows.

The browser is Debian's chromium, headless, with networking off. ``.ci/run`` installs it
when missing and sets ``REPROVAR_REQUIRE_BROWSER=1``, which makes a missing browser a
failure; elsewhere that test skips, saying why.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import update

import reprovar
from reprovar.audit.plots import BAR_COLOR
from reprovar.audit.report import write_report
from reprovar.audit.samples import SAMPLE_LIMIT
from reprovar.cli import main
from reprovar.ledger.models import variables_table

DTYPES = ("float32", "float64", "float16", "bfloat16")
TAMPERED = "tampered/kernel"
UNKNOWN_ALGORITHM = "future/kernel"
SHARED_SEED = 4242
EMPTY = "empty/kernel"


@pytest.fixture
def sqlite_ledger(tmp_path):
    """A SQLite ledger, for what does not depend on the backend (drawing, sampling, files)."""
    return reprovar.Ledger(tmp_path / "sqlite.db")


def _make_variables(ledger):
    """Every (distribution, dtype), a shared seed, a large variable; returns the records."""
    made = []
    for i, dtype in enumerate(DTYPES):
        v = reprovar.random_normal_variable((40, 25), 0.5 * i, 1.0 + i, dtype=dtype, name=f"normal/{dtype}",
                                            seed=100 + i, ledger=ledger)
        made.append(v.record)
    for name in ("shared/a", "shared/b"):
        made.append(reprovar.random_normal_variable((64,), 0.0, 0.1, name=name, seed=SHARED_SEED, ledger=ledger).record)
    made.append(reprovar.random_normal_variable((1100, 1000), 0.0, 0.05, name="large/kernel", seed=7,
                                                ledger=ledger).record)
    made.append(reprovar.random_normal_variable((8, 8), 0.0, 1.0, name=TAMPERED, seed=8, ledger=ledger).record)
    made.append(reprovar.random_normal_variable((8, 8), 0.0, 1.0, name=UNKNOWN_ALGORITHM, seed=9, ledger=ledger).record)
    made.append(reprovar.random_normal_variable((), 2.0, 0.0, name="scalar <&> \"quoted\"", seed=10, ledger=ledger).record)
    made.append(reprovar.random_normal_variable((0, 3), 0.0, 1.0, name=EMPTY, seed=11, ledger=ledger).record)
    with ledger.engine.begin() as c:
        c.execute(update(variables_table).where(variables_table.c.name == TAMPERED)
                  .values(digest="xxh3-128-tree4m:" + "0" * 32))
        c.execute(update(variables_table).where(variables_table.c.name == UNKNOWN_ALGORITHM)
                  .values(algorithm="philox4x32-10/from-the-future"))
    return made


class StrictPage(HTMLParser):
    """Parses a page and fails on structure errors: unclosed or misnested tags, table rows
    of different widths, duplicate ids. Collects what the checks below look at."""

    VOID = {"meta", "img", "br", "hr", "input", "link", "col", "source", "wbr"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tables: list[dict] = []  # {"class": ..., "rows": [[cell texts]], "attrs": [row attrs]}
        self.images: list[str] = []
        self.doctype = None
        self.style = ""
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed at end: {self.stack}")

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if "id" in a:
            if a["id"] in self.ids:
                self.errors.append(f"duplicate id {a['id']!r}")
            self.ids.add(a["id"])
        for key in ("src", "href", "action", "srcset", "poster", "data", "background", "formaction"):
            if key in a:
                self.urls.append((tag, key, a[key]))
        if "style" in a:
            self.style += a["style"]
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "table":
            self.tables.append({"class": a.get("class", ""), "rows": [], "attrs": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
            self.tables[-1]["attrs"].append(a)
        elif tag in ("td", "th"):
            self._cell = []
            self._span = int(a.get("colspan", 1))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            self.errors.append(f"end tag for void element {tag}")
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th"):
            cells = self.tables[-1]["rows"][-1]
            cells.append(" ".join("".join(self._cell).split()))
            cells.extend([None] * (self._span - 1))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self.stack and self.stack[-1] == "style":
            self.style += data

    def table(self, cls: str) -> dict:
        (found,) = [t for t in self.tables if t["class"] == cls]
        return found


def _check_structure(page: StrictPage) -> None:
    assert page.errors == []
    assert page.doctype and page.doctype.lower() == "doctype html"
    for tag in ("html", "head", "body", "title"):
        assert page.counts.get(tag) == 1, tag
    for table in page.tables:
        widths = {len(r) for r in table["rows"]}
        assert len(widths) == 1, f"table {table['class']!r} has rows of widths {widths}"


def _check_self_contained(text: str, page: StrictPage) -> None:
    assert not re.search(r"https?:", text, flags=re.I)  # base64 has no ':', so none may hide there
    for tag, attribute, value in page.urls:
        assert value.startswith(("data:", "#")), (tag, attribute, value[:60])
    lowered = page.style.lower()
    assert "url(" not in lowered and "@import" not in lowered and "@font-face" not in lowered
    for tag in ("script", "link", "iframe", "object", "embed", "base", "frame"):
        assert tag not in page.counts, f"the page has a <{tag}>"


def _variables(page: StrictPage) -> dict[str, dict]:
    table = page.table("variables")
    header = table["rows"][0]
    out = {}
    for cells, attrs in zip(table["rows"][1:], table["attrs"][1:]):
        row = dict(zip(header, cells))
        row["attrs"] = attrs
        out[row["name"]] = row
    return out


def test_report_marks_tampering_and_shared_seeds(ledger, tmp_path):
    made = _make_variables(ledger)
    path = tmp_path / "report.html"
    summary = write_report(ledger, path)
    assert (summary.variables, summary.verified) == (len(made), len(made) - 2)
    assert summary.shared_seeds == 1 and not summary.ok
    assert sorted(p.split(":")[0] for p in summary.problems) == sorted(f"{n} v1" for n in (TAMPERED, UNKNOWN_ALGORITHM))

    text = path.read_text(encoding="utf-8")
    page = StrictPage(text)
    _check_structure(page)
    _check_self_contained(text, page)

    rows = _variables(page)
    assert set(rows) == {r.name for r in made}
    # A changed digest is a mismatch (or, where rows are sealed, a broken seal): ✗ either way.
    assert rows[TAMPERED]["verified"] in ("✗ digest mismatch", "✗ broken seal (row changed)")
    assert rows[TAMPERED]["attrs"]["data-status"] in ("mismatched", "broken_seal")
    assert rows[UNKNOWN_ALGORITHM]["verified"].startswith("✗")
    assert rows[UNKNOWN_ALGORITHM]["attrs"]["data-status"] not in ("verified", "unverified")
    for name, row in rows.items():
        if name not in (TAMPERED, UNKNOWN_ALGORITHM):
            assert row["verified"] == "✓ verified", name
    for name, other in (("shared/a", "shared/b"), ("shared/b", "shared/a")):
        assert rows[name]["attrs"]["data-shared-seed"] == str(SHARED_SEED)
        assert f"shared with {other}" in rows[name]["seed"]
    assert not any("shared with" in row["seed"] for n, row in rows.items() if not n.startswith("shared/"))
    shared = page.table("shared-seeds")["rows"][1:]
    assert [r[0] for r in shared] == [str(SHARED_SEED)]

    by_name = {r.name: r for r in made}
    for dtype in DTYPES:
        row = rows[f"normal/{dtype}"]
        r = by_name[f"normal/{dtype}"]
        assert (row["dtype"], row["shape"], row["seed"]) == (dtype, "40×25", str(r.seed))
        assert row["distribution"] == f"normal(mean={r.mean:g}, scale={r.scale:g})"
        assert row["digest"].startswith(r.digest.split(":")[1][:12])
    assert "scalar &lt;&amp;&gt; &#34;quoted&#34;" in text and "scalar <&>" not in text  # ledger text is escaped

    runs = page.table("runs")["rows"]
    assert len(runs) == 2 and runs[1][0] == str(made[0].run_id)

    # One histogram per variable that has values (not the empty one, nor the one whose
    # algorithm is unknown), as SVG.
    assert len(page.images) == len(made) - 2
    assert "no values (empty)" in text and "no values: UnknownAlgorithmError" in text
    assert all(src.startswith("data:image/svg+xml;base64,") for src in page.images)
    for src in page.images:
        root = ET.fromstring(base64.b64decode(src.split(",", 1)[1]))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_sections_show_sample_and_expected_moments(sqlite_ledger, tmp_path):
    ledger = sqlite_ledger
    v = reprovar.random_normal_variable((1100, 1000), 0.25, 0.5, name="large", seed=3, ledger=ledger)
    small = reprovar.random_normal_variable((300,), -1.0, 2.0, dtype="float64", name="small", seed=4, ledger=ledger)
    path = tmp_path / "r.html"
    write_report(ledger, path, verify=False)
    page = StrictPage(path.read_text(encoding="utf-8"))
    stats = [t for t in page.tables if t["class"] == "stats"]
    assert len(stats) == 2
    for table, variable, n in ((stats[0], v, SAMPLE_LIMIT), (stats[1], small, 300)):
        rows = {r[0]: r for r in table["rows"]}
        piece = variable.numpy().reshape(-1)[:n].astype(np.float64)
        assert float(rows["mean"][1]) == pytest.approx(piece.mean(), rel=1e-5)
        assert float(rows["std"][1]) == pytest.approx(piece.std(ddof=1), rel=1e-5)
        assert float(rows["mean"][2]) == variable.record.mean
        assert float(rows["std"][2]) == variable.record.scale
    assert stats[0]["rows"][-1][1] == f"{SAMPLE_LIMIT:,} of 1,100,000 (first elements)"
    assert stats[1]["rows"][-1][1] == "300"


def test_no_verify_and_filters_through_the_cli(ledger, ledger_url, tmp_path):
    made = _make_variables(ledger)
    runner = CliRunner()
    out = tmp_path / "nv.html"
    result = runner.invoke(main, ["report", "--ledger", ledger_url, "--no-verify", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(made)} not verified" in result.output
    rows = _variables(StrictPage(out.read_text(encoding="utf-8")))
    assert {r["verified"] for r in rows.values()} == {"– not verified (--no-verify)"}

    out = tmp_path / "normal.html"
    result = runner.invoke(main, ["report", "--ledger", ledger_url, "--name", "normal/*", "--dtype", "float16",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert list(_variables(StrictPage(out.read_text(encoding="utf-8")))) == ["normal/float16"]

    later = reprovar.random_normal_variable((3,), 0.0, 1.0, name="other run", seed=1, ledger=reprovar.Ledger(ledger_url))
    out = tmp_path / "run.html"
    # A new Ledger object in this process is the same run: compare with the run the records name.
    result = runner.invoke(main, ["report", "--ledger", ledger_url, "--run", str(later.record.run_id), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert set(_variables(StrictPage(out.read_text(encoding="utf-8")))) == (
        {r.name for r in made if r.run_id == later.record.run_id} | {"other run"})

    result = runner.invoke(main, ["report", "--ledger", ledger_url, "--run", "999", "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 1 and "no run with id 999" in result.output
    assert not (tmp_path / "x.html").exists()


def test_output_is_atomic_and_not_overwritten_without_force(sqlite_ledger, tmp_path, monkeypatch):
    ledger, ledger_url = sqlite_ledger, str(tmp_path / "sqlite.db")
    reprovar.random_normal_variable((5,), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "r.html"
    out.write_text("old")
    runner = CliRunner()
    result = runner.invoke(main, ["report", "--ledger", ledger_url, "-o", str(out)])
    assert result.exit_code == 1 and "already exists; use --force" in result.output
    assert out.read_text() == "old"

    from reprovar.audit import plots

    def broken(self, summary, law):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(plots.Thumbnails, "svg", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_report(ledger, out, force=True)
    assert out.read_text() == "old"  # the old file stands; no temporary file is left
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.html"]
    monkeypatch.undo()

    result = runner.invoke(main, ["report", "--ledger", ledger_url, "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _is_png(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        return image.size


def test_plot_writes_png_and_svg(sqlite_ledger, tmp_path):
    ledger, ledger_url = sqlite_ledger, str(tmp_path / "sqlite.db")
    made = _make_variables(ledger)
    runner = CliRunner()
    png = tmp_path / "large.png"
    result = runner.invoke(main, ["plot", "large/kernel", "--ledger", ledger_url, "-o", str(png)])
    assert result.exit_code == 0, result.output
    assert "1,000,000 of 1,100,000 values" in result.output
    width, height = _is_png(png.read_bytes())
    assert width > 600 and height > 250
    import matplotlib.image

    pixels = matplotlib.image.imread(str(png))
    assert pixels.std() > 0.05  # something is drawn

    for record in made:
        if record.name == UNKNOWN_ALGORITHM:
            continue
        svg = tmp_path / f"{record.id}.svg"
        result = runner.invoke(main, ["plot", "--id", str(record.id), "--ledger", ledger_url, "-o", str(svg)])
        assert result.exit_code == 0, (record.name, result.output)
        root = ET.parse(svg).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        text = svg.read_text(encoding="utf-8")
        if record.name.startswith("scalar"):
            assert "no Q-Q plot: a point mass" in text
        elif record.name == EMPTY:
            assert "no Q-Q plot: no values" in text
        else:
            assert "Q-Q plot" in text and "no Q-Q plot" not in text

    result = runner.invoke(main, ["plot", "large/kernel", "--ledger", ledger_url, "-o", str(png)])
    assert result.exit_code == 1 and "already exists; use --force" in result.output
    result = runner.invoke(main, ["plot", "large/kernel", "--ledger", ledger_url, "-o", str(tmp_path / "k.pdf")])
    assert result.exit_code == 1 and "plot writes .png or .svg files" in result.output
    result = runner.invoke(main, ["plot", "no/such", "--ledger", ledger_url, "-o", str(tmp_path / "n.png")])
    assert result.exit_code == 1 and "no variable named 'no/such'" in result.output
    result = runner.invoke(main, ["plot", "--ledger", ledger_url, "-o", str(tmp_path / "n.png")])
    assert result.exit_code == 1 and "give a variable NAME or --id ID" in result.output
    assert not (tmp_path / "k.pdf").exists() and not (tmp_path / "n.png").exists()


@pytest.mark.parametrize("missing", ["matplotlib", "jinja2"])
def test_without_the_extra_the_commands_name_it(missing, tmp_path, monkeypatch):
    for module in list(sys.modules):
        if module == missing or module.startswith(missing + "."):
            monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, missing, None)  # import fails as if not installed
    ledger = str(tmp_path / "l.db")
    reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    runner = CliRunner()
    result = runner.invoke(main, ["report", "--ledger", ledger, "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert "pip install 'reprovar[report]'" in result.output, result.output
    assert not (tmp_path / "r.html").exists()
    result = runner.invoke(main, ["plot", "w", "--ledger", ledger, "-o", str(tmp_path / "w.png")])
    if missing == "matplotlib":
        assert result.exit_code == 1 and "pip install 'reprovar[report]'" in result.output
    else:  # plot needs matplotlib only
        assert result.exit_code == 0, result.output


# --- in a real browser ------------------------------------------------------------------
REQUIRE_ENV = "REPROVAR_REQUIRE_BROWSER"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--window-size=1280,1600"]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    why = "chromium is not installed (apt-get install -y chromium; .ci/run installs it)"
    if os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        pytest.fail(why)
    pytest.skip(why)


def _run(browser: str, profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_renders_in_chromium(tmp_path):
    browser = _chromium()
    ledger = reprovar.Ledger(tmp_path / "l.db")
    for i, dtype in enumerate(("float32", "float64", "float16", "bfloat16")):
        reprovar.random_normal_variable((50, 20), 0.0, 1.0 + i, dtype=dtype, name=f"layer{i}/kernel", seed=i,
                                        ledger=ledger)
    reprovar.random_normal_variable((16,), 0.0, 1.0, name="tampered", seed=99, ledger=ledger)
    with ledger.engine.begin() as c:
        c.execute(update(variables_table).where(variables_table.c.name == "tampered")
                  .values(digest="xxh3-128-tree4m:" + "f" * 32))
    page = tmp_path / "report.html"
    write_report(ledger, page)
    url = page.resolve().as_uri()

    dom = _run(browser, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = StrictPage(dom.stdout)
    table = parsed.table("variables")
    names = [row[1] for row in table["rows"][1:]]
    assert names == ["layer0/kernel", "layer1/kernel", "layer2/kernel", "layer3/kernel", "tampered"]
    assert table["rows"][-1][-1] in ("✗ digest mismatch", "✗ broken seal (row changed)")
    assert len(parsed.images) == 5

    shot = tmp_path / "shot.png"
    result = _run(browser, tmp_path / "profile-shot", f"--screenshot={shot}", url)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (1600, 1280)
    assert pixels.std() > 10  # not a blank page
    assert (pixels.min(axis=2) < 128).mean() > 0.005  # dark pixels: text
    bar = np.array([int(BAR_COLOR[i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels - bar).max(axis=2) <= 6).sum() > 2000  # the histograms were drawn
