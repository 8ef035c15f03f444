"""The block layout of algorithm ``philox4x32-10/box-muller`` v1: part of its definition.

Elements are grouped in blocks of ``4 * LANES`` (computed in float32: float32, float16,
bfloat16) or ``2 * LANES`` (computed in float64). Block ``b`` draws from the Philox stream
keyed by the seed, with counter ``(lane, b mod 2**32, b div 2**32, kind)`` for each lane; in
a float32 block, lane j's four words give the normals at offsets ``j``, ``LANES + j``,
``2 LANES + j`` and ``3 LANES + j`` (radius from words 0 and 2, angle from words 1 and 3);
in a float64 block its words give the normals at ``j`` and ``LANES + j``. So values depend
only on (seed, element index, parameters).

Kept apart from the kernels so that reading it does not load Numba.
"""

from __future__ import annotations

LANES = 256
BLOCK_F32 = 4 * LANES  # elements per block computed in float32 (float32, float16, bfloat16)
BLOCK_F64 = 2 * LANES  # elements per block computed in float64
#: Blocks per task of the parallel kernels: 64 KiB of float32 output, enough to amortize
#: scheduling. It chooses only which thread makes a block, never what is in it.
BLOCKS_PER_TASK = 16

# Counter word 3 is the algorithm's own "kind": no two algorithms (and not the float32 and
# float64 streams of one) ever read the same Philox output for a seed. Each kernel file
# claims its kinds (its ``KIND_*`` constants: normal 1-2, uniform 3-4, truncated normal 5-6;
# a new distribution takes the next free ones), and tests/sampler/test_registry.py checks
# that no two claim the same. The other distributions use the same blocks: in a float32
# block lane j's word w gives element w LANES + j; in a float64 block its words 0-1 give
# element j and words 2-3 element LANES + j.
