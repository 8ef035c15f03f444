"""The distribution registry: every distribution reprovar makes, and every algorithm it can replay.

To add a distribution: write its module beside this one (a :class:`~.base.Distribution` with
its parameters, check, algorithm and law), its kernel file in :mod:`reprovar.sampler.kernels`,
add it to ``_DISTRIBUTIONS`` below, and freeze its digests (``tests/data/frozen_digests.json``).
A new *version* of an algorithm goes into its distribution's ``released`` (the old one) and
``default`` (the new one): recorded variables replay with the version they name.

Example:
    >>> sorted(REGISTRY)
    ['normal', 'orthogonal', 'orthogonal_last_axis', 'truncated_normal', 'uniform']
    >>> get_algorithm("philox4x32-10/uniform", 1).distribution
    'uniform'
"""

from __future__ import annotations

from ..errors import ArgumentValueError, UnknownAlgorithmError
from .base import Distribution
from .normal import NORMAL
from .orthogonal import ORTHOGONAL_FIRST_AXIS, ORTHOGONAL_LAST_AXIS
from .truncated_normal import TRUNCATED_NORMAL
from .uniform import UNIFORM

_DISTRIBUTIONS = (NORMAL, UNIFORM, TRUNCATED_NORMAL, ORTHOGONAL_FIRST_AXIS, ORTHOGONAL_LAST_AXIS)

#: Every distribution, by the name a ledger row records.
REGISTRY: dict[str, Distribution] = {d.name: d for d in _DISTRIBUTIONS}

_ALGORITHMS = {(a.name, a.version): a for d in _DISTRIBUTIONS for a in d.algorithms}

#: The algorithm new normal variables are made with.
DEFAULT_ALGORITHM = NORMAL.default


def _check_registry() -> None:
    # Each algorithm belongs to one distribution and says so; names are unique.
    if len(REGISTRY) != len(_DISTRIBUTIONS):
        raise RuntimeError("two distributions share a name")
    for d in _DISTRIBUTIONS:
        for a in d.algorithms:
            if a.distribution != d.name or _ALGORITHMS[(a.name, a.version)] is not a:
                raise RuntimeError(f"algorithm {a.name} v{a.version} is registered twice or under {d.name}")


_check_registry()


def get(distribution: str) -> Distribution:
    """The registered distribution called ``distribution``.

    Example:
        >>> get("normal").parameters
        ('mean', 'scale')
        >>> get("cauchy")
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: distribution must be one of 'normal', 'uniform', 'truncated_normal', 'orthogonal', 'orthogonal_last_axis', got 'cauchy'
    """
    try:
        return REGISTRY[distribution]
    except (KeyError, TypeError):
        raise ArgumentValueError(
            f"distribution must be one of {', '.join(map(repr, REGISTRY))}, got {distribution!r}"
        ) from None


def default_algorithm(distribution: str):
    """The algorithm new variables of ``distribution`` are made with.

    Example:
        >>> default_algorithm("uniform").name
        'philox4x32-10/uniform'
    """
    return get(distribution).default


def get_algorithm(name: str, version: int):
    """The registered algorithm ``name`` at ``version``.

    Example:
        >>> get_algorithm("philox4x32-10/box-muller", 1).version
        1
    """
    try:
        return _ALGORITHMS[(name, version)]
    except (KeyError, TypeError):
        known = ", ".join(f"{n} v{v}" for n, v in registered_algorithms())
        raise UnknownAlgorithmError(
            f"no sampler algorithm {name!r} version {version}; this reprovar knows: {known}"
        ) from None


def registered_algorithms() -> list[tuple[str, int]]:
    """(name, version) of every algorithm this reprovar can replay.

    Example:
        >>> registered_algorithms()[:2]
        [('philox4x32-10/box-muller', 1), ('philox4x32-10/orthogonal', 1)]
    """
    return sorted(_ALGORITHMS)
