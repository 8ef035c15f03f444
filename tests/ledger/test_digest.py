"""The digest: fixed scheme and leaf size, independent of threads; mismatches are caught."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import xxhash

from reprovar.errors import LedgerError
from reprovar.ledger import digest as digests


def _reference(data: bytes) -> str:
    """The scheme written out plainly: XXH3-128 of the leaf digests and the length."""
    leaf = digests.LEAF_BYTES
    leaves = [data[i : i + leaf] for i in range(0, len(data), leaf)] or [b""]
    root = b"".join(xxhash.xxh3_128_digest(x) for x in leaves) + len(data).to_bytes(8, "little")
    return "xxh3-128-tree4m:" + xxhash.xxh3_128_hexdigest(root)


@pytest.mark.parametrize("nbytes", [0, 1, 24, digests.LEAF_BYTES, digests.LEAF_BYTES + 1, 5 * digests.LEAF_BYTES + 3])
def test_digest_follows_the_scheme_serial_and_threaded(nbytes):
    data = np.random.default_rng(nbytes).integers(0, 256, nbytes, dtype=np.uint8)
    expected = _reference(data.tobytes())
    assert digests.digest(data) == digests.digest(data, parallel=False) == expected


def test_known_answer():
    # Frozen: a change here means old ledgers no longer verify.
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert digests.digest(a) == "xxh3-128-tree4m:" + xxhash.xxh3_128_hexdigest(
        xxhash.xxh3_128_digest(a.tobytes()) + (24).to_bytes(8, "little")
    )


def test_digest_covers_bytes_in_c_order_for_every_dtype():
    for dtype in (np.float32, np.float64, np.float16, ml_dtypes.bfloat16):
        a = np.linspace(-1, 1, 12).astype(dtype).reshape(3, 4)
        assert digests.digest(a) == _reference(a.tobytes())
        assert digests.digest(np.asfortranarray(a)) == _reference(a.tobytes())


def test_matches_detects_a_single_flipped_bit():
    a = np.zeros(3 * digests.LEAF_BYTES // 4, dtype=np.float32)
    recorded = digests.digest(a)
    b = a.copy()
    b.view(np.uint8)[digests.LEAF_BYTES + 7] ^= 1
    assert digests.matches(a, recorded) == (True, recorded)
    ok, actual = digests.matches(b, recorded)
    assert not ok and actual != recorded


def test_unknown_scheme_is_a_clear_error():
    with pytest.raises(LedgerError, match="scheme 'sha1', unknown"):
        digests.matches(np.zeros(2), "sha1:abcd")


@pytest.mark.parametrize("nbytes", [0, 5, digests.LEAF_BYTES, 2 * digests.LEAF_BYTES + 9])
def test_leaves_hashed_apart_combine_to_the_digest(nbytes):
    data = np.random.default_rng(nbytes + 1).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    ranges = digests.leaf_ranges(nbytes)
    assert len(ranges) == digests.leaf_count(nbytes) and ranges[-1][1] == nbytes
    leaves = [digests.leaf_digest(data[lo:hi]) for lo, hi in ranges]
    expected = _reference(data)
    assert digests.combine(leaves, nbytes) == digests.combine(b"".join(leaves), nbytes) == expected
    with pytest.raises(ValueError, match="leaf_digests must hold"):
        digests.combine(leaves + [leaves[0]], nbytes)
