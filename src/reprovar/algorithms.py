"""Named, versioned sampler algorithms: what a ledger row names and ``replay`` looks up.

An algorithm is a pure function (seed, element index, parameters, dtype) -> value, for one
distribution (``.distribution``; parameters as in :data:`reprovar.distributions.PARAMETERS`). Its
name and version are recorded with every variable, and once released an algorithm's
values never change: a change of values is a new version, registered beside the old one
so that recorded variables replay bit for bit.

Example:
    >>> import numpy as np
    >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
    >>> x = alg.generate((2, 3), np.dtype("float64"), seed=5, mean=0.0, scale=1.0)
    >>> x.shape
    (2, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import layout
from .errors import ArgumentValueError, OutOfMemoryError, UnknownAlgorithmError
from .validation import dtype_name

#: Below this many elements one thread fills the variable: loading and starting the
#: parallel kernel costs more than it saves (its values are the same either way).
PARALLEL_MIN_ELEMENTS = 1 << 17

# Threads: the parallel kernel runs only where the calling thread may use more than one
# Numba thread (``numba.get_num_threads()``, a per-thread setting). Code that brings its own
# parallelism, such as a Dask task, calls ``numba.set_num_threads(1)`` and so gets the serial
# kernel: no Numba pool under each of its threads, and no concurrent launches of one pool.


def _parallel(target: np.ndarray) -> bool:
    # Large outputs on all threads; a child forked after the parent's threads started runs
    # serially, and so does a thread allowed one Numba thread: the same bits either way.
    if target.size < PARALLEL_MIN_ELEMENTS:  # first: the pieces of a region are many and small
        return False
    from numba import get_num_threads

    from ._jit import parallel_allowed

    return parallel_allowed() and get_num_threads() > 1


#: The output formats every algorithm fills (float16 and bfloat16 as their 16-bit patterns).
_FORMATS = ("float64", "float32", "float16", "bfloat16")


def _check_out(out: np.ndarray, start: int) -> None:
    # What fill() and a filler's fill need of their output, checked before anything is written.
    if out.ndim != 1 or not out.flags.c_contiguous or not out.flags.writeable:
        raise ArgumentValueError("out must be a writeable, C-contiguous 1-D array")
    if not out.dtype.isnative:  # the kernels write this machine's byte order
        raise ArgumentValueError(
            f"out must be in this machine's byte order, got dtype {out.dtype.str!r}; "
            "accepted: native float64, float32, float16 or bfloat16"
        )
    if start < 0:
        raise ArgumentValueError(f"start must be >= 0, got {start}")


def _check_format(dtype: np.dtype, param: str) -> None:
    if dtype_name(dtype) not in _FORMATS:
        raise ArgumentValueError(f"{param}={dtype} is not supported; accepted: {', '.join(_FORMATS)}")


class _BlockAlgorithm:
    """What every Philox block algorithm shares: allocation, and filling any slice of the
    flat variable from whole blocks (made straight into the output) and partial ones (made in
    scratch, then copied). Subclasses say how one run of whole blocks is made."""

    name: str
    version: int
    distribution: str
    #: Every element is made on its own: any piece can be made (``fill``).
    elementwise = True

    def block_size(self, dtype: np.dtype) -> int:
        """Elements per block: the unit in which values are computed."""
        return layout.BLOCK_F64 if dtype == np.float64 else layout.BLOCK_F32

    def generate(self, shape: tuple[int, ...], dtype: np.dtype, *, seed: int, **params) -> np.ndarray:
        """A new C-ordered array of ``shape`` and ``dtype`` (arguments already validated).

        Example:
            >>> import numpy as np
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> alg.generate((3,), np.dtype("float32"), seed=1, mean=0.0, scale=1.0).dtype
            dtype('float32')
        """
        try:
            out = np.empty(shape, dtype)
        except MemoryError:
            nbytes = math.prod(shape) * dtype.itemsize
            raise OutOfMemoryError(
                f"could not allocate {nbytes} bytes for shape={shape} dtype={dtype.name}"
            ) from None
        self.fill(out.reshape(-1), 0, seed=seed, **params)
        return out

    def fill(self, out: np.ndarray, start: int, *, seed: int, **params) -> None:
        """Write elements ``[start, start + out.size)`` of the flat (C-order) variable into ``out``.

        Equal bit for bit to the same slice of the whole variable, for any ``start``; this
        is how a variable can be made in pieces (on several workers, say).

        Example:
            >>> import numpy as np
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> whole = alg.generate((10,), np.dtype("float32"), seed=3, mean=0.0, scale=1.0)
            >>> piece = np.empty(4, np.float32)
            >>> alg.fill(piece, 5, seed=3, mean=0.0, scale=1.0)
            >>> bool((piece == whole[5:9]).all())
            True
        """
        _check_out(out, start)
        _check_format(out.dtype, "out.dtype")
        self._fill_blocks(out, start, seed, self._runner(out.dtype, params))

    def filler(self, dtype: np.dtype, *, seed: int, **params):
        """``fill(out, start)``, equal to :meth:`fill` with these arguments for ``out`` of
        ``dtype``, with the per-call set-up (the parameters' constants) done once: for
        making many pieces of one variable, such as the rows of a column chunk.

        Example:
            >>> import numpy as np
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> fill = alg.filler(np.dtype("float32"), seed=3, mean=0.0, scale=1.0)
            >>> a, b = np.empty(4, np.float32), np.empty(4, np.float32)
            >>> fill(a, 5); alg.fill(b, 5, seed=3, mean=0.0, scale=1.0)
            >>> bool((a == b).all())
            True
        """
        dtype = np.dtype(dtype)
        _check_format(dtype, "dtype")
        plan = self._runner(dtype, params)

        def fill(out: np.ndarray, start: int) -> None:
            if out.dtype != dtype:
                raise ArgumentValueError(f"out must be a {dtype} array (this filler's dtype), got {out.dtype}")
            _check_out(out, start)
            self._fill_blocks(out, start, seed, plan)

        return fill

    def make_into(self, out: np.ndarray, *, seed: int, **params) -> None:
        """Write the whole variable of ``out.shape`` and ``out.dtype`` into ``out`` (C-contiguous).

        Example:
            >>> import numpy as np
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> out = np.empty((2, 2), np.float32)
            >>> alg.make_into(out, seed=3, mean=0.0, scale=1.0)
            >>> bool((out == alg.generate((2, 2), np.dtype("float32"), seed=3, mean=0.0, scale=1.0)).all())
            True
        """
        self.fill(out.reshape(-1), 0, seed=seed, **params)

    def _fill_blocks(self, out: np.ndarray, start: int, seed: int, plan) -> None:
        # plan: (block size, run(dst, first_block, n_blocks, key0, key1)); half precisions are
        # written as their bits (uint16), the kernels compute them in float32 or float64.
        block, run_blocks = plan
        # Of the formats fill() accepts, the half precisions are the 2-byte ones (numpy
        # computes dtype.name in Python: costly for the many small pieces of a region).
        target = out.view(np.uint16) if out.dtype.itemsize == 2 else out
        key0, key1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
        end = start + out.size
        if -(-end // block) > 2**64:
            raise ArgumentValueError(f"start + size = {end} lies beyond the stream's 2**64 blocks")

        def run(dst, first_block, n_blocks):
            run_blocks(dst, first_block, n_blocks, key0, key1)

        def part(lo, hi):  # [lo, hi) within one block: make the block in scratch, copy the part
            b = lo // block
            scratch = np.empty(block, target.dtype)
            run(scratch, b, 1)
            target[lo - start : hi - start] = scratch[lo - b * block : hi - b * block]

        inner_lo, inner_hi = -(-start // block), end // block  # the whole blocks inside [start, end)
        if inner_lo > inner_hi:  # start and end fall in the same block
            part(start, end)
            return
        if start < inner_lo * block:
            part(start, inner_lo * block)
        if inner_lo < inner_hi:  # the bulk goes straight into `out`
            run(target[inner_lo * block - start : inner_hi * block - start], inner_lo, inner_hi - inner_lo)
        if inner_hi * block < end:
            part(inner_hi * block, end)

    def _runner(self, dtype: np.dtype, params: dict):
        raise NotImplementedError


@dataclass(frozen=True)
class PhiloxBoxMuller(_BlockAlgorithm):
    """Philox4x32-10 bits, Box-Muller normals, block layout of :mod:`reprovar.layout`.

    Float32, float16 and bfloat16 values are computed in float32 arithmetic (half
    precisions are the correctly rounded float32 value); float64 values in float64.
    """

    name: str = "philox4x32-10/box-muller"
    version: int = 1
    distribution: str = "normal"

    def fill(self, out: np.ndarray, start: int, *, seed: int, mean: float, scale: float) -> None:
        super().fill(out, start, seed=seed, mean=mean, scale=scale)

    fill.__doc__ = _BlockAlgorithm.fill.__doc__

    def _runner(self, dtype: np.dtype, params: dict):
        compute = np.float64 if dtype == np.float64 else np.float32
        m, s = compute(params["mean"]), compute(params["scale"])
        bfloat = dtype_name(dtype) == "bfloat16"

        def run(target, first_block, n_blocks, key0, key1):
            from . import kernels  # loads Numba: deferred so that `import reprovar` (and the CLI) stays light

            fill = kernels.fill_blocks_parallel if _parallel(target) else kernels.fill_blocks
            fill(target, np.uint64(first_block), n_blocks, key0, key1, m, s, bfloat)

        return self.block_size(dtype), run


@dataclass(frozen=True)
class PhiloxUniform(_BlockAlgorithm):
    """Philox4x32-10 bits, uniform on [low, high): 24 random bits per float32 value (and per
    float16/bfloat16 value, rounded from float32), 53 per float64 value.

    ``value = 2 (a/2 + u (b/2 - a/2))`` in the compute type (float32, or float64 for
    float64), then clamped to [first, last], the smallest and largest values of the output
    format in [low, high): rounding can never give ``high`` or anything below ``low``.
    ``[a, b) = [low, high)``, except for float16 and bfloat16, where it is narrowed to the
    reals that round into [first, last] (see :func:`reprovar.distributions.uniform_constants`).
    """

    name: str = "philox4x32-10/uniform"
    version: int = 1
    distribution: str = "uniform"

    def fill(self, out: np.ndarray, start: int, *, seed: int, low: float, high: float) -> None:
        super().fill(out, start, seed=seed, low=low, high=high)

    fill.__doc__ = _BlockAlgorithm.fill.__doc__

    def _runner(self, dtype: np.dtype, params: dict):
        from .distributions import uniform_constants

        prm = uniform_constants(float(params["low"]), float(params["high"]), dtype)
        bfloat = dtype_name(dtype) == "bfloat16"

        def run(target, first_block, n_blocks, key0, key1):
            from . import distribution_kernels as k

            fill = k.fill_uniform_parallel if _parallel(target) else k.fill_uniform
            fill(target, np.uint64(first_block), n_blocks, key0, key1, prm, bfloat)

        return self.block_size(dtype), run


#: Intervals narrower than this (in standard deviations) are computed in float64 for every
#: output format: float32 arithmetic would resolve them too coarsely.
NARROW_TRUNCATION = 2.0**-6


@dataclass(frozen=True)
class PhiloxTruncatedNormal(_BlockAlgorithm):
    """Philox4x32-10 bits, normal truncated to [low, high] by inversion of its distribution function.

    Exact for any interval, however far into a tail: see :mod:`reprovar.distributions` and
    docs/sampler.md. Computed in float32 for float32, float16 and bfloat16 (one 32-bit word per value)
    unless the interval is narrower than :data:`NARROW_TRUNCATION` standard deviations, in
    float64 otherwise (two words per value, float64 blocks); values are clamped to the output
    format's own values in [low, high].
    """

    name: str = "philox4x32-10/truncated-normal"
    version: int = 1
    distribution: str = "truncated_normal"

    def fill(self, out: np.ndarray, start: int, *, seed: int, mean: float, scale: float,
             low: float, high: float) -> None:
        super().fill(out, start, seed=seed, mean=mean, scale=scale, low=low, high=high)

    fill.__doc__ = _BlockAlgorithm.fill.__doc__

    def computes_in_float64(self, dtype: np.dtype, mean: float, scale: float, low: float, high: float) -> bool:
        """Whether values of ``dtype`` are computed in float64 (always for float64; narrow intervals)."""
        if dtype == np.float64:
            return True
        return (high - low) < NARROW_TRUNCATION * scale

    def _runner(self, dtype: np.dtype, params: dict):
        from .distributions import truncnorm_constants

        mean, scale = float(params["mean"]), float(params["scale"])
        low, high = float(params["low"]), float(params["high"])
        wide = self.computes_in_float64(dtype, mean, scale, low, high)
        method, prm = truncnorm_constants(mean, scale, low, high, dtype)
        if wide and dtype != np.float64:
            # Same bounds (the output format's), float64 constants and arithmetic.
            method, prm64 = truncnorm_constants(mean, scale, low, high, np.dtype(np.float64))
            prm = prm64[:-2] + tuple(np.float64(b) for b in prm[-2:])
        bfloat = dtype_name(dtype) == "bfloat16"

        def run_kernel(target, first_block, n_blocks, key0, key1):
            from . import distribution_kernels as k

            parallel = _parallel(target)
            if method == "far":
                fill = k.fill_truncnorm_far_parallel if parallel else k.fill_truncnorm_far
            elif method == "central":
                fill = k.fill_truncnorm_central_parallel if parallel else k.fill_truncnorm_central
            else:
                fill = k.fill_truncnorm_icdf_parallel if parallel else k.fill_truncnorm_icdf
            fill(target, np.uint64(first_block), n_blocks, key0, key1, prm, bfloat)

        if not wide or dtype == np.float64:
            return self.block_size(dtype), run_kernel

        def run_wide(target, first_block, n_blocks, key0, key1):
            # float64 values rounded to the output format, a bounded chunk at a time.
            block = layout.BLOCK_F64
            chunk = 1 << 8  # blocks
            values = np.empty(min(n_blocks, chunk) * block, np.float64)
            for b in range(0, n_blocks, chunk):
                n = min(chunk, n_blocks - b)
                run_kernel(values[: n * block], first_block + b, n, key0, key1)
                target[b * block : (b + n) * block] = values[: n * block].astype(dtype).view(target.dtype)

        return layout.BLOCK_F64, run_wide


class PhiloxOrthogonal:
    """A random orthogonal matrix (Haar measure), times ``scale`` (the gain).

    The variable's shape is read as a matrix of ``rows x cols`` (``rows = shape[0]``, ``cols``
    the product of the rest, as ``torch.nn.init.orthogonal_`` does; for
    ``orthogonal_last_axis``, ``rows`` is the product of all axes but the last, as Keras'
    ``Orthogonal`` does). With ``m = max(rows, cols)`` and ``n = min(rows, cols)``, the normal
    variable of shape ``(m, n)`` (``philox4x32-10/box-muller`` v1, mean 0, scale 1, same seed)
    is reduced by the Householder QR of :mod:`reprovar.orthogonal_kernels`; ``Q`` times the
    signs of ``R``'s diagonal (+1 for a zero) is Haar distributed, and times ``scale`` gives the
    values, transposed when ``rows < cols`` (orthonormal rows then, orthonormal columns
    otherwise). Float32, float16 and bfloat16 values are computed in float32 (the half
    precisions rounded from it), float64 values in float64.

    Its values depend on the whole matrix, so unlike the elementwise algorithms it has no
    ``fill`` of a piece: :meth:`generate` and :meth:`make_into` make the whole variable.

    Example:
        >>> import numpy as np
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
            >>> alg = get_algorithm("philox4x32-10/orthogonal", 1)
            >>> out = np.empty((3, 3), np.float64)
            >>> alg.make_into(out, seed=2, scale=1.0)
            >>> bool((out == alg.generate((3, 3), np.dtype("float64"), seed=2, scale=1.0)).all())
            True
        """
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ArgumentValueError("out must be a writeable, C-contiguous array")
        _check_format(out.dtype, "out.dtype")
        rows, cols = self.matrix_shape(out.shape)
        if out.size == 0:
            return
        compute = np.dtype(np.float64 if out.dtype == np.float64 else np.float32)
        m, n = max(rows, cols), min(rows, cols)
        a = DEFAULT_ALGORITHM.generate((m, n), compute, seed=seed, mean=0.0, scale=1.0)
        from . import orthogonal_kernels  # loads Numba: deferred, as for the other kernels

        q = np.empty((m, n), compute)
        diag = np.empty(n, compute)
        orthogonal_kernels.orthonormal(a, q, diag, parallel=_parallel(a))
        # sign(R_kk) (+1 for 0) times the gain: exact signs, then one rounding per value.
        factors = np.where(diag < 0, -compute.type(scale), compute.type(scale)).astype(compute)
        q *= factors
        matrix = q if rows >= cols else q.T
        if out.dtype == compute:
            out.reshape(rows, cols)[...] = matrix
        else:
            out.reshape(rows, cols)[...] = matrix.astype(out.dtype)

    def fill(self, out: np.ndarray, start: int, *, seed: int, scale: float) -> None:
        """Refused: an orthogonal matrix's values depend on the whole matrix (see :meth:`generate`)."""
        raise ArgumentValueError(
            f"{self.name} values depend on the whole matrix, so no piece of it can be made on "
            "its own; make the whole variable (generate, reprovar.replay)"
        )

    def filler(self, dtype: np.dtype, *, seed: int, **params):
        """Refused, as :meth:`fill`."""
        self.fill(np.empty(0, dtype), 0, seed=seed, **params)


