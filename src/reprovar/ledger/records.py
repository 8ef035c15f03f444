"""Plain, immutable views of ledger rows, as returned by :class:`reprovar.Ledger`."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from ..errors import MalformedRecordError
from .models import PARAMETER_COLUMNS
from .redaction import redact_argv

_UINT64 = 1 << 64


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
    seal: str | None = None  # see reprovar.ledger.seal
    previous_seal: str | None = None  # the previous version's seal; None for version 1
    recipe: str | None = None  # JSON (reprovar.recipes): how the whole value is made; None: the draw alone

    @property
    def params(self) -> dict[str, float]:
        """The distribution's own parameters by name, as its algorithm takes them (an
        infinite bound, stored as NULL, is ``inf``); see :data:`reprovar.variable.DISTRIBUTION_PARAMETERS`."""
        from ..variable import distribution_params

        return distribution_params(self.distribution, self)

    @classmethod
    def _from_values(cls, values: dict[str, Any]) -> VariableRecord:
        # The recording hot path: a frozen dataclass' __init__ sets each of its fields
        # through its own object.__setattr__ call, where filling __dict__ is one update;
        # the instance is as immutable either way.
        record = object.__new__(cls)
        record.__dict__.update(values)
        return record

    @classmethod
    def from_row(cls, row: Any) -> VariableRecord:
        """Build from a result row (or mapping) of the ``variables`` table.

        Raises :class:`~reprovar.errors.MalformedRecordError` for a row whose values cannot
        be what reprovar wrote (edited behind its back), naming the row and the reason.

        Example:
            >>> VariableRecord.from_row(dict(id=3, name="w", version=1, shape="[2,", seed=1))
            Traceback (most recent call last):
            ...
            reprovar.errors.MalformedRecordError: row id 3 ('w' version 1) is malformed: shape '[2,' is not a list of sizes
        """
        m = row._mapping if hasattr(row, "_mapping") else row
        values = {f.name: m.get(f.name) for f in fields(cls)}
        problem = _problem(values)
        if problem:
            bad = MalformedRow(values.get("id"), values.get("name"), values.get("version"), problem,
                               values.get("digest"))
            raise MalformedRecordError(bad.message(), bad)
        values["shape"] = tuple(json.loads(values["shape"]))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: every field, shape as a list, ``created`` as ISO 8601 with its
        UTC offset, and ``params`` after ``distribution``: the distribution's own parameters
        (:func:`params_json`; an infinite bound is ``"inf"``/``"-inf"``, while the ``low`` and
        ``high`` fields stay as stored, ``None`` for an infinite bound).

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "td.db"))
            >>> v = reprovar.truncated_normal_variable((2,), 0.0, 1.0, seed=3, low=-2.0,
            ...                                        high=float("inf"), ledger=led)
            >>> d = v.record.to_dict()
            >>> d["params"], d["low"], d["high"]
            ({'mean': 0.0, 'scale': 1.0, 'low': -2.0, 'high': 'inf'}, -2.0, None)
        """
        d = {}
        for key, value in asdict(self).items():
            d[key] = value
            if key == "distribution":
                d["params"] = self._json_params()
        d["shape"] = list(self.shape)
        d["created"] = self.created.isoformat()
        return d

    def _json_params(self) -> dict[str, float | str | None] | None:
        try:
            return params_json(self.params)
        except ValueError:  # a distribution this version does not know: no parameters to name
            return None


def format_number(value: float | None) -> str:
    """A parameter as short, exact text: integral values without ``.0``, others as Python's
    shortest round-trip form, infinities as ``inf``/``-inf``; ``float(text)`` gives it back.

    Example:
        >>> format_number(0.0), format_number(-2.0), format_number(0.05), format_number(-math.inf)
        ('0', '-2', '0.05', '-inf')
    """
    if value is None:
        return "None"
    value = float(value)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def format_params(params: dict[str, float]) -> str:
    """A distribution's parameters as one readable line, ``key=value`` separated by spaces
    (as tables and CSV show them); each value reads back exactly with ``float()``.

    Example:
        >>> format_params({"mean": 0.0, "scale": 0.05})
        'mean=0 scale=0.05'
        >>> format_params({"mean": 0.0, "scale": 1.0, "low": -2.0, "high": math.inf})
        'mean=0 scale=1 low=-2 high=inf'
    """
    return " ".join(f"{key}={format_number(value)}" for key, value in params.items())


def params_json(params: dict[str, float]) -> dict[str, float | str | None]:
    """``params`` for JSON, which has no infinity: an infinite bound is the string ``"inf"``
    or ``"-inf"`` (``float()`` reads either back); finite values stay numbers.

    Example:
        >>> params_json({"mean": 0.0, "scale": 1.0, "low": -math.inf, "high": 2.0})
        {'mean': 0.0, 'scale': 1.0, 'low': '-inf', 'high': 2.0}
    """
    return {key: json_number(value) for key, value in params.items()}


def json_number(value: Any) -> Any:
    """``value``, or ``"inf"``/``"-inf"`` for an infinite float (JSON has no infinity).

    Example:
        >>> json_number(math.inf), json_number(1.5), json_number(None)
        ('inf', 1.5, None)
    """
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


@dataclass(frozen=True)
class MalformedRow:
    """A ``variables`` row that cannot be read as a :class:`VariableRecord`, and why.

    Example:
        >>> MalformedRow(4, "w", 2, "seed 'x' is not an integer").message()
        "row id 4 ('w' version 2) is malformed: seed 'x' is not an integer"
    """

    id: Any
    name: Any
    version: Any
    reason: str
    digest: Any = None
    nbytes: int = 0

    def message(self) -> str:
        return f"row id {self.id} ({self.name!r} version {self.version}) is malformed: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version, "malformed": self.reason}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(values: dict[str, Any]) -> str:
    """Why a row's values cannot make a record; empty when they can."""
    for key in ("id", "version", "nbytes", "run_id", "algorithm_version"):
        if key in values and values[key] is not None and not _is_int(values[key]):
            return f"{key} {values[key]!r} is not an integer"
    if not _is_int(values["seed"]) or not 0 <= values["seed"] < _UINT64:
        return f"seed {values['seed']!r} is not an integer in [0, 2**64)"
    shape = values["shape"]
    try:
        dims = json.loads(shape) if isinstance(shape, str) else None
    except ValueError:
        dims = None
    if not isinstance(dims, list) or not all(_is_int(d) and d >= 0 for d in dims):
        return f"shape {shape!r} is not a list of sizes"
    if "created" in values and not isinstance(values["created"], datetime):
        return f"created {values['created']!r} is not a time"
    for key in PARAMETER_COLUMNS:
        value = values.get(key)
        if value is not None and not isinstance(value, float) and not _is_int(value):
            return f"{key} {value!r} is not a number"
    for key in ("name", "dtype", "distribution", "algorithm", "digest"):
        if key in values and not isinstance(values[key], str):
            return f"{key} {values[key]!r} is not text"
    return ""


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
