"""One place for the JIT policy of every kernel, and the bit casts the kernels need.

Policy: compiled code is cached on disk (compiles take seconds), releases the GIL, and
keeps IEEE semantics (no ``fastmath``: reassociation or fused multiply-add would make the
bits depend on the CPU). The generic CPU-target test in ``tests/sampler`` checks this.
"""

from __future__ import annotations

from numba import njit, types
from numba.extending import intrinsic

__all__ = [
    "JIT_POLICY",
   "kernel", "inline_kernel", "parallel_kernel", "f32_bits", "f32_from_bits", "f64_bits", "f64_from_bits"]

JIT_POLICY = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", boundscheck=False)


def kernel(fn):
    """Compile ``fn`` as a serial kernel under the package policy."""
    return njit(**JIT_POLICY)(fn)


def inline_kernel(fn):
    """Compile ``fn`` to be inlined into its callers at Numba IR level.

    Exception to the default for the small pieces of per-element math: LLVM's inliner gives up
    on large callees, and a call left in a loop body stops the loop from being vectorized.
    """
    return njit(inline="always", **JIT_POLICY)(fn)


def parallel_kernel(fn):
    """Compile ``fn`` as a ``prange`` kernel under the package policy."""
    return njit(parallel=True, **JIT_POLICY)(fn)


def _bitcast(src, dst):
    @intrinsic
    def cast(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(dst))

        return dst(src), codegen

    return cast


# Reinterpretations (not conversions) of a float's IEEE bits; LLVM keeps them in vector registers.
f32_bits = _bitcast(types.float32, types.uint32)
f32_from_bits = _bitcast(types.uint32, types.float32)
f64_bits = _bitcast(types.float64, types.uint64)
f64_from_bits = _bitcast(types.uint64, types.float64)
