"""Fit the float32 rationals of ``reprovar/transforms/normal_quantile.py`` (run once; printed
coefficients are frozen there as hex literals and never edited: values depend on every bit).

Central: Phi^-1(1/2 + q) / q as N/D in s = 0.180625 - q**2, q in [-0.425, 0]; tail: the z
with log Q(z) = -r**2 as N/D in s = r - 1.6, r in [1.6, 9.6]. Degrees 4/3, relative error
weighted least squares reweighted towards minimax (Lawson), references from mpmath.
Needs numpy and mpmath.
"""

import mpmath
import numpy as np

mpmath.mp.dps = 30


def fit(x, f, m, n, iterations=60):
    w = np.ones_like(x)
    d_prev = np.ones_like(x)
    for _ in range(iterations):
        a = np.hstack([x[:, None] ** np.arange(m + 1), -(f[:, None]) * x[:, None] ** np.arange(1, n + 1)])
        weight = (w / (np.abs(f) * d_prev))[:, None]
        c, *_ = np.linalg.lstsq(a * weight, f * weight[:, 0], rcond=None)
        num = np.polyval(c[: m + 1][::-1], x)
        den = 1 + x * np.polyval(c[m + 1 :][::-1], x)
        d_prev = den
        err = np.abs(num / den - f) / np.abs(f)
        w = w * (err / err.max()) ** 0.5 + 1e-12
        w /= w.sum()
    return c[: m + 1], np.concatenate([[1.0], c[m + 1 :]]), err.max()


def main():
    q = np.linspace(-0.425, -1e-4, 4000)
    g = np.array([float(-mpmath.sqrt(2) * mpmath.erfinv(-2 * mpmath.mpf(v))) for v in q]) / q
    r = np.linspace(1.6, 9.6, 3000)
    z = np.array([
        float(mpmath.findroot(lambda t: mpmath.log(mpmath.erfc(t / mpmath.sqrt(2)) / 2) + mpmath.mpf(v) ** 2, v * 1.3))
        for v in r
    ])
    for label, (num, den, err) in (("central", fit(0.180625 - q * q, g, 4, 3)), ("tail", fit(r - 1.6, z, 4, 3))):
        print(label, f"max relative error {err:.3g}")
        print("  num", [float(np.float32(c)).hex() for c in num])
        print("  den", [float(np.float32(c)).hex() for c in den])


if __name__ == "__main__":
    main()
