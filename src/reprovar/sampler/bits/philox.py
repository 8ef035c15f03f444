"""Philox4x32-10, the counter-based bit generator of Random123 (Salmon et al., SC'11).

A counter-based generator has no state to carry: the 128 output bits are a pure function
of a 128-bit counter and a 64-bit key, so any element of any stream can be computed
directly, in any order, on any thread.

``philox4x32_lanes`` evaluates many consecutive counters at once, with the four words kept
in separate arrays (structure of arrays) so that LLVM turns the rounds into packed
32x32->64-bit multiplies.
"""

from __future__ import annotations

import numpy as np

from .._jit import inline_kernel, kernel

PHILOX_ROUNDS = 10

_M0 = np.uint64(0xD2511F53)  # round multipliers
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)  # Weyl key increments (golden ratio, sqrt(3) - 1)
_W1 = np.uint64(0xBB67AE85)
_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


@inline_kernel
def _rounds(c0, c1, c2, c3, k0, k1):
    # Words are uint64 holding 32-bit values, so each product is the exact 64-bit one.
    for r in range(PHILOX_ROUNDS):
        if r > 0:
            k0 = (k0 + _W0) & _LOW32
            k1 = (k1 + _W1) & _LOW32
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _SHIFT32) ^ c1 ^ k0, p1 & _LOW32, (p0 >> _SHIFT32) ^ c3 ^ k1, p0 & _LOW32
    return c0, c1, c2, c3


@kernel
def philox4x32(counter, key):
    """Philox4x32-10 of one 128-bit counter (4 x uint32, word 0 first) under a 64-bit key (2 x uint32).

    Example:
        >>> import numpy as np
        >>> out = philox4x32(np.zeros(4, np.uint32), np.zeros(2, np.uint32))
        >>> [hex(w) for w in out]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    c = _rounds(
        np.uint64(counter[0]), np.uint64(counter[1]), np.uint64(counter[2]), np.uint64(counter[3]),
        np.uint64(key[0]), np.uint64(key[1]),
    )
    out = np.empty(4, np.uint32)
    out[0], out[1], out[2], out[3] = c[0], c[1], c[2], c[3]
    return out


@kernel
def philox4x32_lanes(ctr1, ctr2, ctr3, k0, k1, x0, x1, x2, x3):
    """Fill ``x0..x3[j]`` with Philox4x32-10 of counter ``(j, ctr1, ctr2, ctr3)`` for every lane j.

    Counter words 1-3 and the key words are uint64 holding 32-bit values; word 0 is the
    lane index, so ``len(x0)`` consecutive counters are evaluated in one vectorized loop.

    Example:
        >>> import numpy as np
        >>> x = [np.empty(8, np.uint32) for _ in range(4)]
        >>> philox4x32_lanes(np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0), *x)
        >>> hex(x[0][0])
        '0x6627e8d5'
    """
    for j in range(x0.shape[0]):
        c = _rounds(np.uint64(j), ctr1, ctr2, ctr3, k0, k1)
        x0[j] = c[0]
        x1[j] = c[1]
        x2[j] = c[2]
        x3[j] = c[3]
