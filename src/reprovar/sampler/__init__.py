"""The sampler: Philox bits, transforms, block layout and the Numba kernels; numpy and Numba only.

Nothing here knows about ledgers, recording or frameworks (``tests/test_layers.py`` checks the
imports). Every value is a pure function of (algorithm, seed, element index, parameters):

- :mod:`.bits` — the Philox4x32-10 counter-based generator;
- :mod:`.transforms` — words to values (uniform units, Box-Muller, normal quantiles, narrowing);
- :mod:`.layout` — blocks, lanes and counter kinds, which fix which words make which element;
- :mod:`.formats` — the output formats and their values;
- :mod:`.blocks` — filling any slice of a variable from whole and partial blocks;
- :mod:`.region` — filling a rectangular region from runs of elements;
- :mod:`.kernels` — one file per distribution (and the shared block machinery, ``words.py``);
- :mod:`._jit` — the one JIT policy; its cache key covers every file of this package.

Importing this package loads nothing heavy: Numba loads with the first kernel used.
"""
