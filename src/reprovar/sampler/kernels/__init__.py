"""The compiled kernels, one file per distribution: ``normal`` (Box-Muller), ``uniform``,
``truncated_normal`` and ``orthogonal`` (the Householder QR); ``words`` holds the blocks and
tasks of the kernels that make one value per word. Importing a kernel module loads Numba."""
