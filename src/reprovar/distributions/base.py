"""What every distribution declares: :class:`Distribution`, and the one check of a real parameter."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ArgumentTypeError, ArgumentValueError
from ..sampler.formats import compute_type


def check_real(value, param: str, *, allow_inf: bool = False) -> float:
    """``value`` as a float: a real number, finite unless ``allow_inf``; NaN never.

    An int beyond float64's range (``10**400``) is a value error, not an ``OverflowError``.

    Example:
        >>> check_real(2, "low"), check_real(float("-inf"), "low", allow_inf=True)
        (2.0, -inf)
        >>> check_real(10**400, "mean")
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: mean must be a finite number, got an int of 1329 bits, beyond float64's range (|mean| < 1.8e308)
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        accepted = "a real number (int or float)" + (", or +-inf" if allow_inf else "")
        raise ArgumentTypeError(f"{param} must be {accepted}, got {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond float's range
        raise ArgumentValueError(
            f"{param} must be a finite number, got an int of {int(value).bit_length()} bits, "
            f"beyond float64's range (|{param}| < 1.8e308)"
        ) from None
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        accepted = "a number or +-inf" if allow_inf else "a finite number"
        raise ArgumentValueError(f"{param} must be {accepted}, got {value}")
    return value


def check_magnitude(param: str, value: float, dtype: np.dtype) -> None:
    """Refuse a finite ``value`` beyond the largest number of ``dtype``'s compute type.

    Example:
        >>> import numpy as np
        >>> check_magnitude("low", 1e39, np.dtype("float32"))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: low=1e+39 overflows the float32 arithmetic of dtype=float32; accepted: |low| <= 3.402823e+38
    """
    compute = compute_type(dtype)
    limit = float(np.finfo(compute).max)
    if math.isfinite(value) and abs(value) > limit:
        raise ArgumentValueError(
            f"{param}={value} overflows the {np.dtype(compute).name} arithmetic of "
            f"dtype={dtype.name}; accepted: |{param}| <= {limit:.7g}"
        )


@dataclass(frozen=True)
class Distribution:
    """One distribution, as the rest of reprovar sees it.

    - ``name``: what a ledger row's ``distribution`` column says;
    - ``parameters``: its parameters in order, each a column of the ledger's variables table
      (:data:`reprovar.ledger.models.PARAMETER_COLUMNS`); ``optional`` ones may be omitted
      (``None``) and get the default ``check`` gives them;
    - ``check(params, dtype, shape)``: the checked parameters as floats, or an error naming the
      parameter and what it accepts, before anything is made;
    - ``default``: the algorithm new variables are made with; ``released``: every other
      version this reprovar can still replay (released algorithms never change values);
    - ``stored_none``: what a parameter stored as NULL means (an infinite bound);
    - ``law``: its :class:`reprovar.distributions.laws.Law` (density, quantiles) for the
      audit's plots and checks, or ``None`` (the audit then says it has no density).

    Example:
        >>> from reprovar.distributions import get
        >>> d = get("uniform")
        >>> d.parameters, d.default.name
        (('low', 'high'), 'philox4x32-10/uniform')
        >>> d.checked({"low": -1, "high": 1}, np.dtype("float32"), (2,))
        {'low': -1.0, 'high': 1.0}
    """

    name: str
    parameters: tuple[str, ...]
    check: Callable[[Mapping[str, Any], np.dtype, tuple[int, ...]], dict[str, float]]
    default: Any
    summary: str
    optional: tuple[str, ...] = ()
    released: tuple[Any, ...] = ()
    stored_none: Mapping[str, float] = field(default_factory=dict)
    law: Any = None

    @property
    def algorithms(self) -> tuple[Any, ...]:
        """Every algorithm of this distribution this reprovar can make values with."""
        return (*self.released, self.default)

    @property
    def elementwise(self) -> bool:
        """Whether any piece of a variable can be made on its own (``fill``, slices, Dask chunks)."""
        return bool(self.default.elementwise)

    def checked(self, params: Mapping[str, Any], dtype: np.dtype, shape: tuple[int, ...]) -> dict[str, float]:
        """``params`` checked for a variable of ``dtype`` and ``shape``: exactly this
        distribution's parameters (optional ones may be missing), as floats.

        Example:
            >>> from reprovar.distributions import get
            >>> get("normal").checked({"mean": 0, "sd": 1}, np.dtype("float32"), (2,))
            Traceback (most recent call last):
            ...
            reprovar.errors.ArgumentValueError: normal takes parameters mean, scale; got unknown sd
        """
        unknown = [k for k in params if k not in self.parameters]
        if unknown:
            raise ArgumentValueError(
                f"{self.name} takes parameters {', '.join(self.parameters)}; got unknown {', '.join(map(str, unknown))}"
            )
        missing = [k for k in self.parameters if k not in params and k not in self.optional]
        if missing:
            raise ArgumentValueError(
                f"{self.name} takes parameters {', '.join(self.parameters)}; missing {', '.join(missing)}"
            )
        return self.check(params, dtype, shape)

    def from_stored(self, values: Any) -> dict[str, float]:
        """The parameters read from ``values``' attributes (a record, a provenance), as floats;
        a parameter stored as NULL gets its ``stored_none`` value.

        Example:
            >>> from types import SimpleNamespace
            >>> from reprovar.distributions import get
            >>> get("truncated_normal").from_stored(SimpleNamespace(mean=0.0, scale=1.0, low=-2.0, high=None))
            {'mean': 0.0, 'scale': 1.0, 'low': -2.0, 'high': inf}
        """
        params = {}
        for key in self.parameters:
            value = getattr(values, key)
            if value is None:
                value = self.stored_none.get(key)
            params[key] = None if value is None else float(value)
        return params
