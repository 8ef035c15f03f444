"""Keras' ``VarianceScaling`` resolved to one distribution: see
:mod:`reprovar.distributions.variance_scaling` (where it lives; this is its documented import path)."""

from .distributions.variance_scaling import (
    DISTRIBUTIONS,
    MODES,
    TRUNCATED_STDDEV,
    check_settings,
    compute_fans,
    resolve,
    resolve_for,
)

__all__ = ["DISTRIBUTIONS", "MODES", "TRUNCATED_STDDEV", "check_settings", "compute_fans", "resolve", "resolve_for"]
