"""Seeds: fresh ones from the OS for ``seed=None``, and per-name seeds derived from a model seed.

Per-name derivation is what lets one seed reproduce a whole model while every parameter gets
a stream of its own: ``derive_seed(model_seed, name)`` depends only on the seed and the
parameter's own name, never on how many parameters came before it, so inserting or removing
a layer leaves every other layer's values unchanged (PyTorch's global generator does not:
a new layer shifts the stream of every layer built after it).

The derivation is part of what a ledger row means and is frozen::

    derive_seed(seed, name) = seed XOR name_key(name)
    name_key(name) = int.from_bytes(BLAKE2b(UTF-8 name, digest_size=8,
                                            person=b"reprovar/name/v1"), "little")

XOR with a keyed hash of the name makes the map invertible: the model seed is
``derive_seed(record.seed, record.name)`` for any recorded parameter (see
:func:`model_seed`), so a model initialized with ``seed=None`` can be initialized again from
its ledger rows alone, with no extra row. Distinct names give distinct seeds unless their
64-bit keys collide (probability about 2**-64 per pair).
"""

from __future__ import annotations

import hashlib
import secrets

SEED_BITS = 64

#: BLAKE2b personalization of name keys: changing it would change every derived seed.
NAME_KEY_PERSON = b"reprovar/name/v1"


def fresh_seed() -> int:
    """A uniformly random seed in [0, 2**64) from the OS entropy pool.

    It neither reads nor advances numpy's, Python's or Numba's global random state, so
    drawing a seed never changes what the rest of a program samples.

    Example:
        >>> 0 <= fresh_seed() < 2**64
        True
    """
    return secrets.randbits(SEED_BITS)


def name_key(name: str) -> int:
    """The 64-bit key of ``name``: the first 8 bytes (little-endian) of its personalized BLAKE2b.

    Example:
        >>> name_key("0.weight")
        9554967046794489019
    """
    if not isinstance(name, str):
        from .errors import ArgumentTypeError

        raise ArgumentTypeError(f"name must be a str, got {type(name).__name__}")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=NAME_KEY_PERSON).digest()
    return int.from_bytes(digest, "little")


def derive_seed(seed: int, name: str) -> int:
    """The seed of the variable ``name`` within a model seeded with ``seed``.

    Frozen: ``seed ^ name_key(name)``. It depends on nothing but ``seed`` and ``name``.

    Example:
        >>> derive_seed(42, "0.weight")
        9554967046794488977
        >>> derive_seed(42, "0.weight") != derive_seed(42, "0.bias")
        True
    """
    from .validation import check_seed

    return check_seed(seed) ^ name_key(name)


def model_seed(derived: int, name: str) -> int:
    """The model seed that :func:`derive_seed` turned into ``derived`` for ``name``.

    Applied to any recorded parameter (``model_seed(record.seed, record.name)``), it gives
    back the seed its whole model was initialized with, drawn from the OS or not.

    Example:
        >>> model_seed(derive_seed(42, "encoder.layers.0.linear1.weight"), "encoder.layers.0.linear1.weight")
        42
    """
    return derive_seed(derived, name)
