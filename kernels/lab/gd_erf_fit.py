# Fits v7b's erf (gd_erf_fast.cuh): erfc(t) = 2^q(t) on t = |x| in [0, 3.92], q a degree-8 polynomial, weighted
# minimax of the absolute error in erf (weight erfc(t): q's error dq costs erfc(t) * ln 2 * dq in erf) by Lawson's
# iteration, coefficients rounded to f32; prints them as C hex floats and the error of an f32 Horner evaluation with
# an exact exp2 (the host check, gd_erf_fast_check.cpp, measures it with the GPU's ex2 error bound added).
# Beyond 3.92, erfc < 2^-25 and erf rounds to +-1 in f32: the kernel clamps t there.
#   python3 kernels/lab/gd_erf_fit.py
import numpy as np
from scipy.special import erfc

T, DEG = 3.92, 8
t = np.linspace(0, T, 20001)
q, w = np.log2(erfc(t)), erfc(t)
V = np.vander(t, DEG + 1)
lw = np.ones_like(t)
for _ in range(60):
    c, *_ = np.linalg.lstsq(V * (w * lw)[:, None], q * w * lw, rcond=None)
    err = np.abs((V @ c - q) * w)
    lw *= (err / err.max()) ** 0.5 + 1e-3
    lw /= lw.max()
c32 = c.astype(np.float32)
tt = t.astype(np.float32)
r = np.full_like(tt, c32[0])
for ci in c32[1:]:
    r = (r.astype(np.float64) * tt + ci).astype(np.float32)
print("max |erf error| %.3g at t = %.3f (f32 coefficients and Horner, exact exp2)" % (
    np.abs(np.exp2(r.astype(np.float64)) - w).max(), t[np.abs(np.exp2(r.astype(np.float64)) - w).argmax()]))
def hexf(v):
    m, e = float(v).hex().split("p")
    return m.rstrip("0").rstrip(".") + "p" + e + "f"
print("highest degree first:", ", ".join(hexf(v) for v in c32))
