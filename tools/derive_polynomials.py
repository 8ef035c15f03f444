"""Derive the float64 polynomial coefficients frozen in ``src/reprovar/transforms/elementary.py``.

Run once, by hand (needs mpmath): ``python tools/derive_polynomials.py``. It fits each
function by weighted least squares at 400 Chebyshev nodes in 60-digit arithmetic (close to
minimax for these smooth functions), rounds the coefficients to doubles, and reports the
largest relative error of the rounded polynomial, evaluated in 60 digits, over the range.

The printed hex literals are what elementary.py holds; the sampler's values depend on
them, so changing them is a new algorithm version, never an edit.
"""

from __future__ import annotations

import struct

import mpmath as mp

mp.mp.dps = 60
NODES = 400


def to_float32(x) -> float:
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def fit(target, z_max, degree, rounding=float):
    """Least squares for ``target(z) ~ c0 + sum c_i z**i`` on [0, z_max], relative weighting.

    ``c0 = target(0)`` rounded to a double is fixed first, so the constant term is exact
    where it can be (1 for log and cos) and the fit absorbs its rounding otherwise.
    """
    zs = [z_max * (1 - mp.cos(mp.pi * (k + mp.mpf(0.5)) / NODES)) / 2 for k in range(NODES)]
    c0 = rounding(target(mp.mpf(0)))
    rows = [[z**i / target(z) for i in range(1, degree + 1)] for z in zs]
    a = mp.matrix(rows)
    b = mp.matrix([1 - c0 / target(z) for z in zs])
    coeffs = mp.lu_solve(a.T * a, a.T * b)
    doubles = [c0] + [rounding(c) for c in coeffs]
    err = max(abs(sum(mp.mpf(c) * z**i for i, c in enumerate(doubles)) / target(z) - 1) for z in zs)
    return doubles, err


def main():
    s_max = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)
    a = mp.pi / 4
    log = lambda z: mp.atanh(mp.sqrt(z)) / mp.sqrt(z) if z else mp.mpf(1)  # noqa: E731
    sin = lambda z: mp.sin(a * mp.sqrt(z)) / mp.sqrt(z) if z else a  # noqa: E731
    cos = lambda z: mp.cos(a * mp.sqrt(z))  # noqa: E731
    # log(m) = 2 s P(s^2) with P(z) = atanh(sqrt z) / sqrt z; sin(a f) = f S(f^2), cos(a f) = C(f^2)
    cases = [
        ("LOG_F64", log, s_max**2, 7, float),
        ("SIN_F64", sin, mp.mpf(1), 6, float),
        ("COS_F64", cos, mp.mpf(1), 7, float),
        ("LOG_F32", log, s_max**2, 3, to_float32),
        ("SIN_F32", sin, mp.mpf(1), 4, to_float32),
        ("COS_F32", cos, mp.mpf(1), 4, to_float32),
    ]
    for name, target, z_max, degree, rounding in cases:
        coeffs, err = fit(target, z_max, degree, rounding)
        print(f"_{name} = _coefficients(")
        for c in coeffs:
            print(f'    "{c.hex()}",')
        print(f")  # max relative error {mp.nstr(err, 3)}")


if __name__ == "__main__":
    main()
