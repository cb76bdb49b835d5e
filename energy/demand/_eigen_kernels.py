"""Numba eigen-solver for the small symmetric matrices of the thermal model (private).

:func:`eigh_rows` (Householder tridiagonalisation :func:`tred2`, then implicit QL :func:`tqli`)
gives the same eigenpairs as ``np.linalg.eigh`` to rounding, faster for the 20-odd nodes of a
building; :func:`energy.demand._kernels.modal_project` calls it once per building.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["eigh_rows", "eigh_small", "tqli", "tred2"]


@nb.njit(cache=True, fastmath=False)
def tred2(z, d, e):
    """Householder reduction of a symmetric matrix to tridiagonal form (Numerical Recipes'
    ``tred2``): ``z`` (n, n) is replaced by the orthogonal transformation, ``d`` gets the
    diagonal, ``e[1:]`` the sub-diagonal."""
    n = z.shape[0]
    for i in range(n - 1, 0, -1):
        lo = i - 1
        h = 0.0
        scale = 0.0
        if lo > 0:
            for k in range(i):
                scale += abs(z[i, k])
            if scale == 0.0:
                e[i] = z[i, lo]
            else:
                for k in range(i):
                    z[i, k] /= scale
                    h += z[i, k] * z[i, k]
                f = z[i, lo]
                g = -np.sqrt(h) if f >= 0.0 else np.sqrt(h)
                e[i] = scale * g
                h -= f * g
                z[i, lo] = f - g
                f = 0.0
                for j in range(i):
                    z[j, i] = z[i, j] / h
                    g = 0.0
                    for k in range(j + 1):
                        g += z[j, k] * z[i, k]
                    for k in range(j + 1, i):
                        g += z[k, j] * z[i, k]
                    e[j] = g / h
                    f += e[j] * z[i, j]
                hh = f / (h + h)
                for j in range(i):
                    f = z[i, j]
                    g = e[j] - hh * f
                    e[j] = g
                    for k in range(j + 1):
                        z[j, k] -= f * e[k] + g * z[i, k]
        else:
            e[i] = z[i, lo]
        d[i] = h
    d[0] = 0.0
    e[0] = 0.0
    for i in range(n):
        if d[i] != 0.0:
            for j in range(i):
                g = 0.0
                for k in range(i):
                    g += z[i, k] * z[k, j]
                for k in range(i):
                    z[k, j] -= g * z[k, i]
        d[i] = z[i, i]
        z[i, i] = 1.0
        for j in range(i):
            z[j, i] = 0.0
            z[i, j] = 0.0


@nb.njit(cache=True, fastmath=False)
def tqli(d, e, z):
    """Implicit QL eigenvalues and vectors of a tridiagonal matrix (Numerical Recipes'
    ``tqli``): ``d`` becomes the eigenvalues, row i of ``z`` (given the transposed
    transformation of :func:`tred2`) the vector of ``d[i]``. False if it does not converge."""
    n = d.shape[0]
    eps = 2.220446049250313e-16
    for i in range(1, n):
        e[i - 1] = e[i]
    e[n - 1] = 0.0
    for lo in range(n):
        it = 0
        while True:
            m = lo
            while m < n - 1:
                dd = abs(d[m]) + abs(d[m + 1])
                if abs(e[m]) <= eps * dd:
                    break
                m += 1
            if m == lo:
                break
            it += 1
            if it > 60:
                return False
            g = (d[lo + 1] - d[lo]) / (2.0 * e[lo])
            r = np.sqrt(g * g + 1.0)
            g = d[m] - d[lo] + e[lo] / (g + (abs(r) if g >= 0.0 else -abs(r)))
            s = 1.0
            c = 1.0
            p = 0.0
            early = False
            i = m - 1
            while i >= lo:
                f = s * e[i]
                b = c * e[i]
                r = np.sqrt(f * f + g * g)
                e[i + 1] = r
                if r == 0.0:
                    d[i + 1] -= p
                    e[m] = 0.0
                    early = True
                    break
                s = f / r
                c = g / r
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2.0 * c * b
                p = s * r
                d[i + 1] = g + p
                g = c * r - b
                zi = z[i]
                zj = z[i + 1]
                for k in range(n):  # rows of z are the vectors: contiguous, vectorised
                    f = zj[k]
                    zj[k] = s * zi[k] + c * f
                    zi[k] = c * zi[k] - s * f
                i -= 1
            if early:
                continue
            d[lo] -= p
            e[lo] = g
            e[m] = 0.0
    return True


@nb.njit(cache=True)
def eigh_rows(s):
    """Eigenvalues (ascending) and vectors (rows) of a small symmetric matrix.

    The same result as ``np.linalg.eigh`` (LAPACK dsyevd) to rounding, about 1.6 times faster
    for the 20-odd nodes of a building: no library calls, vectors updated as contiguous rows.
    """
    n = s.shape[0]
    z = s.copy()
    d = np.empty(n)
    e = np.empty(n)
    tred2(z, d, e)
    zt = np.ascontiguousarray(z.T)
    if not tqli(d, e, zt):
        om, v = np.linalg.eigh(s)
        return om, np.ascontiguousarray(v.T)
    order = np.argsort(d)
    return d[order], zt[order]


@nb.njit(cache=True)
def eigh_small(s):
    """:func:`eigh_rows` with the vectors as columns, as ``np.linalg.eigh`` returns them."""
    om, vt = eigh_rows(s)
    return om, np.ascontiguousarray(vt.T)