_REGISTRY = {
    (a.name, a.version): a
    for a in (
        PhiloxBoxMuller(),
        PhiloxUniform(),
        PhiloxTruncatedNormal(),
        PhiloxOrthogonal("philox4x32-10/orthogonal", "orthogonal", rows_are_first_axis=True),
        PhiloxOrthogonal("philox4x32-10/orthogonal-last-axis", "orthogonal_last_axis", rows_are_first_axis=False),
    )
}

#: The algorithm new normal variables are made with.
DEFAULT_ALGORITHM = _REGISTRY[("philox4x32-10/box-muller", 1)]

_DEFAULTS = {
    "normal": DEFAULT_ALGORITHM,
    "uniform": _REGISTRY[("philox4x32-10/uniform", 1)],
    "truncated_normal": _REGISTRY[("philox4x32-10/truncated-normal", 1)],
    "orthogonal": _REGISTRY[("philox4x32-10/orthogonal", 1)],
    "orthogonal_last_axis": _REGISTRY[("philox4x32-10/orthogonal-last-axis", 1)],
}


def default_algorithm(distribution: str):
    """The algorithm new variables of ``distribution`` are made with.

    Example:
        >>> default_algorithm("uniform").name
        'philox4x32-10/uniform'
    """
    try:
        return _DEFAULTS[distribution]
    except (KeyError, TypeError):
        raise ArgumentValueError(
            f"distribution must be one of {', '.join(map(repr, _DEFAULTS))}, got {distribution!r}"
        ) from None


def get_algorithm(name: str, version: int):
    """The registered algorithm ``name`` at ``version``.

    Example:
        >>> get_algorithm("philox4x32-10/box-muller", 1).version
        1
    """
    try:
        return _REGISTRY[(name, version)]
    except KeyError:
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
    return sorted(_REGISTRY)
