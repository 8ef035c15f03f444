"""Per-name seeds derived from a model seed: frozen known answers and the properties they give."""

from __future__ import annotations

import hashlib

import pytest

from reprovar.errors import ArgumentTypeError, ArgumentValueError
from reprovar.seeding import NAME_KEY_PERSON, derive_seed, model_seed, name_key

def test_known_answers():
    # Frozen: a ledger row's seed means derive_seed(model seed, name) for ever. A change of
    # these values would make init_module(model, seed=S) give other values than it recorded.
    assert name_key("0.weight") == 0x849A0FE798BFACBB
    assert derive_seed(0, "0.weight") == 0x849A0FE798BFACBB
    assert derive_seed(42, "0.weight") == 0x849A0FE798BFACBB ^ 42
    assert derive_seed(2**64 - 1, "dense/kernel") == 0x69138E4DB3DCF163
    assert derive_seed(123456789, "ünïcode/名前") == 0xD72F442EB9FC9F94


def test_definition_blake2b_of_the_utf8_name():
    for name in ("a", "layers.3.weight", "ünïcode/名前", "x" * 255):
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, person=NAME_KEY_PERSON).digest()
        assert name_key(name) == int.from_bytes(digest, "little")
        assert derive_seed(99, name) == 99 ^ int.from_bytes(digest, "little")


def test_seed_depends_on_its_own_name_only():
    names = [f"layers.{i}.weight" for i in range(200)] + [f"layers.{i}.bias" for i in range(200)]
    seeds = [derive_seed(5, n) for n in names]
    assert len(set(seeds)) == len(seeds)
    # Inserting a name changes no other name's seed: there is no running state.
    assert derive_seed(5, "layers.7.weight") == seeds[7]
    assert all(0 <= s < 2**64 for s in seeds)
    assert derive_seed(6, "layers.0.weight") != derive_seed(5, "layers.0.weight")


def test_model_seed_is_recovered_from_any_derived_seed():
    for s in (0, 1, 2**63, 2**64 - 1):
        for name in ("0.weight", "encoder.norm.bias", "名前"):
            assert model_seed(derive_seed(s, name), name) == s


def test_bad_input():
    with pytest.raises(ArgumentTypeError, match="name must be a str"):
        derive_seed(1, b"bytes")
    with pytest.raises(ArgumentValueError, match="seed must be an int in"):
        derive_seed(-1, "w")
    with pytest.raises(ArgumentTypeError, match="seed must be an int"):
        derive_seed(1.5, "w")
