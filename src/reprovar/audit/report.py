"""The audit report: one self-contained HTML file about the variables a filter selects.

It holds the runs that made them (host, user, command, working directory, git commit,
versions, times), a table of the variables (name, version, shape, dtype, distribution with
its parameters, seed and its source, digest, and ✓/✗ from verifying each against its
digest), the seeds shared between different names (as ``audit seeds`` reports them), and
for each variable a histogram of its values under the recorded distribution's density, with
the sample's mean and standard deviation beside the expected ones. Variables larger than
10^6 elements are summarized from their first 10^6 (:mod:`.samples`).

The page is one file: CSS inline, histograms as ``data:`` images, no script, no font or
anything else fetched from anywhere. It is written atomically, as exports are.

HTML comes from a Jinja2 template with autoescaping on: every value from the ledger (names
can hold ``<``, quotes, newlines) is escaped by default rather than by remembering to.

Example:
    >>> import reprovar, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> led = reprovar.Ledger(os.path.join(d, "r.db"))
    >>> _ = reprovar.random_normal_variable((10, 10), 0.0, 1.0, name="w", seed=1, ledger=led)
    >>> write_report(led, os.path.join(d, "r.html")).line()
    '1 variables: 1 verified, 0 mismatched, 0 failed; 0 shared seeds'
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from ..display import visible
from .densities import Law
from .errors import MissingExtraError
from .plots import EXTRA_HINT, Thumbnails, record_law, require_matplotlib
from .query import VariableFilter, iter_rows, runs
from .samples import SAMPLE_LIMIT, sample_piece, summarize
from .seeds import audit_seeds
from .verify import ledger_checks, verify_records

if TYPE_CHECKING:
    from ..ledger import Ledger
    from ..ledger.records import MalformedRow, VariableRecord

#: How each verification status is shown: (mark, CSS class, words). A status not listed
#: here (a newer verifier's) is shown as a failure under its own name.
MARKS = {
    "verified": ("✓", "ok", "verified"),
    "mismatched": ("✗", "bad", "digest mismatch"),
    "failed": ("✗", "bad", "could not be made again"),
    "broken_seal": ("✗", "bad", "broken seal"),
    "broken_chain": ("✗", "bad", "broken chain"),
    "unchecked": ("?", "warn", "values verify; keyed seal not checked"),
    None: ("–", "skip", "not verified (--no-verify)"),
}
#: Statuses the header always counts, even at zero.
ALWAYS_COUNTED = ("verified", "mismatched", "failed")


def mark(status: str | None) -> tuple[str, str, str]:
    """(mark, CSS class, words) for a verification status.

    Example:
        >>> mark("verified"), mark("lost")
        (('✓', 'ok', 'verified'), ('✗', 'bad', 'lost'))
    """
    return MARKS.get(status) or ("✗", "bad", str(status).replace("_", " "))


@dataclass
class ReportSummary:
    """What a report holds: how many variables had each verification status, shared seeds,
    the time taken.

    Example:
        >>> s = ReportSummary(path="r.html")
        >>> s.count("verified"); s.count("verified"); s.count("mismatched")
        >>> s.line(), s.ok
        ('3 variables: 2 verified, 1 mismatched, 0 failed; 0 shared seeds', False)
    """

    path: str
    statuses: dict[str, int] = field(default_factory=dict)  # status -> count; None: not verified
    shared_seeds: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def count(self, status: str | None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def variables(self) -> int:
        return sum(self.statuses.values())

    @property
    def verified(self) -> int:
        return self.statuses.get("verified", 0)

    @property
    def unverified(self) -> int:
        """Variables not checked (``verify=False``)."""
        return self.statuses.get(None, 0)

    @property
    def ok(self) -> bool:
        """Every checked variable verified (unverified ones are not problems)."""
        return self.verified + self.unverified == self.variables

    def counts(self) -> list[tuple[str, int]]:
        """(status, count) of the checks, in a fixed order; zero counts only where always shown."""
        shown = [s for s in ALWAYS_COUNTED]
        shown += sorted(s for s in self.statuses if s is not None and s not in ALWAYS_COUNTED)
        return [(s, self.statuses.get(s, 0)) for s in shown]

    def line(self) -> str:
        """One line for the CLI."""
        counts = self.counts()
        if self.unverified:  # then only what is wrong without checking (malformed rows)
            counts = [("not_verified", self.unverified)] + [(s, n) for s, n in counts if n and s != "verified"]
        checked = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts)
        return f"{self.variables} variables: {checked}; {self.shared_seeds} shared seeds"


def require_report_extra() -> None:
    """Raise :class:`MissingExtraError` naming ``reprovar[report]`` unless its packages import.

    Example:
        >>> require_report_extra()
    """
    require_matplotlib("reprovar report")
    try:
        import jinja2  # noqa: F401
    except ImportError as e:
        raise MissingExtraError(f"reprovar report needs Jinja2, which is not installed: {EXTRA_HINT}") from e


def write_report(
    ledger: Ledger,
    path: str | os.PathLike,
    *,
    filter: VariableFilter | None = None,
    verify: bool = True,
    force: bool = False,
    sample_limit: int = SAMPLE_LIMIT,
) -> ReportSummary:
    """Write the HTML report on the variables ``filter`` selects (default: all) to ``path``.

    Args:
        ledger: the ledger to report on.
        path: the ``.html`` file, written atomically; an existing one is refused unless
            ``force``.
        filter: which variables (a :class:`~reprovar.audit.VariableFilter`).
        verify: make each variable again and check its digest (the ✓/✗ column).
        sample_limit: variables are summarized from their first this many elements.

    Example:
        >>> import reprovar, tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> led = reprovar.Ledger(os.path.join(d, "r.db"))
        >>> _ = reprovar.random_normal_variable((4,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> s = write_report(led, os.path.join(d, "r.html"), verify=False)
        >>> s.unverified, "<table" in open(os.path.join(d, "r.html"), encoding="utf-8").read()
        (1, True)
    """
    from ..atomic_file import write_atomically

    require_report_extra()
    start = time.perf_counter()
    flt = filter or VariableFilter()
    summary = ReportSummary(path=os.fspath(path))

    def write(f) -> None:
        for chunk in render_report(ledger, flt, summary, verify=verify, sample_limit=sample_limit):
            f.write(chunk)

    write_atomically(path, write, force=force, text=True)
    summary.seconds = time.perf_counter() - start
    return summary


def render_report(
    ledger: Ledger,
    flt: VariableFilter,
    summary: ReportSummary,
    *,
    verify: bool = True,
    sample_limit: int = SAMPLE_LIMIT,
) -> Iterator[str]:
    """The report's HTML in pieces; ``summary`` is filled in as the table is built.

    Everything but the per-variable sections is computed first (the header counts what
    verified); the sections, with their histograms, are drawn while the page streams out,
    so memory holds one histogram at a time.
    """
    import jinja2
    import markupsafe

    from ..ledger.records import MalformedRow

    items = list(iter_rows(ledger, flt))  # records, and rows that cannot be read as one
    records = [r for r in items if not isinstance(r, MalformedRow)]
    checks = _verify(ledger, items) if verify else [(None, "")] * len(items)
    shared = _shared_seeds(ledger, {r.id for r in records})
    rows = [_row(item, status, detail, shared) if not isinstance(item, MalformedRow)
            else _malformed_row(item, status, detail) for item, (status, detail) in zip(items, checks)]
    for row in rows:
        summary.count(row["status"])
        if row["status"] not in (None, "verified"):
            summary.problems.append(f"{row['name']} v{row['version']}: {row['detail'] or row['status_words']}")
    summary.shared_seeds = len(shared)
    created: dict[int, list[dt.datetime]] = {}
    for r in records:
        created.setdefault(r.run_id, []).append(r.created)
    selected_runs = [_run_row(run, created[run.id]) for run in runs(ledger) if run.id in created]

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reprovar.audit", "templates"),
        autoescape=True,
        # Every value the page prints: what a browser would hide or reorder (bidi controls,
        # zero-width characters, control characters) shown as its escape, as the CLI does.
        finalize=lambda value: _visible(value, markupsafe.Markup),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    from .. import __version__

    context = {
        "title": "reprovar report",
        "ledger": ledger.location,
        "generated": _time(dt.datetime.now(dt.timezone.utc)),
        "reprovar_version": __version__,
        "filter": _filter_text(flt),
        "summary": summary,
        "status_boxes": [_status_box(status, n) for status, n in summary.counts()],
        "verified_checked": verify,
        "runs": selected_runs,
        "rows": rows,
        "shared": [_shared_row(s, records) for s in shared.values()],
        "sections": _sections(items, rows, sample_limit),
        "sample_limit": sample_limit,
    }
    yield from template.generate(**context)


def _visible(value: Any, markup: type) -> Any:
    # Markup is the page's own (already escaped) text; everything else is ledger text.
    if isinstance(value, str) and not isinstance(value, markup):
        return visible(value)
    return value


def _row(record: VariableRecord, status: str | None, detail: str, shared: dict[int, Any]) -> dict[str, Any]:
    law = record_law(record)
    symbol, css, words = mark(status)
    group = shared.get(record.seed)
    others = [n for n in group.names if n != record.name] if group is not None else []
    return {
        "id": record.id,
        "anchor": f"v{record.id}",
        "name": record.name,
        "version": record.version,
        "shape": "×".join(map(str, record.shape)) if record.shape else "scalar",
        "size": math.prod(record.shape),
        "dtype": record.dtype,
        "distribution": law.describe() if law is not None else record.distribution,
        "seed": record.seed,
        "seed_source": record.seed_source or "unknown",
        "shared_with": others,
        "digest": record.digest,
        "short_digest": _short_digest(record.digest),
        "created": _time(record.created),
        "run_id": record.run_id,
        "algorithm": f"{record.algorithm} v{record.algorithm_version}",
        "status": status,
        "mark": symbol,
        "mark_class": css,
        "status_words": words,
        "detail": detail,
    }


def _status_box(status: str, n: int) -> dict[str, Any]:
    symbol, css, words = mark(status)
    return {"status": status, "count": n, "mark": symbol, "words": words,
            "css": css if n and status != "verified" else "ok"}


def _malformed_row(row: MalformedRow, status: str | None, detail: str) -> dict[str, Any]:
    """A row that cannot be read as a record: what is known of it, and why."""
    symbol, css, words = mark(status or "failed")
    unknown = "–"
    return {
        "id": row.id, "anchor": f"v{row.id}", "name": str(row.name), "version": row.version,
        "shape": unknown, "size": 0, "dtype": unknown, "distribution": unknown, "seed": unknown,
        "seed_source": unknown, "shared_with": [], "digest": str(row.digest or unknown),
        "short_digest": _short_digest(str(row.digest or unknown)), "created": unknown, "run_id": unknown,
        "algorithm": unknown, "status": status or "failed", "mark": symbol, "mark_class": css,
        "status_words": "malformed row", "detail": detail or f"malformed row: {row.reason}",
        "malformed": row.reason,
    }


def _verify(ledger: Ledger, items: list) -> list[tuple[str, str]]:
    """(status, detail) of each row, checked as ``reprovar verify`` checks it: seal with the
    ledger's key, chain to the version before, values made again against the digest."""
    summary = verify_records(items, keep_verified=True, **ledger_checks(ledger))
    return [(o.status, o.detail) for o in summary.outcomes]


def _sections(items, rows, sample_limit: int) -> Iterator[dict[str, Any]]:
    thumbnails = Thumbnails()
    for item, row in zip(items, rows):
        if "malformed" in row:
            yield {**row, "image": None, "stats": None, "why": f"malformed row: {row['malformed']}"}
        else:
            yield _section(item, row, thumbnails, sample_limit)


def _section(record: VariableRecord, row: dict[str, Any], thumbnails: Thumbnails, sample_limit: int) -> dict[str, Any]:
    law = record_law(record)
    try:
        values = sample_piece(record, sample_limit)
    except Exception as e:  # e.g. an unknown algorithm: the table already says it failed
        return {**row, "image": None, "stats": None, "why": f"no values: {type(e).__name__}: {e}"}
    stats = summarize(values, total=row["size"], law=law)
    image = thumbnails.data_uri(stats, law) if stats.n else None
    return {**row, "image": image, "stats": _stats(stats, law), "why": "" if stats.n else "no values (empty)"}


def _stats(stats, law: Law | None) -> dict[str, Any]:
    return {
        "n": f"{stats.n:,}",
        "total": f"{stats.total:,}",
        "partial": stats.partial,
        "mean": _num(stats.mean),
        "std": _num(stats.std),
        "expected_mean": _num(law.mean) if law is not None else "–",
        "expected_std": _num(law.std) if law is not None else "–",
        "min": _num(stats.min),
        "max": _num(stats.max),
        "nonfinite": stats.nonfinite,
        "density": law is not None and not law.point_mass,
        "note": "" if law is not None else "no density known for this distribution",
    }


def _shared_seeds(ledger: Ledger, selected_ids: set[int]) -> dict[int, Any]:
    """The shared seeds (``audit seeds``) that involve a selected variable, by seed."""
    return {s.seed: s for s in audit_seeds(ledger).shared
            if any(r.id in selected_ids for r in s.records)}


def _shared_row(shared, records) -> dict[str, Any]:
    selected = {r.id for r in records}
    return {
        "seed": shared.seed,
        "names": shared.names,
        "variables": [{"name": r.name, "version": r.version, "id": r.id,
                       "anchor": f"v{r.id}" if r.id in selected else None} for r in shared.records],
    }


def _run_row(run, created: list[dt.datetime]) -> dict[str, Any]:
    return {
        "id": run.id,
        "started": _time(run.started),
        "last": _time(max(created)),
        "variables": len(created),
        "host": run.host,
        "user": run.user,
        "pid": run.pid,
        "command": shlex.join(run.argv),
        "cwd": run.cwd,
        "git_commit": run.git_commit or "–",
        "versions": (f"Python {run.python_version} · reprovar {run.reprovar_version} · "
                     f"numpy {run.numpy_version} · numba {run.numba_version}"),
        "platform": run.platform or "–",
    }


def _filter_text(flt: VariableFilter) -> str:
    parts = []
    for key, value in flt.__dict__.items():
        if value is None:
            continue
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif key == "shape":
            value = "x".join(map(str, value)) or "()"
        parts.append(f"--{key} {value}")
    return " ".join(parts) or "all variables"


def _time(when: dt.datetime) -> str:
    """``2026-11-30 09:07:05 UTC``: shorter than ISO 8601 in a table cell, as exact."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _short_digest(digest: str) -> str:
    scheme, _, hexdigest = digest.partition(":")
    return f"{hexdigest[:12]}…" if hexdigest else digest[:16]


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.6g}"
