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
columns at a time (at most ``chunk`` columns, and one chunk per thread where the columns
allow), in one pass over the rows per reflector (a row updated by one reflector is added into
the next one's ``w`` at once; the rows four at a time, each column's sum still taking them in
order), and the chunks run on all threads. Forming ``Q``, a panel's reflectors are applied to
all its columns from the panel's first on: ``H_k`` leaves a column ``j < k`` as it is at that
point (+0 in its rows from ``k`` on, and ``+0 - s * (+0) = +0``). The kernels work on copies
whose rows are a little longer than ``n`` (:func:`leading_dimension`) and read a panel's
reflectors from a copy that holds each in consecutive addresses: only addresses change.
Any panel width, chunk width or thread count gives the same bits as the plain column-by-column
order (the tests check that). Every multiply and add is its own IEEE operation: the package
policy keeps fused multiply-add out (see ``_jit.py``), and reductions run in the order written
(no reassociation without ``fastmath``).
"""

from __future__ import annotations

import types

import numba
import numpy as np
from numba import prange

from .._jit import kernel, parallel_kernel

#: Reflectors applied to a chunk before moving on (only speed depends on it).
PANEL = 32
#: Bytes of a chunk's rows at most (only speed depends on it): the chunk's columns are
#: passed over once per reflector, so they should stay in cache for the panel's reflectors.
CHUNK_BYTES = 1 << 21


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


# The row loops below take four rows at a time (then the rest one by one): a column's
# accumulator is read and written once per four rows instead of once per row, and its four
# additions are still the ones of the module doc, in row order, each rounded on its own.


@kernel
def _dot_rows(v, kv, t, j0, acc, i0, i1):
    # acc[j] = acc[j] + v[kv, i] * t[i, j0 + j] for i = i0 .. i1-1 in that order
    # (v: reflectors as rows, see _pack).
    width = acc.size
    i = i0
    while i + 4 <= i1:
        v0, v1, v2, v3 = v[kv, i], v[kv, i + 1], v[kv, i + 2], v[kv, i + 3]
        r0, r1, r2, r3 = t[i, j0:j0 + width], t[i + 1, j0:j0 + width], t[i + 2, j0:j0 + width], t[i + 3, j0:j0 + width]
        for j in range(width):
            acc[j] = (((acc[j] + v0 * r0[j]) + v1 * r1[j]) + v2 * r2[j]) + v3 * r3[j]
        i += 4
    while i < i1:
        vi = v[kv, i]
        r = t[i, j0:j0 + width]
        for j in range(width):
            acc[j] = acc[j] + vi * r[j]
        i += 1


@kernel
def _update_rows(v, k, tk, t, j0, acc, i0, i1):
    # t[i, j0 + j] = t[i, j0 + j] - (tk * v[k, i]) * acc[j] for i = i0 .. i1-1.
    width = acc.size
    i = i0
    while i + 4 <= i1:
        s0, s1, s2, s3 = tk * v[k, i], tk * v[k, i + 1], tk * v[k, i + 2], tk * v[k, i + 3]
        r0, r1, r2, r3 = t[i, j0:j0 + width], t[i + 1, j0:j0 + width], t[i + 2, j0:j0 + width], t[i + 3, j0:j0 + width]
        for j in range(width):
            w = acc[j]
            r0[j] = r0[j] - s0 * w
            r1[j] = r1[j] - s1 * w
            r2[j] = r2[j] - s2 * w
            r3[j] = r3[j] - s3 * w
        i += 4
    while i < i1:
        s = tk * v[k, i]
        r = t[i, j0:j0 + width]
        for j in range(width):
            r[j] = r[j] - s * acc[j]
        i += 1


@kernel
def _update_dot_rows(v, k, tk, kn, t, j0, acc, nxt, i0, i1):
    # _update_rows, and each updated row at once into the next reflector's sum:
    # nxt[j] = nxt[j] + v[kn, i] * (the new t[i, j0 + j]), in row order.
    width = acc.size
    i = i0
    while i + 4 <= i1:
        s0, s1, s2, s3 = tk * v[k, i], tk * v[k, i + 1], tk * v[k, i + 2], tk * v[k, i + 3]
        u0, u1, u2, u3 = v[kn, i], v[kn, i + 1], v[kn, i + 2], v[kn, i + 3]
        r0, r1, r2, r3 = t[i, j0:j0 + width], t[i + 1, j0:j0 + width], t[i + 2, j0:j0 + width], t[i + 3, j0:j0 + width]
        for j in range(width):
            w = acc[j]
            x0 = r0[j] - s0 * w
            x1 = r1[j] - s1 * w
            x2 = r2[j] - s2 * w
            x3 = r3[j] - s3 * w
            r0[j] = x0
            r1[j] = x1
            r2[j] = x2
            r3[j] = x3
            nxt[j] = (((nxt[j] + u0 * x0) + u1 * x1) + u2 * x2) + u3 * x3
        i += 4
    while i < i1:
        s = tk * v[k, i]
        u = v[kn, i]
        r = t[i, j0:j0 + width]
        for j in range(width):
            x = r[j] - s * acc[j]
            r[j] = x
            nxt[j] = nxt[j] + u * x
        i += 1


@kernel
def _apply_run(v, base, tau, t, j0, j1, w, wn, first, stop, step):
    # Apply reflectors first, first+step, ... (stop excluded) in that order to rows k.. of
    # columns [j0, j1) of t; reflector k is row k - base of v (see _pack). One pass over the
    # rows per reflector: each row, once updated by reflector k, is added into the next
    # reflector's w at once. Every value gets the same operations in the same order as with
    # one reflector at a time.
    m = t.shape[0]
    width = j1 - j0
    acc = w[:width]
    nxt = wn[:width]
    k = first
    acc[:] = t[k, j0:j1]
    _dot_rows(v, k - base, t, j0, acc, k + 1, m)
    while k != stop:
        kn = k + step
        tk = tau[k]
        row = t[k, j0:j1]
        for j in range(width):
            row[j] = row[j] - tk * acc[j]
        if kn == stop:
            _update_rows(v, k - base, tk, t, j0, acc, k + 1, m)
        elif step > 0:  # reflector k+1 starts at row k+1, once H_k has updated it
            row = t[kn, j0:j1]
            s = tk * v[k - base, kn]
            for j in range(width):
                x = row[j] - s * acc[j]
                row[j] = x
                nxt[j] = x
            _update_dot_rows(v, k - base, tk, kn - base, t, j0, acc, nxt, kn + 1, m)
        else:  # reflector k-1 starts at row k-1 (H_k leaves it as it is), then row k
            nxt[:] = t[kn, j0:j1]
            u = v[kn - base, k]
            for j in range(width):
                nxt[j] = nxt[j] + u * row[j]
            _update_dot_rows(v, k - base, tk, kn - base, t, j0, acc, nxt, k + 1, m)
        acc, nxt = nxt, acc
        k = kn


@kernel
def _pack(a, k, v, row):
    # Reflector k (column k of a below the diagonal) into row `row` of v: the kernels read a
    # reflector along its rows, and v holds it in consecutive addresses.
    for i in range(k + 1, a.shape[0]):
        v[row, i] = a[i, k]


@kernel
def _split(cols, chunk, parts):
    # The width of the chunks that [cols] columns are cut into: at most chunk, and at least
    # parts chunks (one per thread) where that leaves a chunk of 16 columns or more.
    pieces = max(parts, (cols + chunk - 1) // chunk)
    width = (cols + pieces - 1) // pieces
    width = ((width + 15) // 16) * 16
    return max(1, min(width, chunk))


def _factor(a, n, tau, diag, panel, chunk, parts):
    # a: m x ld (ld >= n); its first n columns are the matrix.
    w = np.empty(max(panel, 1), a.dtype)
    v = np.empty((max(panel, 1), a.shape[0]), a.dtype)
    for k0 in range(0, n, panel):
        k1 = min(k0 + panel, n)
        for k in range(k0, k1):  # the panel itself, column by column
            _reflector(a, k, tau, diag)
            _pack(a, k, v, k - k0)
            if k + 1 < k1:
                _apply_run(v, k0, tau, a, k + 1, k1, w, w, k, k + 1, 1)
        width = _split(n - k1, chunk, parts)
        n_chunks = (n - k1 + width - 1) // width
        for c in prange(n_chunks):  # the rest, chunk by chunk: reflectors k0 .. k1-1 in order
            j0 = k1 + c * width
            j1 = min(j0 + width, n)
            _apply_run(v, k0, tau, a, j0, j1, np.empty(width, a.dtype), np.empty(width, a.dtype), k0, k1, 1)


def _form_q(a, n, tau, q, panel, chunk, parts):
    # a, q: m x ld (ld >= n); their first n columns are the matrices.
    q[...] = 0
    for j in range(n):
        q[j, j] = 1
    if n == 0:
        return
    v = np.empty((panel, a.shape[0]), a.dtype)
    k0 = ((n - 1) // panel) * panel
    while k0 >= 0:
        k1 = min(k0 + panel, n)
        for k in range(k0, k1):
            _pack(a, k, v, k - k0)
        width = _split(n - k0, chunk, parts)
        n_chunks = (n - k0 + width - 1) // width
        for c in prange(n_chunks):  # reflectors k1-1 .. k0, on the columns from k0 on
            # (H_k leaves a column j < k exactly as it is here: +0 in its rows from k on)
            j0 = k0 + c * width
            j1 = min(j0 + width, n)
            _apply_run(v, k0, tau, q, j0, j1, np.empty(width, a.dtype), np.empty(width, a.dtype), k1 - 1, k0 - 1, -1)
        k0 -= panel


def _named(fn, name: str):
    # fn under another name. Numba files cached machine code by a function's name and first
    # line, not by its flags: a serial and a parallel build of one function would load each
    # other's code (the parallel kernels ran on one thread, the serial ones in a forked child
    # could start threads).
    copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    return copy


_factor_serial = kernel(_named(_factor, "_factor_serial"))
_factor_parallel = parallel_kernel(_named(_factor, "_factor_parallel"))
_form_q_serial = kernel(_named(_form_q, "_form_q_serial"))
_form_q_parallel = parallel_kernel(_named(_form_q, "_form_q_parallel"))


def leading_dimension(n: int, itemsize: int) -> int:
    """The row length (in elements) of the kernels' working arrays for ``n`` columns: ``n``
    rounded up to a whole, odd number of 64-byte cache lines. Rows a power of two of bytes
    apart (1024 float32 columns) fall into the same few cache sets, so a chunk's rows would
    evict each other; only addresses change.

    Example:
        >>> leading_dimension(1024, 4), leading_dimension(1000, 4), leading_dimension(3, 8)
        (1040, 1008, 3)
    """
    line = 64 // itemsize
    if n < line:
        return n
    lines = -(-n // line)
    return (lines + 1 - lines % 2) * line


def chunk_width(m: int, itemsize: int) -> int:
    """The widest chunk for ``m`` rows: ``CHUNK_BYTES`` of them, in whole cache lines.

    Example:
        >>> chunk_width(1024, 4), chunk_width(4096, 4), chunk_width(10**6, 8)
        (512, 128, 8)
    """
    line = 64 // itemsize
    return max(line, CHUNK_BYTES // (max(m, 1) * itemsize) // line * line)


def _reduce(a: np.ndarray, diag: np.ndarray, parallel: bool, panel: int, chunk: int | None):
    # Factor a copy of a in rows leading_dimension apart: (the factored copy, its Q), both m x ld.
    m, n = a.shape
    ld = leading_dimension(n, a.dtype.itemsize)
    work = np.empty((m, ld), a.dtype)
    work[:, :n] = a
    q = np.empty((m, ld), a.dtype)
    tau = np.empty(n, a.dtype)
    if chunk is None:
        chunk = chunk_width(m, a.dtype.itemsize)
    if parallel:
        parts = numba.get_num_threads()
        _factor_parallel(work, n, tau, diag, panel, chunk, parts)
        _form_q_parallel(work, n, tau, q, panel, chunk, parts)
    else:
        _factor_serial(work, n, tau, diag, panel, chunk, 1)
        _form_q_serial(work, n, tau, q, panel, chunk, 1)
    return work, q


def orthonormal(a: np.ndarray, q: np.ndarray, diag: np.ndarray, *, parallel: bool = False,
                panel: int = PANEL, chunk: int | None = None) -> None:
    """Factor ``a`` (``m x n``, ``m >= n``, C order, float32 or float64) in place and write
    its ``Q`` into ``q`` (``m x n``); ``diag`` (length ``n``) gets the diagonal of ``R``.

    ``parallel`` runs the chunks on all Numba threads; ``panel`` and ``chunk`` (the widest
    chunk; default :func:`chunk_width`) set the schedule. None of the three changes the bits.

    Example:
        >>> import numpy as np
        >>> a = np.array([[3.0, 1.0], [4.0, 2.0]])
        >>> q, d = np.empty_like(a), np.empty(2)
        >>> orthonormal(a, q, d)
        >>> d.tolist(), bool(np.allclose(q.T @ q, np.eye(2)))
        ([-5.0, -0.3999999999999999], True)
    """
    n = a.shape[1]
    work, q_work = _reduce(a, diag, parallel, panel, chunk)
    a[...] = work[:, :n]
    q[...] = q_work[:, :n]


def orthonormal_q(a: np.ndarray, diag: np.ndarray, *, parallel: bool = False, panel: int = PANEL,
                  chunk: int | None = None) -> np.ndarray:
    """The ``Q`` of :func:`orthonormal` (the same bits), as an ``m x n`` view of rows
    :func:`leading_dimension` apart; ``a`` is left as it is and ``diag`` gets ``R``'s diagonal.
    It spares :func:`orthonormal`'s two copies out.

    Example:
        >>> import numpy as np
        >>> a = np.array([[3.0, 1.0], [4.0, 2.0]])
        >>> d = np.empty(2)
        >>> q = orthonormal_q(a, d)
        >>> q2 = np.empty_like(a)
        >>> orthonormal(a.copy(), q2, np.empty(2))
        >>> bool((q == q2).all()), a.tolist()
        (True, [[3.0, 1.0], [4.0, 2.0]])
    """
    return _reduce(a, diag, parallel, panel, chunk)[1][:, : a.shape[1]]
