"""Fresh seeds for ``seed=None``: from the operating system, never from a global RNG."""

from __future__ import annotations

import secrets

SEED_BITS = 64


def fresh_seed() -> int:
    """A uniformly random seed in [0, 2**64) from the OS entropy pool.

    It neither reads nor advances numpy's, Python's or Numba's global random state, so
    drawing a seed never changes what the rest of a program samples.

    Example:
        >>> 0 <= fresh_seed() < 2**64
        True
    """
    return secrets.randbits(SEED_BITS)
