"""Row seals: a digest over everything a variable row says, chained through the versions of a name.

A seal is SHA-256 (or, with a key, HMAC-SHA256) over the row's canonical text: name, version,
shape, dtype, distribution and every parameter column, seed and its source, algorithm and its
version, the value digest, nbytes, created, run id, and the previous version's seal. So:

* editing any sealed field of a row breaks that row's seal;
* every version (after the first) carries its predecessor's seal in ``previous_seal`` and
  inside its own seal: deleting or re-sealing a version breaks the link from the next one.

Without a key the seal protects against accidents and naive edits only: anyone who can write
the database can also recompute seals. With a key (``REPROVAR_LEDGER_KEY``, or a file named by
``REPROVAR_LEDGER_KEY_FILE``) a seal cannot be forged without the key.

The canonical form is frozen (``CANONICAL_PREFIX``): revision 0004's migration carries a copy
of it to seal existing rows, and a test checks both give the same seals.

Example:
    >>> import datetime as dt
    >>> row = dict(name="w", version=1, shape="[2]", dtype="float32", distribution="normal",
    ...            mean=0.0, scale=1.0, seed=1, seed_source="user",
    ...            algorithm="philox4x32-10/box-muller", algorithm_version=1, digest="x:00",
    ...            nbytes=8, created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), run_id=1)
    >>> s = compute_seal(row, None, None)
    >>> s.startswith("rs1:sha256:"), check_seal(row, None, s, None).status
    (True, 'ok')
    >>> check_seal(dict(row, shape="[1, 2]"), None, s, None).status
    'broken'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
from json.encoder import encode_basestring_ascii as _encode_ascii
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from .. import config
from ..config import MIN_KEY_BYTES
from ..errors import ArgumentTypeError, ArgumentValueError, LedgerError
from .models import PARAMETER_COLUMNS

#: Environment variable holding the seal key (text, at least :data:`MIN_KEY_BYTES` bytes).
KEY_ENV = config.LEDGER_KEY
#: Environment variable naming a file that holds the seal key (used when KEY_ENV is unset).
KEY_FILE_ENV = config.LEDGER_KEY_FILE

#: The first bytes of every canonical text: names the canonical form, so it can never be
#: mistaken for another one.
CANONICAL_PREFIX = b"reprovar-row-seal-1\n"
UNKEYED = "rs1:sha256:"
KEYED = "rs1:hmac-sha256:"
#: The second canonical form, for rows with a recipe (revision 0007): the first form's fields,
#: then a newline and the recipe as a JSON string. Rows without a recipe keep the first form,
#: so a seal made before recipes existed never changes meaning.
CANONICAL_PREFIX_2 = b"reprovar-row-seal-2\n"
UNKEYED_2 = "rs2:sha256:"
KEYED_2 = "rs2:hmac-sha256:"
_KEYED_SCHEMES = (KEYED, KEYED_2)
#: The whole form of a keyed variable seal: anything else under a keyed prefix is broken, not
#: merely unchecked without the key.
_KEYED_FORM = re.compile("(?:" + re.escape(KEYED) + "|" + re.escape(KEYED_2) + r")[0-9a-f]{16}:[0-9a-f]{64}")

#: The parameter columns the seal forms ``rs1`` and ``rs2`` cover, whatever the distribution
#: (NULL included): the first four of the table's, frozen with the forms. A parameter column
#: added after them needs a new seal form (see :mod:`reprovar.ledger.models`).
PARAM_COLUMNS = PARAMETER_COLUMNS[:4]
#: Every column a seal covers besides the parameters and the previous seal.
SEALED_COLUMNS = ("name", "version", "shape", "dtype", "distribution", "seed", "seed_source",
                  "algorithm", "algorithm_version", "digest", "nbytes", "created", "run_id")

_UINT64 = 1 << 64
_sha256 = hashlib.sha256


@dataclass(frozen=True)
class SealKey:
    """A secret that keys seals; ``id`` names it (a fingerprint that does not reveal it).

    Example:
        >>> k = SealKey.from_text("correct horse battery staple")
        >>> len(k.id), k.id == SealKey(b"correct horse battery staple").id
        (16, True)
    """

    secret: bytes

    def __post_init__(self):
        if not isinstance(self.secret, bytes):
            raise ArgumentTypeError(f"key must be bytes or str, got {type(self.secret).__name__}")
        if len(self.secret) < MIN_KEY_BYTES:
            raise ArgumentValueError(
                f"key must be at least {MIN_KEY_BYTES} bytes long, got {len(self.secret)}"
            )

    @classmethod
    def from_text(cls, text: str | bytes) -> SealKey:
        return cls(text.encode("utf-8") if isinstance(text, str) else text)

    @property
    def id(self) -> str:
        return hashlib.sha256(b"reprovar-key-id\n" + self.secret).hexdigest()[:16]

    def __repr__(self) -> str:  # never print the secret
        return f"SealKey(id={self.id!r})"


def key_from_environment() -> SealKey | None:
    """The key in ``$REPROVAR_LEDGER_KEY``, else in the file ``$REPROVAR_LEDGER_KEY_FILE`` names.

    A key file's content is the key, one trailing newline removed.

    Example:
        >>> import os
        >>> os.environ.pop("REPROVAR_LEDGER_KEY", None); os.environ.pop("REPROVAR_LEDGER_KEY_FILE", None)
        >>> key_from_environment() is None
        True
    """
    secret = config.ledger_key()
    if secret is not None:
        return SealKey(secret)
    path = config.ledger_key_file()
    if path is not None:
        return read_key_file(path, KEY_FILE_ENV)
    return None


def read_key_file(path: str | os.PathLike, what: str = "key file") -> SealKey:
    """The key held in the file at ``path`` (one trailing newline removed)."""
    try:
        with open(path, "rb") as f:
            secret = f.read()
    except OSError as e:
        raise LedgerError(f"cannot read the ledger key file {os.fspath(path)!r} ({what}): {e.strerror}") from e
    if secret.endswith(b"\r\n"):
        secret = secret[:-2]
    elif secret.endswith(b"\n"):
        secret = secret[:-1]
    try:
        return SealKey(secret)
    except ArgumentValueError as e:
        raise ArgumentValueError(f"{what} {os.fspath(path)!r}: {e}") from None


def resolve_key(key: SealKey | str | bytes | None) -> SealKey | None:
    """``key`` as a :class:`SealKey`; None means the environment's key (or none).

    Example:
        >>> resolve_key("0123456789abcdef").id == SealKey(b"0123456789abcdef").id
        True
    """
    if key is None:
        return key_from_environment()
    if isinstance(key, SealKey):
        return key
    if isinstance(key, (str, bytes)):
        return SealKey.from_text(key)
    raise ArgumentTypeError(f"key must be a str, bytes, SealKey or None, got {type(key).__name__}")


def canonical(row: Mapping[str, Any], previous_seal: str | None) -> bytes:
    """The canonical text of a variable row: :func:`canonical_fields`, and for a row with a
    recipe the second form, which adds the recipe (see :data:`CANONICAL_PREFIX_2`).

    Example:
        >>> import datetime as dt
        >>> row = dict(name="w", version=1, shape="[2]", dtype="float32", distribution="normal",
        ...            mean=0.0, scale=1.0, seed=1, seed_source="user",
        ...            algorithm="philox4x32-10/box-muller", algorithm_version=1, digest="x:00",
        ...            nbytes=8, created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), run_id=1)
        >>> canonical(row, None).startswith(CANONICAL_PREFIX)
        True
        >>> canonical(dict(row, recipe='{"v":1}'), None).startswith(CANONICAL_PREFIX_2)
        True
    """
    text = canonical_fields(row, previous_seal)
    recipe = row.get("recipe")
    if recipe is None:
        return text
    if type(recipe) is not str:
        raise TypeError("recipe is not text")
    return (CANONICAL_PREFIX_2 + text[len(CANONICAL_PREFIX):] + b"\n"
            + _encode_ascii(recipe).encode("ascii"))


def canonical_fields(row: Mapping[str, Any], previous_seal: str | None) -> bytes:
    """The first canonical form of a variable row: sorted-key JSON over the sealed values.

    Floats are written as ``float.hex`` (exact, and ``inf`` survives), times as UTC ISO 8601
    with microseconds, seeds as unsigned integers, shapes as JSON lists. The text is exactly
    ``json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` (as the
    migration that seals old rows writes it), put together by hand: this runs for every
    recorded variable, and ``json.dumps`` with sorted keys costs several times more.
    """
    try:
        return _canonical_fast(row, previous_seal)
    except (TypeError, ValueError, KeyError, AttributeError):
        pass  # values the writer never makes (edited rows): the general path below
    get = row.get
    params = ",".join([f'"{name}":{_json(_value(_param(get(name))))}' for name in _PARAMS_SORTED])
    special = {"shape": _shape(row["shape"]), "seed": _seed(row["seed"]),
               "previous_seal": previous_seal, "params": _Raw("{" + params + "}")}
    parts = []
    for name in _FIELDS_SORTED:
        value = special[name] if name in special else _value(row[name])
        parts.append(f'"{name}":{_json(value)}')
    return CANONICAL_PREFIX + ("{" + ",".join(parts) + "}").encode("ascii")


_SHAPE_TEXT = re.compile(r"\[\]|\[(?:0|[1-9][0-9]*)(?:, (?:0|[1-9][0-9]*))*\]")
_UTC = dt.timezone.utc


def _canonical_fast(row: Mapping[str, Any], previous_seal: str | None) -> bytes:
    """:func:`canonical` for the values a writer records; raises for anything else.

    The fields that rows of one kind share (algorithm, its version, distribution, dtype, run,
    seed source) are written into a template once per kind; each row fills in the rest.
    """
    created = row["created"]
    if type(created) is not dt.datetime or created.tzinfo is not _UTC:
        raise TypeError("not a UTC datetime")
    shape = row["shape"]
    if type(shape) is str and _SHAPE_TEXT.fullmatch(shape):
        shape = shape.replace(" ", "")
    elif type(shape) is tuple and all(type(d) is int for d in shape):
        shape = "[" + ",".join(map(str, shape)) + "]"
    else:
        raise TypeError("shape")
    seed, nbytes, version = row["seed"], row["nbytes"], row["version"]
    if type(seed) is not int or type(nbytes) is not int or type(version) is not int:
        raise TypeError("not an int")
    if seed < 0:
        seed += _UINT64
    kind = (row["algorithm"], row["algorithm_version"], row["distribution"], row["dtype"],
            row["run_id"], row["seed_source"])
    # Exact types: True, 1.0 and 1 are equal keys, but not the same canonical text.
    types = list(map(type, kind))
    if types != _KIND_TYPES and types != _KIND_TYPES_NO_SOURCE:
        raise TypeError("row kind")
    template = _TEMPLATES.get(kind)
    if template is None:
        template = _template(*kind)
    get = row.get
    text = template % (
        # isoformat of a UTC datetime with microseconds: "YYYY-MM-DDTHH:MM:SS.ffffff+00:00"
        created.isoformat("T", "microseconds")[:26],
        _encode_ascii(row["digest"]),
        _encode_ascii(row["name"]),
        nbytes,
        _float(get("high")), _float(get("low")), _float(get("mean")), _float(get("scale")),
        "null" if previous_seal is None else _encode_ascii(previous_seal),
        seed,
        shape,
        version,
    )
    return CANONICAL_PREFIX + text.encode("ascii")


#: Canonical-text templates by row kind (see :func:`_canonical_fast`); a handful per process.
_TEMPLATES: dict[tuple, str] = {}
_KIND_TYPES = [str, int, str, str, int, str]
_KIND_TYPES_NO_SOURCE = [str, int, str, str, int, type(None)]


def _template(algorithm, algorithm_version, distribution, dtype, run_id, seed_source) -> str:
    def fixed(text: str) -> str:  # a constant inside a %-template
        return text.replace("%", "%%")

    template = (
        f'{{"algorithm":{fixed(_encode_ascii(algorithm))},'
        f'"algorithm_version":{_int(algorithm_version)},'
        '"created":"%sZ",'
        '"digest":%s,'
        f'"distribution":{fixed(_encode_ascii(distribution))},'
        f'"dtype":{fixed(_encode_ascii(dtype))},'
        '"name":%s,'
        '"nbytes":%d,'
        '"params":{"high":%s,"low":%s,"mean":%s,"scale":%s},'
        '"previous_seal":%s,'
        f'"run_id":{_int(run_id)},'
        '"seed":%d,'
        f'"seed_source":{"null" if seed_source is None else fixed(_encode_ascii(seed_source))},'
        '"shape":%s,'
        '"version":%d}'
    )
    if len(_TEMPLATES) < 1024:  # kinds are few; a bound all the same
        _TEMPLATES[(algorithm, algorithm_version, distribution, dtype, run_id, seed_source)] = template
    return template


def _int(value: Any) -> str:
    if type(value) is not int:
        raise TypeError("not an int")
    return int.__repr__(value)


def _float(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is not float:
        raise TypeError("not a float")
    return f'"{value.hex()}"'


class _Raw(str):
    """JSON text already written."""


_FIELDS_SORTED = tuple(sorted((*SEALED_COLUMNS, "params", "previous_seal")))
_PARAMS_SORTED = tuple(sorted(PARAM_COLUMNS))


def _json(value: Any) -> str:
    # What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) writes.
    if type(value) is str:
        return _encode_ascii(value)
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is _Raw:
        return str.__str__(value)
    if type(value) is list:
        return "[" + ",".join(map(_json, value)) + "]"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _value(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value
    if kind is float:
        return value.hex()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            if value.tzinfo is not dt.timezone.utc:
                value = value.astimezone(dt.timezone.utc)
            value = value.replace(tzinfo=None)
        return value.isoformat("T", "microseconds") + "Z"
    if isinstance(value, float):
        return float.hex(value)
    return value


def _shape(value: Any) -> Any:
    # Rows keep the shape as JSON text, records as a tuple: both seal as a JSON list.
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value  # a malformed row still gets a seal (of its text)
        return parsed if isinstance(parsed, list) else value
    if isinstance(value, tuple):
        return list(value)
    return value


def _param(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # SQLite may hand back an integral REAL as int
    return value


def _seed(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return value + _UINT64  # stored two's complement
    return value


def compute_seal(row: Mapping[str, Any], previous_seal: str | None, key: SealKey | None) -> str:
    """The seal of ``row`` chained to ``previous_seal`` (None for a name's first version); the
    second form (``rs2:``) for a row with a recipe."""
    if row.get("recipe") is not None:
        return seal_text(canonical(row, previous_seal), key, UNKEYED_2, KEYED_2)
    # canonical() and seal_text() of the first form, in fewer calls: this runs for every
    # recorded variable.
    try:
        text = _canonical_fast(row, previous_seal)
    except (TypeError, ValueError, KeyError, AttributeError):
        text = canonical_fields(row, previous_seal)
    if key is None:
        return UNKEYED + _sha256(text).hexdigest()
    return seal_text(text, key, UNKEYED, KEYED)


def seal_text(text: bytes, key: SealKey | None, unkeyed: str, keyed: str) -> str:
    """The seal of a canonical ``text``: ``unkeyed`` + SHA-256, or ``keyed`` + key id + HMAC.

    Each kind of sealed row has its own canonical prefix and seal prefixes (variable rows:
    ``rs1:`` and ``rs2:``), so a seal of one kind can never pass for another.

    Example:
        >>> seal_text(b"x", None, "t1:sha256:", "t1:hmac-sha256:")[:14]
        't1:sha256:2d71'
    """
    if key is None:
        return unkeyed + hashlib.sha256(text).hexdigest()
    return f"{keyed}{key.id}:" + hmac.new(key.secret, text, hashlib.sha256).hexdigest()


SealStatus = Literal["ok", "broken", "no_key", "wrong_key", "unkeyed"]


@dataclass(frozen=True)
class SealCheck:
    """The result of checking one row's seal; ``detail`` explains anything but ``ok``."""

    status: SealStatus
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def seal_key_id(seal: str | None) -> str | None:
    """The id of the key that made ``seal``, or None for an unkeyed (or missing) seal.

    Example:
        >>> seal_key_id("rs1:hmac-sha256:0011223344556677:ab"), seal_key_id("rs1:sha256:ab")
        ('0011223344556677', None)
    """
    if isinstance(seal, str):
        for scheme in _KEYED_SCHEMES:
            if seal.startswith(scheme):
                return seal[len(scheme):].split(":", 1)[0]
    return None


def check_seal(row: Mapping[str, Any], previous_seal: str | None, seal: str | None,
               key: SealKey | None) -> SealCheck:
    """Check ``seal`` against ``row`` and its stored ``previous_seal``.

    With a key, every seal must have been made with that key: an unkeyed seal, or one made
    with another key, could have been written by anyone who can edit the database.
    Without a key, keyed seals cannot be checked (``no_key``).
    """
    return check_sealed(seal, key, (UNKEYED, UNKEYED_2), _KEYED_SCHEMES,
                        lambda k: compute_seal(row, previous_seal, k), keyed_form=_KEYED_FORM)


def check_sealed(seal: str | None, key: SealKey | None, unkeyed: str | tuple[str, ...],
                 keyed: str | tuple[str, ...], compute: Callable[[SealKey | None], str],
                 keyed_form: re.Pattern | None = None) -> SealCheck:
    """Check ``seal`` (prefixes ``unkeyed``/``keyed``, a prefix or a tuple of them) against
    ``compute(key)``, the seal the row's fields give with that key (None: unkeyed); the rules
    of :func:`check_seal`. A keyed seal must also match ``keyed_form`` when it is given.

    Example:
        >>> check_sealed("t1:sha256:00", None, "t1:sha256:", "t1:hmac-sha256:", lambda k: "t1:sha256:01").status
        'broken'
    """
    if not isinstance(seal, str) or not seal:
        return SealCheck("broken", "the row has no seal")
    keyed_schemes = (keyed,) if isinstance(keyed, str) else tuple(keyed)
    scheme = next((k for k in keyed_schemes if seal.startswith(k)), None)
    if scheme is not None:
        if keyed_form is not None and not keyed_form.fullmatch(seal):
            return SealCheck("broken", f"malformed keyed seal {seal[:40]!r}: not "
                                       f"{' or '.join(keyed_schemes)}, then <16 hex digits>:<64 hex digits>")
        made_with = seal[len(scheme):].split(":", 1)[0]
        if key is None:
            return SealCheck("no_key", f"sealed with key {made_with}; give the key "
                                       f"({KEY_ENV} or {KEY_FILE_ENV}) to check it")
        if made_with != key.id:
            return SealCheck("wrong_key", f"sealed with key {made_with}, not with the given key {key.id}")
    elif seal.startswith(unkeyed):
        if key is not None:
            return SealCheck("unkeyed", "sealed without a key, but the ledger is checked with key "
                                        f"{key.id}: anyone who can edit the database could have made it "
                                        "(rows sealed by a schema upgrade are; once you have checked "
                                        "them, `reprovar db vouch` seals them with the key)")
    else:
        return SealCheck("broken", f"unknown seal scheme in {seal[:24]!r}")
    try:
        expected = compute(key if scheme is not None else None)
    except (TypeError, ValueError) as e:
        return SealCheck("broken", f"cannot compute the seal: {e}")
    if not hmac.compare_digest(expected, seal):
        return SealCheck("broken", "the seal does not match the row's fields: the row was "
                                   "changed after it was recorded")
    return SealCheck("ok")
