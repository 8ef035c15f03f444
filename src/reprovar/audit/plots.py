"""Pictures of recorded variables: histograms with the recorded density, and Q-Q plots.

matplotlib (``pip install 'reprovar[report]'``) draws them without pyplot, so no global
figure state or GUI backend is involved: PNG through the Agg canvas, SVG through
matplotlib's SVG backend. Without matplotlib every entry point raises
:class:`~reprovar.errors.MissingExtraError` naming the extra.

Speed: creating a matplotlib figure costs far more than drawing one, so a report draws all
its histograms on **one** reused figure (:class:`Thumbnails`), only updating the data of
its artists, and saves each as a small SVG with text kept as text (a few ms each).
"""

from __future__ import annotations

import base64
import io
import os
from typing import IO, Any

import numpy as np

from ..display import visible
from .densities import Law, law_of
from .errors import AuditError, MissingExtraError, ReportError
from .samples import SampleSummary, density_curve, qq_points, sample_piece, summarize

#: Formats ``plot`` writes, by file suffix.
PLOT_FORMATS = ("png", "svg")
EXTRA_HINT = "pip install 'reprovar[report]'"
BAR_COLOR = "#9ecae1"
BAR_EDGE = "#3182bd"
CURVE_COLOR = "#d62728"
#: SVG settings: text stays text (small, crisp, no embedded glyphs), ids are reproducible.
SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "reprovar", "font.size": 8.0}
_NO_METADATA = {"Date": None, "Creator": None}


def require_matplotlib(what: str = "this command"):
    """The ``matplotlib`` module, or :class:`MissingExtraError` saying which extra to install.

    Example:
        >>> require_matplotlib().__name__
        'matplotlib'
    """
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401  (fails on a broken install too)
    except ImportError as e:
        raise MissingExtraError(
            f"{what} needs matplotlib, which is not installed: {EXTRA_HINT}"
        ) from e
    return matplotlib


def record_law(record: Any) -> Law | None:
    """The record's law, or None where this reprovar cannot tell it (an unknown distribution,
    parameters missing): the report then shows the values without a density."""
    try:
        return law_of(record)
    except (AuditError, TypeError, ValueError):  # unknown distribution, missing or odd parameters
        return None


