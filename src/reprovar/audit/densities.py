"""What a recorded variable's values should look like: density, distribution function,
quantiles and moments of each distribution the ledger records.

A ledger row names its distribution and parameters; each distribution's law (density,
quantiles, moments) lives with it in :mod:`reprovar.distributions` (:mod:`reprovar.distributions.laws`),
and this module finds it through the registry. The report draws the density over each
histogram and puts the expected mean and standard deviation beside the sample's;
``reprovar plot`` adds a Q-Q plot, which needs quantiles.

Example:
    >>> law = make_law("uniform", {"low": -1.0, "high": 3.0})
    >>> law.mean, round(law.std, 6)
    (1.0, 1.154701)
    >>> float(law.ppf(0.25))
    0.0
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..distributions import REGISTRY
from ..distributions.laws import NORMAL_DRAW_SIGMAS, Law, normal_cdf, normal_pdf, normal_ppf  # noqa: F401
from ..distributions.normal import NormalLaw  # noqa: F401  (re-exported: the audit's names for them)
from ..distributions.truncated_normal import TruncatedNormalLaw  # noqa: F401
from ..distributions.uniform import UniformLaw  # noqa: F401
from .errors import AuditError, UnknownDistributionError


def record_law_inputs(record: Any) -> tuple[str, dict[str, float]]:
    """A ledger record's distribution name and parameters, as the distribution contract has them.

    The one place that reads them off a record: rows with a ``params`` mapping give it (a
    bound given as None is infinite); rows without one are normal rows, described by their
    ``mean`` and ``scale``.

    Example:
        >>> from types import SimpleNamespace
        >>> record_law_inputs(SimpleNamespace(distribution="normal", mean=0.0, scale=2.0))
        ('normal', {'mean': 0.0, 'scale': 2.0})
    """
    params = getattr(record, "params", None)
    if params is not None:
        return record.distribution, {k: _param(k, v) for k, v in params.items() if _param(k, v) is not None}
    return record.distribution, {"mean": float(record.mean), "scale": float(record.scale)}


def _param(key: str, value: Any) -> float | None:
    # The ledger stores an infinite bound as NULL; a missing bound is an unbounded side.
    if value is None:
        return {"low": -math.inf, "high": math.inf}.get(key)
    return float(value)


def law_of(record: Any) -> Law:
    """The :class:`Law` a ledger record says its values follow.

    Example:
        >>> from types import SimpleNamespace
        >>> law_of(SimpleNamespace(distribution="normal", mean=1.0, scale=0.5)).std
        0.5
    """
    return make_law(*record_law_inputs(record))


def make_law(distribution: str, params: Mapping[str, float]) -> Law:
    """The law of ``distribution`` with ``params``; :class:`UnknownDistributionError` if unknown.

    Example:
        >>> make_law("normal", {"mean": 0.0, "scale": 1.0}).describe()
        'normal(mean=0, scale=1)'
        >>> make_law("cauchy", {})
        Traceback (most recent call last):
        ...
        reprovar.errors.UnknownDistributionError: no density for distribution 'cauchy'; known: normal, truncated_normal, uniform
    """
    known_laws = {name: d.law for name, d in REGISTRY.items() if d.law is not None}
    try:
        cls = known_laws[distribution]
    except (KeyError, TypeError):
        known = ", ".join(sorted(known_laws))
        raise UnknownDistributionError(
            f"no density for distribution {distribution!r}; known: {known}"
        ) from None
    missing = [k for k in cls.keys if k not in params]
    if missing:
        raise AuditError(f"{distribution} needs parameters {', '.join(cls.keys)}; missing {', '.join(missing)}")
    return cls(distribution, {k: float(params[k]) for k in cls.keys})


_LAWS: dict[str, type[Law]] = {
    "normal": NormalLaw,
    "uniform": UniformLaw,
    "truncated_normal": TruncatedNormalLaw,
}


