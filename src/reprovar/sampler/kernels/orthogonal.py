"""Householder QR kernels for the orthogonal algorithm: a fixed order of operations.

Arithmetic: the matrix ``a`` (``m x n``, ``m >= n``, C order) is reduced column by column
with Householder reflectors ``H_k = I - tau_k v_k v_k^T`` (``v_k[k] = 1``, the rest stored
below the diagonal of ``a``), as LAPACK's ``geqr2`` does: for column ``k``,

* ``ss = a[k,k]^2``, then ``ss = ss + a[i,k]^2`` for ``i = k+1 .. m-1`` in that order;
  ``norm = sqrt(ss)`` (IEEE square root), ``beta = -norm`` if ``a[k,k] >= 0`` else ``norm``;
* ``v_i = a[i,k] / (a[k,k] - beta)``, ``tau_k = (beta - a[k,k]) / beta``; ``R[k,k] = beta``;
* applied to a column ``j`` of a target: ``w = t[k,j]``, then ``w = w + v_i t[i,j]`` for
  ``i = k+1 .. m-1`` in that order; ``t[k,j] = t[k,j] - tau_k w`` and
  ``t[i,j] = t[i,j] - (tau_k v_i) w``.

``Q`` (``m x n``) is ``H_0 H_1 ... H_{n-1}`` applied to the first ``n`` columns of the
identity, from ``H_{n-1}`` back to ``H_0``, each to the rows and columns from ``k`` on.

Every value is a function of one column's own sequence of these steps, so the schedule does
not change the bits: the kernels apply a panel of ``panel`` reflectors to one chunk of
``chunk`` columns at a time (the chunk stays in cache while the panel's reflectors pass over
it), in one pass over the rows per reflector (a row updated by one reflector is added into
the next one's ``w`` at once), and the chunks run on all threads. Forming ``Q``, a panel's
reflectors are applied to all its columns from the panel's first on: ``H_k`` leaves a column
``j < k`` as it is at that point (+0 in its rows from ``k`` on, and ``+0 - s * (+0) = +0``). Any panel width, chunk width or thread count gives the
same bits as the plain column-by-column order (the tests check that). Every multiply and add is
its own IEEE operation: the package policy keeps fused multiply-add out (see ``_jit.py``), and
reductions run in the order written (no reassociation without ``fastmath``).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import kernel, parallel_kernel

#: Reflectors applied to a chunk before moving on (only speed depends on it).
PANEL = 32
#: Columns per chunk: the unit of work of one thread (only speed depends on it).
CHUNK = 128


@kernel
def _reflector(a, k, tau, diag):
    # Make reflector k from column k of a, in place (see the module doc).
    m = a.shape[0]
    alpha = a[k, k]
    ss = alpha * alpha
    for i in range(k + 1, m):
        x = a[i, k]
        ss = ss + x * x
    norm = np.sqrt(ss)
    if norm == 0:  # a zero column: H_k = I (probability 0 for a normal matrix)
        tau[k] = 0
        diag[k] = 0
        return
    beta = -norm if alpha >= 0 else norm
    v0 = alpha - beta
    for i in range(k + 1, m):
        a[i, k] = a[i, k] / v0
    tau[k] = (beta - alpha) / beta
    diag[k] = beta
    a[k, k] = beta


@kernel
def _apply(v, k, tau_k, t, j0, j1, w):
    # Apply reflector k (column k of v below the diagonal) to rows k.. of columns [j0, j1) of t.
    m = t.shape[0]
    width = j1 - j0
    acc = w[:width]
    acc[:] = t[k, j0:j1]
    for i in range(k + 1, m):
        vi = v[i, k]
        row = t[i, j0:j1]
        for j in range(width):
            acc[j] = acc[j] + vi * row[j]
    row = t[k, j0:j1]
    for j in range(width):
        row[j] = row[j] - tau_k * acc[j]
    for i in range(k + 1, m):
        s = tau_k * v[i, k]
        row = t[i, j0:j1]
        for j in range(width):
            row[j] = row[j] - s * acc[j]


@kernel
def _apply_run(v, tau, t, j0, j1, w, wn, first, stop, step):
    # Apply reflectors first, first+step, ... (stop excluded) in that order to rows k.. of
    # columns [j0, j1) of t. One pass over the rows per reflector: each row, once updated by
    # reflector k, is added into the next reflector's w at once. Every value gets the same
    # operations in the same order as with _apply, one reflector at a time.
    m = t.shape[0]
    width = j1 - j0
    acc = w[:width]
    nxt = wn[:width]
    k = first
    acc[:] = t[k, j0:j1]
    for i in range(k + 1, m):
        vi = v[i, k]
        row = t[i, j0:j1]
        for j in range(width):
            acc[j] = acc[j] + vi * row[j]
    while k != stop:
        kn = k + step
        more = kn != stop
        tk = tau[k]
        row = t[k, j0:j1]
        for j in range(width):
            row[j] = row[j] - tk * acc[j]
        if more and step < 0:  # reflector k-1 starts at row k-1 (untouched by k), then row k
            nxt[:] = t[kn, j0:j1]
            vn = v[k, kn]
            for j in range(width):
                nxt[j] = nxt[j] + vn * row[j]
        for i in range(k + 1, m):
            s = tk * v[i, k]
            row = t[i, j0:j1]
            if not more:
                for j in range(width):
                    row[j] = row[j] - s * acc[j]
            elif step > 0 and i == kn:  # reflector k+1 starts at row k+1
                for j in range(width):
                    x = row[j] - s * acc[j]
                    row[j] = x
                    nxt[j] = x
            else:
                vn = v[i, kn]
                for j in range(width):
                    x = row[j] - s * acc[j]
                    row[j] = x
                    nxt[j] = nxt[j] + vn * x
        acc, nxt = nxt, acc
        k = kn


def _factor(a, tau, diag, panel, chunk):
    n = a.shape[1]
    w = np.empty(max(panel, 1), a.dtype)
    for k0 in range(0, n, panel):
        k1 = min(k0 + panel, n)
        for k in range(k0, k1):  # the panel itself, column by column
            _reflector(a, k, tau, diag)
            if k + 1 < k1:
                _apply(a, k, tau[k], a, k + 1, k1, w)
        n_chunks = (n - k1 + chunk - 1) // chunk
        for c in prange(n_chunks):  # the rest, chunk by chunk: reflectors k0 .. k1-1 in order
            j0 = k1 + c * chunk
            j1 = min(j0 + chunk, n)
            _apply_run(a, tau, a, j0, j1, np.empty(chunk, a.dtype), np.empty(chunk, a.dtype), k0, k1, 1)


def _form_q(a, tau, q, panel, chunk):
    n = a.shape[1]
    q[...] = 0
    for j in range(n):
        q[j, j] = 1
    if n == 0:
        return
    k0 = ((n - 1) // panel) * panel
    while k0 >= 0:
        k1 = min(k0 + panel, n)
        n_chunks = (n - k0 + chunk - 1) // chunk
        for c in prange(n_chunks):  # reflectors k1-1 .. k0, on the columns from k0 on
            # (H_k leaves a column j < k exactly as it is here: +0 in its rows from k on)
            j0 = k0 + c * chunk
            j1 = min(j0 + chunk, n)
            _apply_run(a, tau, q, j0, j1, np.empty(chunk, a.dtype), np.empty(chunk, a.dtype), k1 - 1, k0 - 1, -1)
        k0 -= panel


_factor_serial, _factor_parallel = kernel(_factor), parallel_kernel(_factor)
_form_q_serial, _form_q_parallel = kernel(_form_q), parallel_kernel(_form_q)


def orthonormal(a: np.ndarray, q: np.ndarray, diag: np.ndarray, *, parallel: bool = False,
                panel: int = PANEL, chunk: int = CHUNK) -> None:
    """Factor ``a`` (``m x n``, ``m >= n``, C order, float32 or float64) in place and write
    its ``Q`` into ``q`` (``m x n``); ``diag`` (length ``n``) gets the diagonal of ``R``.

    ``parallel`` runs the chunks on all Numba threads; ``panel`` and ``chunk`` set the
    schedule. None of the three changes the bits.

    Example:
        >>> import numpy as np
        >>> a = np.array([[3.0, 1.0], [4.0, 2.0]])
        >>> q, d = np.empty_like(a), np.empty(2)
        >>> orthonormal(a, q, d)
        >>> d.tolist(), bool(np.allclose(q.T @ q, np.eye(2)))
        ([-5.0, -0.3999999999999999], True)
    """
    tau = np.empty(a.shape[1], a.dtype)
    if parallel:
        _factor_parallel(a, tau, diag, panel, chunk)
        _form_q_parallel(a, tau, q, panel, chunk)
    else:
        _factor_serial(a, tau, diag, panel, chunk)
        _form_q_serial(a, tau, q, panel, chunk)