class Thumbnails:
    """One small figure reused for every histogram of a report.

    Example:
        >>> from reprovar.audit.densities import make_law
        >>> law = make_law("normal", {"mean": 0.0, "scale": 1.0})
        >>> s = summarize(np.linspace(-2, 2, 101), law=law)
        >>> Thumbnails().svg(s, law).startswith(b"<?xml")
        True
    """

    def __init__(self, width: float = 3.4, height: float = 1.5):
        require_matplotlib("the report")
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(width, height), dpi=72)
        FigureCanvasSVG(self.figure)
        ax = self.figure.add_axes((0.03, 0.2, 0.94, 0.76))
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        # The x axis' own ticks cost half of each drawing (locator, formatter, layout of
        # every tick): ticks are placed once per histogram by a locator here and drawn as a
        # few reused text artists and one line of tick marks, in axes-x/data-y coordinates.
        ax.xaxis.set_visible(False)
        ax.yaxis.set_visible(False)
        self.bars = ax.stairs([0.0], [0.0, 1.0], fill=True, facecolor=BAR_COLOR, edgecolor=BAR_EDGE, linewidth=0.4)
        (self.curve,) = ax.plot([], [], color=CURVE_COLOR, linewidth=1.0)
        along_x = ax.get_xaxis_transform()  # x in data units, y in axes fractions
        (self.marks,) = ax.plot([], [], color="#333333", linewidth=0.6, transform=along_x, clip_on=False)
        self.labels = [ax.text(0.0, -0.05, "", transform=along_x, ha="center", va="top", fontsize=7,
                               visible=False) for _ in range(8)]
        self.axes = ax
        from matplotlib.ticker import MaxNLocator

        self._locator = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10])

    def svg(self, summary: SampleSummary, law: Law | None) -> bytes:
        """The histogram of ``summary`` with ``law``'s density over it, as SVG bytes."""
        import matplotlib

        heights = summary.densities()
        edges = summary.edges
        self.bars.set_data(heights, edges)
        top = float(heights.max()) if heights.size else 0.0
        if law is not None and not law.point_mass:
            x, y = density_curve(law, float(edges[0]), float(edges[-1]), points=81)
            top = max(top, float(y.max()) if y.size else 0.0)
        else:
            x, y = np.empty(0), np.empty(0)
        self.curve.set_data(x, y)
        lo, hi = float(edges[0]), float(edges[-1])
        self.axes.set_xlim(lo, hi)
        self.axes.set_ylim(0.0, (top or 1.0) * 1.08)
        ticks = [t for t in self._locator.tick_values(lo, hi) if lo <= t <= hi][: len(self.labels)]
        for i, label in enumerate(self.labels):
            if i < len(ticks):
                label.set_x(ticks[i])
                label.set_text(_tick(ticks[i], hi - lo))
            label.set_visible(i < len(ticks))
        self.marks.set_data(np.repeat(ticks, 3), np.tile([0.0, -0.035, np.nan], len(ticks)))
        out = io.BytesIO()
        with matplotlib.rc_context(SVG_RC):
            self.figure.savefig(out, format="svg", metadata=_NO_METADATA)
        return out.getvalue()

    def data_uri(self, summary: SampleSummary, law: Law | None) -> str:
        """:meth:`svg` as a ``data:`` URI an ``<img>`` can show (the page stays one file)."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg(summary, law)).decode("ascii")


def plot_format(path: str | os.PathLike) -> str:
    """``png`` or ``svg`` from the file's suffix; :class:`ReportError` for anything else.

    Example:
        >>> plot_format("w.SVG"), plot_format("out/w.png")
        ('svg', 'png')
    """
    suffix = os.fspath(path).rsplit(".", 1)[-1].lower() if "." in os.path.basename(os.fspath(path)) else ""
    if suffix not in PLOT_FORMATS:
        raise ReportError(f"plot writes .png or .svg files; got {os.fspath(path)!r}")
    return suffix


def draw_variable(record: Any, target: IO[bytes], format: str = "png", *, limit: int | None = None) -> SampleSummary:
    """Draw ``record``'s histogram with its recorded density and a Q-Q plot into ``target``.

    The values are the fixed piece of :func:`~reprovar.audit.samples.sample_piece`.

    Example:
        >>> import reprovar, tempfile, os, io
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "d.db"))
        >>> v = reprovar.random_normal_variable((100,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> buf = io.BytesIO()
        >>> draw_variable(v.record, buf, "png").n, buf.getvalue()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        (100, True)
    """
    require_matplotlib("reprovar plot")
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .samples import SAMPLE_LIMIT

    if format not in PLOT_FORMATS:
        raise ReportError(f"plot format must be one of {', '.join(PLOT_FORMATS)}; got {format!r}")
    law = record_law(record)
    values = sample_piece(record, SAMPLE_LIMIT if limit is None else limit)
    summary = summarize(values, total=int(np.prod(record.shape, dtype=np.int64)), law=law)

    figure = Figure(figsize=(9.0, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    hist_ax, qq_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": (1.4, 1.0)})
    hist_ax.stairs(summary.densities(), summary.edges, fill=True, facecolor=BAR_COLOR,
                   edgecolor=BAR_EDGE, linewidth=0.5, label="values")
    if law is not None and not law.point_mass:
        x, y = density_curve(law, float(summary.edges[0]), float(summary.edges[-1]))
        hist_ax.plot(x, y, color=CURVE_COLOR, linewidth=1.3, label=f"{law.distribution} density")
    hist_ax.set_xlim(summary.edges[0], summary.edges[-1])
    hist_ax.set_xlabel("value")
    hist_ax.set_ylabel("density")
    hist_ax.legend(loc="upper right", fontsize=8, frameon=False)
    # The name as the CLI prints it: a control character has no glyph, and a bidi control
    # would reorder the title.
    hist_ax.set_title(f"{visible(record.name)} v{record.version}: {record.dtype} {tuple(record.shape)}",
                      fontsize=10)
    hist_ax.text(0.01, 0.98, _moments_text(summary, law), transform=hist_ax.transAxes,
                 fontsize=7.5, va="top", ha="left", family="monospace")

    if law is not None and not law.point_mass and summary.n:
        theory, sample = qq_points(values, law)
        qq_ax.plot(theory, sample, ".", markersize=2.5, color=BAR_EDGE)
        finite = np.isfinite(theory)
        if finite.any():
            lo = float(min(theory[finite].min(), sample.min()))
            hi = float(max(theory[finite].max(), sample.max()))
            qq_ax.plot([lo, hi], [lo, hi], color=CURVE_COLOR, linewidth=1.0)
        qq_ax.set_xlabel(f"{law.describe()} quantiles", fontsize=8)
        qq_ax.set_ylabel("sample quantiles")
        qq_ax.set_title("Q-Q plot", fontsize=10)
    else:
        why = "no values" if not summary.n else ("a point mass" if law is not None else
                                                  f"no density for {record.distribution!r}")
        qq_ax.text(0.5, 0.5, f"no Q-Q plot: {why}", ha="center", va="center", transform=qq_ax.transAxes)
        qq_ax.set_axis_off()
    figure.tight_layout()
    rc = SVG_RC if format == "svg" else {}
    with matplotlib.rc_context(rc):
        figure.savefig(target, format=format, metadata=_NO_METADATA if format == "svg" else None)
    return summary


def plot_variable(record: Any, path: str | os.PathLike, *, force: bool = False, limit: int | None = None) -> SampleSummary:
    """Write :func:`draw_variable`'s figure to ``path`` (``.png`` or ``.svg``), atomically.

    An existing file is refused unless ``force``.

    Example:
        >>> import reprovar, tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> led = reprovar.Ledger(os.path.join(d, "pl.db"))
        >>> v = reprovar.random_normal_variable((50,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> _ = plot_variable(v.record, os.path.join(d, "w.svg"))
        >>> open(os.path.join(d, "w.svg"), "rb").read(5)
        b'<?xml'
    """
    from ..atomic_file import write_atomically

    fmt = plot_format(path)
    require_matplotlib("reprovar plot")
    summaries: list[SampleSummary] = []
    write_atomically(path, lambda f: summaries.append(draw_variable(record, f, fmt, limit=limit)), force=force)
    return summaries[0]


def _moments_text(summary: SampleSummary, law: Law | None) -> str:
    what = f"n = {summary.n:,}" + (f" of {summary.total:,}" if summary.partial else "")
    lines = [what, f"{'':5}{'sample':>11} {'expected':>11}"]
    lines.append(f"{'mean':5}{_num(summary.mean):>11} {_num(law.mean if law else None):>11}")
    lines.append(f"{'std':5}{_num(summary.std):>11} {_num(law.std if law else None):>11}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.5g}"


def _tick(value: float, span: float) -> str:
    # Locator ticks are round numbers; %g drops float noise such as 0.30000000000000004,
    # and a tick within rounding noise of 0 (relative to the axis' span) is 0.
    return "0" if abs(value) <= 1e-9 * span else f"{value:.6g}"
