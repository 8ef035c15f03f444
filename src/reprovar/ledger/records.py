"""Plain, immutable views of ledger rows, as returned by :class:`reprovar.Ledger`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from .redaction import redact_argv


@dataclass(frozen=True)
class VariableRecord:
    """Everything the ledger knows about one created variable.

    Like numpy's bit generator state, it names its algorithm, so :func:`reprovar.replay`
    can find the exact code that made the values.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "doc.db"))
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=3, ledger=led)
        >>> r = v.record
        >>> (r.name, r.version, r.shape, r.dtype, r.seed)
        ('w', 1, (2,), 'float32', 3)
    """

    id: int
    name: str
    version: int
    shape: tuple[int, ...]
    dtype: str
    distribution: str
    mean: float | None
    scale: float | None
    seed: int
    algorithm: str
    algorithm_version: int
    digest: str
    nbytes: int
    created: datetime
    run_id: int
    seed_source: str | None = None  # "user", "os" (seed=None), None: not recorded (old rows)
    low: float | None = None  # uniform and truncated normal bounds; None: none, or infinite
    high: float | None = None

    @property
    def params(self) -> dict[str, float]:
        """The distribution's own parameters by name, as its algorithm takes them (an
        infinite bound, stored as NULL, is ``inf``); see :data:`reprovar.variable.DISTRIBUTION_PARAMETERS`."""
        from ..variable import distribution_params

        return distribution_params(self.distribution, self)

    @classmethod
    def _from_values(cls, values: dict[str, Any]) -> VariableRecord:
        # The recording hot path: a frozen dataclass' __init__ sets each of its fields
        # through object.__setattr__ (~6 us); the instance is as immutable either way.
        record = object.__new__(cls)
        record.__dict__.update(values)
        return record

    @classmethod
    def from_row(cls, row: Any) -> VariableRecord:
        """Build from a result row (or mapping) of the ``variables`` table."""
        m = row._mapping if hasattr(row, "_mapping") else row
        values = {f.name: m[f.name] for f in fields(cls)}
        values["shape"] = tuple(json.loads(values["shape"]))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: shape as a list, ``created`` as ISO 8601 with its UTC offset."""
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["created"] = self.created.isoformat()
        return d


@dataclass(frozen=True)
class RunRecord:
    """A process that recorded variables.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "doc.db"))
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, seed=3, ledger=led)
        >>> led.run(v.record.run_id).pid == os.getpid()
        True
    """

    id: int
    started: datetime
    host: str
    user: str
    pid: int
    argv: tuple[str, ...]
    cwd: str
    git_commit: str | None
    python_version: str
    reprovar_version: str
    numpy_version: str
    numba_version: str
    platform: str | None

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        """Build from a result row (or mapping) of the ``runs`` table."""
        m = row._mapping if hasattr(row, "_mapping") else row
        values = {f.name: m[f.name] for f in fields(cls)}
        # Rows recorded before command lines were redacted are redacted as they are read.
        values["argv"] = tuple(redact_argv(json.loads(values["argv"])))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: argv as a list, ``started`` as ISO 8601 with its UTC offset."""
        d = asdict(self)
        d["argv"] = list(self.argv)
        d["started"] = self.started.isoformat()
        return d
