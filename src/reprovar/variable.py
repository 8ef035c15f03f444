"""The :class:`Variable` returned by :func:`reprovar.random_normal_variable`."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from .distributions.registry import REGISTRY


#: Each distribution's parameters, in the order they are written (from the registry,
#: :mod:`reprovar.distributions`): what a ledger row stores, and the keywords its algorithm's
#: ``generate``/``fill`` take.
DISTRIBUTION_PARAMETERS: dict[str, tuple[str, ...]] = {name: d.parameters for name, d in REGISTRY.items()}


def distribution_params(distribution: str, values: Any) -> dict[str, float]:
    """The parameters of ``distribution`` read from ``values`` (attributes), as floats.

    A truncated normal's missing bound (``None``, as an infinite bound is stored) is infinite.

    Example:
        >>> p = Provenance("philox4x32-10/box-muller", 1, seed=7, mean=0.0, scale=1.0)
        >>> distribution_params("normal", p)
        {'mean': 0.0, 'scale': 1.0}
    """
    d = REGISTRY.get(distribution)
    if d is None:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown distribution {distribution!r}; known: {known}")
    return d.from_stored(values)


@dataclass(frozen=True)
class Provenance:
    """Everything needed to make a variable again: the inputs of a pure function.

    ``distribution`` names what the values follow, and ``params`` holds that distribution's
    own parameters (:data:`DISTRIBUTION_PARAMETERS`); attributes of parameters it does not
    have are ``None``. ``seed_source`` is ``"user"`` when the caller gave the seed and
    ``"os"`` when it was drawn from the OS entropy pool (``seed=None``): audits flag the latter.

    Example:
        >>> p = Provenance("philox4x32-10/box-muller", 1, seed=7, mean=0.0, scale=1.0)
        >>> p.algorithm, p.algorithm_version, p.seed_source, p.params
        ('philox4x32-10/box-muller', 1, 'user', {'mean': 0.0, 'scale': 1.0})
        >>> Provenance("philox4x32-10/uniform", 1, seed=7, distribution="uniform", low=-1.0, high=1.0).params
        {'low': -1.0, 'high': 1.0}
    """

    algorithm: str
    algorithm_version: int
    seed: int
    mean: float | None = None
    scale: float | None = None
    distribution: str = "normal"
    seed_source: str = "user"
    low: float | None = None
    high: float | None = None
    #: How the whole value is made beyond the draw (JSON, see :mod:`reprovar.recipes`);
    #: None for a variable that is its draw alone.
    recipe: str | None = None

    @property
    def params(self) -> dict[str, float]:
        """The distribution's parameters by name (the keywords of its algorithm)."""
        return distribution_params(self.distribution, self)


class Variable:
    """A numpy-backed variable that knows how it was made.

    It behaves like the Keras variable returned by ``random_normal_variable`` where that
    makes sense for a numpy array: ``.numpy()``, ``np.asarray(v)``, ``.shape``, ``.dtype``,
    ``.name``; and it carries its provenance (``.seed``, ``.provenance``) and, once recorded,
    the ledger ``record`` that names it.

    Example:
        >>> import reprovar
        >>> v = reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="w", seed=1, record=False)
        >>> v.shape, str(v.dtype), v.name, v.seed
        ((2, 3), 'float32', 'w', 1)
    """

    __slots__ = ("_value", "_name", "_provenance", "record", "__weakref__")

    def __init__(self, value: np.ndarray, name: str, provenance: Provenance, record: Any = None):
        self._value = value
        self._name = name
        self._provenance = provenance
        self.record = record  # the ledger row this variable was recorded as, if any

    @property
    def name(self) -> str:
        return self._name

    @property
    def seed(self) -> int:
        return self._provenance.seed

    @property
    def provenance(self) -> Provenance:
        return self._provenance

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def size(self) -> int:
        return self._value.size

    @property
    def nbytes(self) -> int:
        return self._value.nbytes

    def numpy(self) -> np.ndarray:
        """The values as a numpy array (the variable's own buffer, as Keras' ``numpy()`` on CPU)."""
        return self._value

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            return self._value.astype(dtype)
        if copy:
            return self._value.copy()
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __getitem__(self, index):
        return self._value[index]

    def __repr__(self) -> str:
        values = np.array2string(self._value, separator=", ", threshold=20, edgeitems=2)
        return (
            f"<reprovar.Variable {self._name!r} shape={self._value.shape} "
            f"dtype={self._value.dtype}, numpy=\n{values}>"
        )


_default_name_lock = threading.Lock()
_default_name_counter = itertools.count()


def default_name() -> str:
    """A unique name for an unnamed variable, as Keras makes them: ``Variable``, ``Variable_1``, ..."""
    with _default_name_lock:
        n = next(_default_name_counter)
    return "Variable" if n == 0 else f"Variable_{n}"
