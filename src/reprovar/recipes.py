"""Recipes: how a variable's whole value is made when one draw does not say it all.

A model parameter's initial value is often one draw (a ledger row's distribution, parameters,
seed and algorithm), but not always:

* a norm layer's weight is a constant (ones), its bias zeros, a BatchNorm's step counter an
  integer zero;
* an Embedding's padding row is zeroed after the normal draw, ``eye_`` puts ones on a
  diagonal, ``dirac_`` single ones into a zeroed kernel;
* a part of a tensor may be drawn on its own (``w[:, :k].normal_()``);
* a tied weight is another parameter's value under a second name.

A :class:`Recipe` says this, in order: a ``base`` (a constant, or None for the row's own draw
over the whole tensor), then ``steps`` that each write one :class:`Region` (a constant
:class:`Fill` or a :class:`PartDraw`), and ``tied_to``, the name whose value this is. Its JSON
text (:meth:`Recipe.to_json`) is stored in the row's ``recipe`` column and sealed with the
row, and :func:`make` builds the values from it: they are a pure function of the row, like
every other variable's.

A region is a strided view of the C-order array, in elements: ``offset``, then a ``size`` and
``stride`` per axis (numpy's ``as_strided`` in element units). Any view made by indexing a
contiguous tensor with integers and slices is one: a row is ``(offset=row*cols, size=[cols],
stride=[1])``, a matrix diagonal ``(0, [n], [cols + 1])``.

Values in JSON: floats as ``float.hex`` strings (exact; ``-0.0`` and the sign of zero kept),
integers and booleans as themselves.

Example:
    >>> import numpy as np
    >>> r = Recipe(base=Fill(0.0), steps=(Fill(1.0, Region(0, (3,), (4,))),))
    >>> make((3, 3), np.dtype("float32"), None, 0, r).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    >>> Recipe.from_json(r.to_json()) == r
    True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from .errors import ArgumentValueError

#: The recipe format this reprovar writes and reads (the ``"v"`` field).
RECIPE_VERSION = 1


@dataclass(frozen=True)
class Draw:
    """A distribution and its parameters (Python floats), as the ledger records them.

    Example:
        >>> Draw("uniform", {"low": -0.5, "high": 0.5}).distribution
        'uniform'
    """

    distribution: str
    params: dict


@dataclass(frozen=True)
class Region:
    """The elements a step writes: a strided view of the C-order array, in elements.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((2, 3), np.float32)
        >>> Region(3, (3,), (1,)).view(a.reshape(-1))[:] = 7
        >>> a.tolist()
        [[0.0, 0.0, 0.0], [7.0, 7.0, 7.0]]
    """

    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    @property
    def numel(self) -> int:
        return math.prod(self.size)

    def last(self) -> int:
        """The largest element index the region reaches (``offset`` for an empty region)."""
        return self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride) if n > 0)

    def check(self, numel: int) -> None:
        """Raise unless every element of the region lies in an array of ``numel`` elements."""
        if (self.offset < 0 or any(s < 0 for s in self.stride) or any(n < 0 for n in self.size)
                or len(self.size) != len(self.stride)):
            raise ArgumentValueError(f"recipe region {self} is not a view of the array")
        if self.numel and self.last() >= numel:
            raise ArgumentValueError(f"recipe region {self} reaches past the array's {numel} elements")

    def view(self, flat: np.ndarray) -> np.ndarray:
        """The region of the 1-D array ``flat``, as a writeable numpy view."""
        self.check(flat.size)
        item = flat.itemsize
        return np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=tuple(s * item for s in self.stride), writeable=True
        )

    def to_dict(self) -> dict:
        return {"offset": self.offset, "size": list(self.size), "stride": list(self.stride)}

    @classmethod
    def from_dict(cls, d: Any) -> Region:
        if not isinstance(d, dict) or set(d) != {"offset", "size", "stride"}:
            raise ArgumentValueError(f"recipe region must have offset, size and stride, got {d!r}")
        offset, size, stride = d["offset"], d["size"], d["stride"]
        if not _is_int(offset) or not isinstance(size, list) or not isinstance(stride, list) \
                or not all(map(_is_int, size)) or not all(map(_is_int, stride)):
            raise ArgumentValueError(f"recipe region holds integers only, got {d!r}")
        return cls(offset, tuple(size), tuple(stride))


@dataclass(frozen=True)
class Fill:
    """A constant written into ``region`` (None: every element).

    Example:
        >>> Fill(0.0).to_dict()
        {'fill': '0x0.0p+0'}
    """

    value: Union[float, int, bool]
    region: Region | None = None

    def to_dict(self) -> dict:
        d: dict = {"fill": _value_json(self.value)}
        if self.region is not None:
            d["region"] = self.region.to_dict()
        return d


@dataclass(frozen=True)
class PartDraw:
    """A draw of its own into ``region``: the variable (``draw``, ``seed``) of the region's
    shape, made by ``algorithm`` version ``algorithm_version``.

    Example:
        >>> PartDraw(Draw("normal", {"mean": 0.0, "scale": 1.0}), 5, "philox4x32-10/box-muller", 1,
        ...          Region(0, (2,), (1,))).to_dict()["seed"]
        5
    """

    draw: Draw
    seed: int
    algorithm: str
    algorithm_version: int
    region: Region

    def to_dict(self) -> dict:
        return {
            "draw": self.draw.distribution,
            "params": {k: _value_json(v) for k, v in self.draw.params.items()},
            "seed": self.seed,
            "algorithm": self.algorithm,
            "algorithm_version": self.algorithm_version,
            "region": self.region.to_dict(),
        }


Step = Union[Fill, PartDraw]


@dataclass(frozen=True)
class Recipe:
    """How a variable's whole value is made: a ``base``, then ``steps``, in order.

    ``base`` is a :class:`Fill` of every element, or None when the row's own draw makes the
    whole array first. ``tied_to`` names the variable whose value this is (a tied weight);
    the row then repeats that variable's draw and recipe, so it replays on its own.

    Example:
        >>> Recipe(base=Fill(1.0)).describe()
        'constant 1.0'
        >>> Recipe(steps=(Fill(0.0, Region(0, (4,), (1,))),)).describe()
        'draw, then 1 constant write'
    """

    base: Fill | None = None
    steps: tuple[Step, ...] = ()
    tied_to: str | None = None

    @property
    def draws_base(self) -> bool:
        """Whether the row's own draw makes the base (the recipe has no constant base)."""
        return self.base is None

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, no spaces): what the ledger stores and seals."""
        d: dict = {"v": RECIPE_VERSION}
        if self.base is not None:
            d["base"] = _value_json(self.base.value)
        if self.steps:
            d["steps"] = [step.to_dict() for step in self.steps]
        if self.tied_to is not None:
            d["tied_to"] = self.tied_to
        return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        """Parse a recipe's JSON text; :class:`~reprovar.errors.ArgumentValueError` if it is
        not one this reprovar wrote."""
        try:
            d = json.loads(text)
        except (TypeError, ValueError) as e:
            raise ArgumentValueError(f"recipe is not JSON: {e}") from None
        if not isinstance(d, dict) or d.get("v") != RECIPE_VERSION:
            raise ArgumentValueError(
                f"recipe must be a JSON object of version {RECIPE_VERSION}, got {str(text)[:80]!r}"
            )
        unknown = set(d) - {"v", "base", "steps", "tied_to"}
        if unknown:
            raise ArgumentValueError(f"recipe has unknown fields {sorted(unknown)}")
        base = Fill(_value_from_json(d["base"])) if "base" in d else None
        steps = d.get("steps", [])
        if not isinstance(steps, list):
            raise ArgumentValueError("recipe steps must be a list")
        tied_to = d.get("tied_to")
        if tied_to is not None and not isinstance(tied_to, str):
            raise ArgumentValueError("recipe tied_to must be a name")
        return cls(base, tuple(_step_from_dict(s) for s in steps), tied_to)

    def describe(self) -> str:
        """A short line for people (``show``, ``history``)."""
        parts = ["draw" if self.base is None else f"constant {self.base.value!r}"]
        fills = sum(isinstance(s, Fill) for s in self.steps)
        draws = len(self.steps) - fills
        then = []
        if fills:
            then.append(f"{fills} constant write{'s' if fills > 1 else ''}")
        if draws:
            then.append(f"{draws} partial draw{'s' if draws > 1 else ''}")
        text = parts[0] + (", then " + " and ".join(then) if then else "")
        if self.tied_to is not None:
            text += f" (tied to {self.tied_to})"
        return text


def make(shape: tuple[int, ...], dtype: np.dtype, draw: Draw | None, seed: int, recipe: Recipe | None,
         algorithm: Any = None) -> np.ndarray:
    """The values of a variable of ``shape`` and ``dtype`` made by ``draw`` (with ``seed``)
    and ``recipe``, in a new C-order array.

    ``algorithm`` makes the base draw (the default algorithm of ``draw``'s distribution when
    None); it is not needed when the recipe has a constant base.
    """
    out = np.empty(shape, dtype)
    make_into(out, draw, seed, recipe, algorithm)
    return out


def make_into(out: np.ndarray, draw: Draw | None, seed: int, recipe: Recipe | None, algorithm: Any = None) -> None:
    """:func:`make` into ``out`` (C-contiguous, the variable's shape and dtype)."""
    flat = out.reshape(-1)
    if recipe is None or recipe.base is None:
        if draw is None:
            raise ArgumentValueError("a variable without a constant base needs a draw")
        if algorithm is None:
            from .distributions import default_algorithm

            algorithm = default_algorithm(draw.distribution)
        algorithm.make_into(out, seed=seed, **draw.params)
    else:
        flat[...] = recipe.base.value
    if recipe is None:
        return
    for step in recipe.steps:
        target = flat if step.region is None else step.region.view(flat)
        if isinstance(step, Fill):
            target[...] = step.value
        else:
            from .distributions import get_algorithm

            part = get_algorithm(step.algorithm, step.algorithm_version).generate(
                step.region.size, out.dtype, seed=step.seed, **step.draw.params
            )
            target[...] = part


def constant_row_draw(value: Union[float, int, bool]) -> Draw:
    """The draw a constant's ledger row shows: a normal of that mean and scale 0 (a point
    mass at the constant). The recipe, not this draw, makes the values.

    Example:
        >>> constant_row_draw(1.0).params
        {'mean': 1.0, 'scale': 0.0}
    """
    return Draw("normal", {"mean": float(value), "scale": 0.0})


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _value_json(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value).hex()


def _value_from_json(value: Any) -> Union[float, int, bool]:
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        try:
            return float.fromhex(value)
        except ValueError:
            pass
    raise ArgumentValueError(f"recipe value must be a hex float, an integer or a boolean, got {value!r}")


def _step_from_dict(d: Any) -> Step:
    if not isinstance(d, dict):
        raise ArgumentValueError(f"recipe step must be an object, got {d!r}")
    if "fill" in d:
        if set(d) - {"fill", "region"}:
            raise ArgumentValueError(f"recipe fill step has unknown fields: {sorted(set(d) - {'fill', 'region'})}")
        region = Region.from_dict(d["region"]) if "region" in d else None
        return Fill(_value_from_json(d["fill"]), region)
    keys = {"draw", "params", "seed", "algorithm", "algorithm_version", "region"}
    if set(d) != keys:
        raise ArgumentValueError(f"recipe draw step must have the fields {sorted(keys)}, got {sorted(d)}")
    params = d["params"]
    if not isinstance(params, dict) or not isinstance(d["draw"], str) or not _is_int(d["seed"]) \
            or not isinstance(d["algorithm"], str) or not _is_int(d["algorithm_version"]):
        raise ArgumentValueError(f"recipe draw step is malformed: {d!r}")
    draw = Draw(d["draw"], {k: float(_value_from_json(v)) for k, v in params.items()})
    return PartDraw(draw, d["seed"], d["algorithm"], d["algorithm_version"], Region.from_dict(d["region"]))
