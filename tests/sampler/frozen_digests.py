"""Frozen digests of every registered sampler algorithm: the one table of released values.

A case names an algorithm and the arguments of its ``generate``; its digest is the sha256 of
the C-order bytes that ``generate`` returns. The digests were recorded when the algorithm was
released and never change: a mismatch means the values changed, and that must be a new
algorithm version registered beside the old one, never an edit of a released one.

Two checkers read this table:

- ``tests/sampler/test_reproducibility.py`` on the machine running the tests (x86-64), and
- ``tools/check_frozen_digests.py``, which ``tools/check_aarch64.sh`` runs on aarch64 under
  emulation (it loads this file by path, so it must import nothing from the tests).

Adding an algorithm: append ``FrozenCase`` rows for it, one per dtype at least (float32,
float64, float16, bfloat16), with seeds and parameters that reach its edge cases (a seed at
or above 2**32 so the key's high word is used, a shape of at least
``reprovar.algorithms.PARALLEL_MIN_ELEMENTS`` elements so the parallel kernel runs). Compute
a new row's digest with ``digest(case)``, once, from the released code. ``params`` are the
algorithm's keyword arguments besides ``seed``, as Python floats (``math.inf`` where a bound
is infinite). Every registered algorithm must have at least one row: the tests fail
otherwise.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np


class FrozenCase(NamedTuple):
    """One released output: ``algorithm`` v``version``, ``generate(shape, dtype, seed=seed, **params)``."""

    algorithm: str
    version: int
    shape: tuple[int, ...]
    dtype: str  # "float32", "float64", "float16" or "bfloat16"
    seed: int
    params: dict[str, float]
    sha256: str

    def label(self) -> str:
        """A short name for messages and test ids."""
        params = ",".join(f"{k}={v!r}" for k, v in self.params.items())
        shape = "x".join(map(str, self.shape))
        return f"{self.algorithm}-v{self.version}-{self.dtype}-{shape}-seed={self.seed}-{params}"


BOX_MULLER = "philox4x32-10/box-muller"

FROZEN: list[FrozenCase] = [
    # philox4x32-10/box-muller v1 (normal), frozen at its release.
    FrozenCase(BOX_MULLER, 1, (2, 3), "float32", 0, {"mean": 0.0, "scale": 1.0},
               "2424f26273fce9dcc16cc24280d740e50a6829d78f81443657ccd325dfc77067"),
    FrozenCase(BOX_MULLER, 1, (1000, 37), "float32", 42, {"mean": 0.0, "scale": 1.0},
               "d97ffdfc23815da0a6f30bebd60c2e78a7879b5e69bffe31c8c56eefcbcdc3fe"),
    FrozenCase(BOX_MULLER, 1, (1000, 37), "float64", 42, {"mean": 0.0, "scale": 1.0},
               "55b3e20efdc0f832ad15bd88336107e45b0987779d72a415ecd788267ffc18ac"),
    FrozenCase(BOX_MULLER, 1, (999,), "float16", 2**64 - 1, {"mean": -3.0, "scale": 0.5},
               "efadb01874a49d43135023546c25acccd9358608705bb7f4a493ef5762cf4451"),
    FrozenCase(BOX_MULLER, 1, (513, 3), "bfloat16", 2**32, {"mean": 10.0, "scale": 4.0},
               "bc4c36ab4643ebd8faf01ddd7d96f9be8204b8fa2ba6dddb341c075612dfa6a9"),
    FrozenCase(BOX_MULLER, 1, (300_001,), "float64", 31337, {"mean": 1e-3, "scale": 1e3},
               "b2390b9590efb65ffa9c4076a5fc067c0617c321200d3f07aaece208c7936a5e"),
]


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype a case's ``dtype`` names (bfloat16 comes from ml_dtypes)."""
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def digest(case: FrozenCase) -> str:
    """sha256 hex digest of what the installed reprovar generates for ``case`` today."""
    from reprovar.algorithms import get_algorithm

    algorithm = get_algorithm(case.algorithm, case.version)
    values = algorithm.generate(case.shape, numpy_dtype(case.dtype), seed=case.seed, **case.params)
    assert values.shape == case.shape and values.flags.c_contiguous, case.label()
    return hashlib.sha256(values.tobytes()).hexdigest()


def uncovered(registered: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The registered (name, version) pairs that have no row in ``FROZEN``."""
    covered = {(c.algorithm, c.version) for c in FROZEN}
    return [a for a in registered if a not in covered]

