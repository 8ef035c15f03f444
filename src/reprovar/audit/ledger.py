"""The public :class:`reprovar.Ledger`: the ledger layer's :class:`~reprovar.ledger.Ledger`
with the audit API as methods.

Each method imports its audit module when first called, so opening a ledger and recording
variables never loads the query, verification or export code.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Callable, Iterator, TextIO

from ..ledger import ledger as _ledger

if TYPE_CHECKING:
    from ..ledger.records import MalformedRow, VariableRecord
    from .query import Records, RunRecords, VariableFilter
    from .readonly import SQLResult
    from .report import ReportSummary
    from .seeds import SeedAudit
    from .verify import ProgressCallback, VerifySummary


class Ledger(_ledger.Ledger):
    """A reproducibility ledger with queries, verification, export and read-only SQL.

    Opening, recording and reading single rows (``get``, ``latest``, ``run``, ``replay``)
    are those of :class:`reprovar.ledger.Ledger`; see it for the arguments.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "audited.db"))
        >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=3, ledger=led)
        >>> [(r.name, r.seed) for r in led.find(seed=3)], led.verify().ok
        ([('w', 3)], True)
    """

    def find(
        self,
        name: str | None = None,
        *,
        run: int | None = None,
        seed: int | None = None,
        dtype: str | None = None,
        algorithm: str | None = None,
        since: str | dt.date | dt.datetime | None = None,
        until: str | dt.date | dt.datetime | None = None,
        shape: str | int | tuple[int, ...] | None = None,
        distribution: str | None = None,
        limit: int | None = None,
    ) -> Records:
        """Recorded variables (every version) that match all the given filters, oldest first.

        Args:
            name: an exact name, or a glob pattern with ``*`` and ``?`` (case-sensitive).
            run: a run id (unknown ids raise :class:`~reprovar.errors.UnknownRunError`).
            seed: a seed in [0, 2**64).
            dtype: ``"float32"``, ``"float64"``, ``"float16"`` or ``"bfloat16"``.
            algorithm: the sampler algorithm's name.
            since, until: ISO 8601 strings, dates or datetimes; ``since`` inclusive,
                ``until`` exclusive (a bare date includes that day); naive times are UTC.
            shape: a tuple or text such as ``"2x3"``.
            distribution: a name in :data:`reprovar.distributions.REGISTRY`, such as ``"uniform"`` (what
                :func:`reprovar.variance_scaling_variable` resolved to is recorded).
            limit: at most this many records.

        The result is a list with ``.to_dataframe()`` (needs pandas) and ``.to_dicts()``.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "f.db"))
            >>> for n in ("dense/w", "dense/b", "out/w"):
            ...     _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name=n, seed=1, ledger=led)
            >>> [r.name for r in led.find("dense/*")]
            ['dense/w', 'dense/b']
            >>> _ = reprovar.random_uniform_variable((2,), -1.0, 1.0, name="u", seed=1, ledger=led)
            >>> [r.name for r in led.find(distribution="uniform")]
            ['u']
        """
        from .query import VariableFilter, find

        flt = VariableFilter.create(name=name, run=run, seed=seed, dtype=dtype, algorithm=algorithm,
                                    since=since, until=until, shape=shape, distribution=distribution)
        return find(self, flt, limit=limit)

    def query(self, flt: VariableFilter | None = None) -> Iterator[VariableRecord]:
        """Stream the records a :class:`~reprovar.audit.VariableFilter` selects (bounded memory).

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "q.db"))
            >>> list(led.query())
            []
        """
        from .query import iter_variables

        return iter_variables(self, flt)

    def count(self, flt: VariableFilter | None = None) -> int:
        """How many variables ``flt`` selects (all when None).

        Example:
            >>> import reprovar, tempfile, os
            >>> reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "n.db")).count()
            0
        """
        from .query import count

        return count(self, flt)

    def history(self, name: str) -> Records:
        """Every version of ``name``, oldest first (see :func:`reprovar.audit.changes`).

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "h.db"))
            >>> for s in (1, 2):
            ...     _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=s, ledger=led)
            >>> [(r.version, r.seed) for r in led.history("w")]
            [(1, 1), (2, 2)]
        """
        from .query import history

        return history(self, name)

    def runs(self, *, since=None, until=None) -> RunRecords:
        """Every run (process that recorded variables), oldest first, optionally only those
        started in [since, until); a list with ``.to_dataframe()``.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "r.db"))
            >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, seed=1, ledger=led)
            >>> [r.pid for r in led.runs()] == [os.getpid()]
            True
        """
        from .query import runs

        return runs(self, since=since, until=until)

    def audit_seeds(self) -> SeedAudit:
        """Seeds shared by different names, and variables whose seed the OS drew.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "a.db"))
            >>> led.audit_seeds().clean
            True
        """
        from .seeds import audit_seeds

        return audit_seeds(self)

    def verify(
        self,
        names: list[str] | None = None,
        *,
        run: int | None = None,
        progress: ProgressCallback | None = None,
        keep_verified: bool = True,
        client=None,
    ) -> VerifySummary:
        """Make variables again and check their digests: every version of ``names``, the
        variables of ``run``, or (neither given) the whole ledger.

        With ``client`` (a ``distributed.Client``) the digests are computed on its workers,
        each 4 MiB leaf generated and hashed where it is made; nothing is gathered here.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "v.db"))
            >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
            >>> led.verify().line()
            '1 verified, 0 mismatched, 0 failed'
        """
        from .verify import verify_selection

        return verify_selection(self, names, run=run, progress=progress, keep_verified=keep_verified,
                                client=client)

    def export(
        self,
        target: str | os.PathLike | TextIO,
        *,
        format: str = "json",
        filter: VariableFilter | None = None,
        force: bool = False,
        on_malformed: Callable[[MalformedRow], None] | None = None,
    ) -> int:
        """Write the ledger (or what ``filter`` selects) as JSON or CSV; return the row count.

        Malformed rows raise, or are handed to ``on_malformed`` and left out (see
        :func:`reprovar.audit.export`).

        Example:
            >>> import reprovar, tempfile, os, io
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "x.db"))
            >>> led.export(io.StringIO(), format="csv")
            0
        """
        from .exporting import export

        return export(self, target, format=format, filter=filter, force=force,
                      on_malformed=on_malformed)

    def report(
        self,
        path: str | os.PathLike,
        *,
        filter: VariableFilter | None = None,
        verify: bool = True,
        force: bool = False,
    ) -> ReportSummary:
        """Write the self-contained HTML report on the variables ``filter`` selects (default:
        all); needs ``pip install 'reprovar[report]'``. See :mod:`reprovar.audit.report`.

        Example:
            >>> import reprovar, tempfile, os
            >>> d = tempfile.mkdtemp()
            >>> led = reprovar.Ledger(os.path.join(d, "r.db"))
            >>> _ = reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=1, ledger=led)
            >>> led.report(os.path.join(d, "r.html")).line()
            '1 variables: 1 verified, 0 mismatched, 0 failed; 0 shared seeds'
        """
        from .report import write_report

        return write_report(self, path, filter=filter, verify=verify, force=force)

    def sql(self, statement: str, *, timeout: float = 60.0, allow_privileged: bool = False) -> SQLResult:
        """Run one read-only query on this ledger, stopped after ``timeout`` seconds.

        The statement is checked first (one query over the ledger's tables, allowed functions
        only), then run on a connection that cannot write (see
        :mod:`reprovar.audit.readonly`); a refusal is
        :class:`~reprovar.audit.ReadOnlyViolationError`. A superuser or FILE-privileged
        account is refused unless ``allow_privileged`` (:class:`~reprovar.audit.PrivilegedAccountError`).

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "s.db"))
            >>> led.sql("SELECT COUNT(*) AS n FROM reprovar_variables").rows
            [(0,)]
        """
        from .readonly import read_only_query

        return read_only_query(self.url, statement, timeout=timeout, allow_privileged=allow_privileged)
