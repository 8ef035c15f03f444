"""Random orthogonal matrices (Haar measure) times a gain: ``philox4x32-10/orthogonal`` v1 (the
shape read as torch reads it) and ``philox4x32-10/orthogonal-last-axis`` v1 (as Keras reads it),
reprovar's own normal matrix and Householder QR (:mod:`reprovar.sampler.kernels.orthogonal`).

Example:
    >>> import numpy as np
    >>> ORTHOGONAL_FIRST_AXIS.checked({"scale": 2}, np.dtype("float32"), (3, 4))
    {'scale': 2.0}
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentValueError
from ..sampler.blocks import check_format, parallel
from .base import Distribution, check_real
from .normal import NORMAL

#: The distributions of orthogonal matrices (see :class:`PhiloxOrthogonal`).
ORTHOGONAL = ("orthogonal", "orthogonal_last_axis")


def check_orthogonal(scale, shape: tuple[int, ...], dtype: np.dtype) -> float:
    """A finite ``scale`` (the gain; any sign, as torch and Keras allow) whose values fit
    ``dtype`` (every value of an orthogonal matrix lies in [-1, 1]), and a shape of 2 or more
    dimensions.

    Example:
        >>> import numpy as np
        >>> check_orthogonal(2, (3, 4), np.dtype("float32"))
        2.0
        >>> check_orthogonal(1.0, (3,), np.dtype("float32"))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: an orthogonal variable needs a shape of 2 or more dimensions, got shape=(3,)
    """
    scale = check_real(scale, "gain")
    if len(shape) < 2:
        raise ArgumentValueError(
            f"an orthogonal variable needs a shape of 2 or more dimensions, got shape={tuple(shape)}"
        )
    finite = float.fromhex("0x1.fep127") if dtype.name == "bfloat16" else float(np.finfo(dtype).max)
    if abs(scale) > finite:
        raise ArgumentValueError(
            f"gain={scale} would make values beyond the largest {dtype.name} value; "
            f"accepted: |gain| <= {finite:.7g}"
        )
    return scale


class PhiloxOrthogonal:
    """A random orthogonal matrix (Haar measure), times ``scale`` (the gain).

    The variable's shape is read as a matrix of ``rows x cols`` (``rows = shape[0]``, ``cols``
    the product of the rest, as ``torch.nn.init.orthogonal_`` does; for
    ``orthogonal_last_axis``, ``rows`` is the product of all axes but the last, as Keras'
    ``Orthogonal`` does). With ``m = max(rows, cols)`` and ``n = min(rows, cols)``, the normal
    variable of shape ``(m, n)`` (``philox4x32-10/box-muller`` v1, mean 0, scale 1, same seed)
    is reduced by the Householder QR of :mod:`reprovar.sampler.kernels.orthogonal`; ``Q`` times the
    signs of ``R``'s diagonal (+1 for a zero) is Haar distributed, and times ``scale`` gives the
    values, transposed when ``rows < cols`` (orthonormal rows then, orthonormal columns
    otherwise). Float32, float16 and bfloat16 values are computed in float32 (the half
    precisions rounded from it), float64 values in float64.

    Its values depend on the whole matrix, so unlike the elementwise algorithms it has no
    ``fill`` of a piece: :meth:`generate` and :meth:`make_into` make the whole variable.

    Example:
        >>> import numpy as np
        >>> from reprovar.distributions import get_algorithm
        >>> q = get_algorithm("philox4x32-10/orthogonal", 1).generate((3, 5), np.dtype("float64"), seed=1, scale=1.0)
        >>> bool(np.allclose(q @ q.T, np.eye(3)))
        True
    """

    #: Values depend on the whole variable: no piece can be made on its own.
    elementwise = False

    def __init__(self, name: str, distribution: str, rows_are_first_axis: bool):
        self.name = name
        self.version = 1
        self.distribution = distribution
        self._first_axis = rows_are_first_axis

    def __repr__(self) -> str:
        return f"PhiloxOrthogonal({self.name!r}, v{self.version})"

    def matrix_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """``(rows, cols)`` of the matrix the variable of ``shape`` is read as (ndim >= 2).

        Example:
            >>> from reprovar.distributions import get_algorithm
            >>> get_algorithm("philox4x32-10/orthogonal", 1).matrix_shape((64, 3, 3, 3))
            (64, 27)
        """
        if len(shape) < 2:
            raise ArgumentValueError(
                f"an orthogonal variable needs a shape of 2 or more dimensions, got shape={tuple(shape)}"
            )
        if self._first_axis:
            return shape[0], math.prod(shape[1:])
        return math.prod(shape[:-1]), shape[-1]

    def generate(self, shape: tuple[int, ...], dtype: np.dtype, *, seed: int, scale: float) -> np.ndarray:
        """A new C-ordered array of ``shape`` and ``dtype`` (arguments already validated).

        Example:
            >>> import numpy as np
            >>> from reprovar.distributions import get_algorithm
            >>> alg = get_algorithm("philox4x32-10/orthogonal", 1)
            >>> alg.generate((4, 4), np.dtype("float32"), seed=2, scale=0.5).dtype
            dtype('float32')
        """
        out = np.empty(shape, dtype)
        self.make_into(out, seed=seed, scale=scale)
        return out

    def make_into(self, out: np.ndarray, *, seed: int, scale: float) -> None:
        """Write the whole variable of ``out.shape`` and ``out.dtype`` into ``out`` (C-contiguous).

        Example:
            >>> import numpy as np
            >>> from reprovar.distributions import get_algorithm
            >>> alg = get_algorithm("philox4x32-10/orthogonal", 1)
            >>> out = np.empty((3, 3), np.float64)
            >>> alg.make_into(out, seed=2, scale=1.0)
            >>> bool((out == alg.generate((3, 3), np.dtype("float64"), seed=2, scale=1.0)).all())
            True
        """
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ArgumentValueError("out must be a writeable, C-contiguous array")
        check_format(out.dtype, "out.dtype")
        rows, cols = self.matrix_shape(out.shape)
        if out.size == 0:
            return
        compute = np.dtype(np.float64 if out.dtype == np.float64 else np.float32)
        m, n = max(rows, cols), min(rows, cols)
        a = NORMAL.default.generate((m, n), compute, seed=seed, mean=0.0, scale=1.0)
        from ..sampler.kernels import orthogonal as orthogonal_kernels  # loads Numba: deferred, as for the other kernels

        diag = np.empty(n, compute)
        q = orthogonal_kernels.orthonormal_q(a, diag, parallel=parallel(a))
        # sign(R_kk) (+1 for 0) times the gain: exact signs, then one rounding per value,
        # written straight into out (transposed when rows < cols) where out is of that dtype.
        factors = np.where(diag < 0, -compute.type(scale), compute.type(scale)).astype(compute)
        target = out.reshape(rows, cols)
        if out.dtype == compute:
            if rows >= cols:
                np.multiply(q, factors, out=target)
            else:
                np.multiply(q.T, factors[:, None], out=target)
        else:
            q = q * factors
            target[...] = (q if rows >= cols else q.T).astype(out.dtype)

    def fill(self, out: np.ndarray, start: int, *, seed: int, scale: float) -> None:
        """Refused: an orthogonal matrix's values depend on the whole matrix (see :meth:`generate`)."""
        raise ArgumentValueError(
            f"{self.name} values depend on the whole matrix, so no piece of it can be made on "
            "its own; make the whole variable (generate, reprovar.replay)"
        )

    def filler(self, dtype: np.dtype, *, seed: int, **params):
        """Refused, as :meth:`fill`."""
        self.fill(np.empty(0, dtype), 0, seed=seed, **params)


def _check(params, dtype: np.dtype, shape: tuple[int, ...]) -> dict[str, float]:
    return {"scale": check_orthogonal(params["scale"], shape, dtype)}


def _orthogonal(name: str, algorithm: str, first_axis: bool, reading: str) -> Distribution:
    return Distribution(name, ("scale",), _check, PhiloxOrthogonal(algorithm, name, rows_are_first_axis=first_axis),
                        summary=f"a Haar orthogonal matrix times scale (the gain), the shape read as {reading} reads it")


ORTHOGONAL_FIRST_AXIS = _orthogonal("orthogonal", "philox4x32-10/orthogonal", True, "torch")
ORTHOGONAL_LAST_AXIS = _orthogonal("orthogonal_last_axis", "philox4x32-10/orthogonal-last-axis", False, "Keras")
