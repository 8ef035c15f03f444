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
import math
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
UNIFORM = "philox4x32-10/uniform"
TRUNCATED_NORMAL = "philox4x32-10/truncated-normal"
ORTHOGONAL = "philox4x32-10/orthogonal"
ORTHOGONAL_LAST_AXIS = "philox4x32-10/orthogonal-last-axis"

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
    # philox4x32-10/uniform v1 and philox4x32-10/truncated-normal v1, frozen at their release;
    # the truncated-normal rows reach each method: the +-2 sigma rational, the general
    # inversion, the far-tail offset solve, float64 arithmetic for a narrow interval.
    FrozenCase(UNIFORM, 1, (2, 3), "float32", 0, {"low": 0.0, "high": 1.0},
               "95a9c4274210a39a7bf02ecaf70bb5e9b907b8e5e288daa31e8a4f4a80c55600"),
    FrozenCase(UNIFORM, 1, (300_001,), "float64", 2**32 + 5, {"low": -3.0, "high": 1e-3},
               "eb2e92ea1585b56a5b4f1a79a99817e6f56cef247ba7e73bea4809e577358ff1"),
    FrozenCase(UNIFORM, 1, (999,), "float16", 2**64 - 1, {"low": 0.0, "high": 1.0},
               "b7b0f7d8b25b6812ac5f89d9e8364a4e117019e5bb0a086ef4372e4f9768d90a"),
    FrozenCase(UNIFORM, 1, (513, 3), "bfloat16", 42, {"low": -0.5, "high": 0.5},
               "8f961e0bfefa581ccc8d1fea561830c64daabd107760a1e230f03a5a9f228e7b"),
    FrozenCase(UNIFORM, 1, (300_001,), "float32", 31337, {"low": -1e30, "high": 3e38},
               "08fb55057d5bd3a6e24d3f98e6638d7b56fcfa52b5b11974c5f61feccd5f345a"),
    FrozenCase(TRUNCATED_NORMAL, 1, (1000, 37), "float32", 42, {"mean": 0.0, "scale": 1.0, "low": -2.0, "high": 2.0},
               "4bacafe9d89d61963dd87f8d9474fdb9411dd6440c362af1d5ec61ecf2356f53"),
    FrozenCase(TRUNCATED_NORMAL, 1, (300_001,), "float64", 2**32 + 5, {"mean": 0.0, "scale": 1.0, "low": -2.0, "high": 2.0},
               "ee97e7d824f88ab1df786a41f759d84ce670f35591850cc0bdc29af39c20ad9a"),
    FrozenCase(TRUNCATED_NORMAL, 1, (300_001,), "float32", 7, {"mean": 1.0, "scale": 3.0, "low": 8.5, "high": 13.0},
               "35d080bba14d8affe123d5d7968eb61c77f94e19d3af01f37a21eae3ecd77cdc"),
    FrozenCase(TRUNCATED_NORMAL, 1, (999,), "float16", 2**64 - 1, {"mean": 0.0, "scale": 1.0, "low": -math.inf, "high": -1.0},
               "55245debc8346eced3e919f580ef921372a905c39f117edaf464a96f2876a79f"),
    FrozenCase(TRUNCATED_NORMAL, 1, (513, 3), "bfloat16", 3, {"mean": 0.0, "scale": 0.1, "low": -0.2, "high": 0.2},
               "4ae39db77407c15a20d2dafd765b2a16a289f796ce1d759eb78d63bb96190e75"),
    FrozenCase(TRUNCATED_NORMAL, 1, (4097,), "float64", 11, {"mean": -1.0, "scale": 2.0, "low": 60.0, "high": 61.0},
               "3bbceacfde628036a9d0973623a62868b1c460c8cb0900036427d132c07d703a"),
    FrozenCase(TRUNCATED_NORMAL, 1, (4097,), "float32", 11, {"mean": 0.0, "scale": 1.0, "low": 25.0, "high": math.inf},
               "5b541d9749405c324d33de3ba637093ef5c4a161b574d6c73c5e89cefeb604b6"),
    FrozenCase(TRUNCATED_NORMAL, 1, (4097,), "float16", 11, {"mean": 0.0, "scale": 1.0, "low": 0.25, "high": 0.26},
               "bbb500f8cd9e122b8760585c34a9fcae9998df17b714643d1431c328717a2cfa"),
    # philox4x32-10/orthogonal v1 and philox4x32-10/orthogonal-last-axis v1, frozen at their
    # release: square, wide (transposed), tall and 4-D shapes, a negative gain, every dtype, and
    # a matrix of PARALLEL_MIN_ELEMENTS or more elements (the parallel QR kernels).
    FrozenCase(ORTHOGONAL, 1, (2, 2), "float32", 0, {"scale": 1.0},
               "419f3a249687daf29ca1a233273966e3ccf91fd3770f98112f24df1905742d57"),
    FrozenCase(ORTHOGONAL, 1, (400, 400), "float32", 2**32 + 7, {"scale": 1.0},
               "98d1c7da0fc52dc9241b09ddb7fbc7792b159af231e5eae523773c8a22be4c8c"),
    FrozenCase(ORTHOGONAL, 1, (128, 512), "float64", 42, {"scale": 2.0},
               "dc33299f0549b1739622d10739f0905a63c981820449ab3f5d5f234203051ce7"),
    FrozenCase(ORTHOGONAL, 1, (64, 3, 3, 3), "float16", 2**64 - 1, {"scale": 1.0},
               "525387fb595437bc1dea0d3d02a5724b17da58a5d2c3ef45cd2b968dee1bfe76"),
    FrozenCase(ORTHOGONAL, 1, (33, 17), "bfloat16", 5, {"scale": -0.5},
               "3b97a625245adf18e945519362d3eb2279e4dd655b8b9b88f841c399c457c29c"),
    FrozenCase(ORTHOGONAL_LAST_AXIS, 1, (3, 3, 8, 40), "float32", 2**40 + 3, {"scale": 1.0},
               "9749de820e538aec3aa99dc972a3854074e046f149c622dea691bfc5df56f5aa"),
    FrozenCase(ORTHOGONAL_LAST_AXIS, 1, (2, 5, 7), "float64", 9, {"scale": 1.4142135623730951},
               "ec84a60d1751cefd99793773f7ce7c3629c30b525809aeb9a79c94293846098a"),

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

