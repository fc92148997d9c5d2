"""Independent numbers for the P6 derivations, written from the model statements.

Nothing here reads a SymPy expression: log densities are typed from the model
(binomial likelihood × Beta prior; Gaussian likelihood × Gaussian prior), the
integrals are quadratures, the optimisers bisect a finite-difference slope.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "argmax",
    "beta_binomial_log_joint",
    "gauss_grid",
    "log_normaliser",
    "moments",
    "normal_log_joint",
    "normal_log_likelihood",
    "tanh_sinh",
]


def beta_binomial_log_joint(alpha, beta, N, y):
    """log[ Bin(y | N, θ) · Beta(θ | α, β) ] as a function of (θ, 1 − θ)."""
    const = (math.lgamma(N + 1) - math.lgamma(y + 1) - math.lgamma(N - y + 1)
             + math.lgamma(alpha + beta) - math.lgamma(alpha) - math.lgamma(beta))

    def f(t, one_minus_t):
        likelihood = y * np.log(t) + (N - y) * np.log(one_minus_t)
        prior = (alpha - 1) * np.log(t) + (beta - 1) * np.log(one_minus_t)
        return const + likelihood + prior

    return f


def normal_log_likelihood(data, sigma2):
    """log Πᵢ N(xᵢ | μ, σ²) as a function of μ."""
    x = np.asarray(data, dtype=float)

    def f(mu):
        return float(-0.5 * np.sum((x - mu) ** 2) / sigma2 - 0.5 * len(x) * math.log(2 * math.pi * sigma2))

    return f


def normal_log_joint(data, sigma2, tau2):
    """log[ Πᵢ N(xᵢ | μ, σ²) · N(μ | 0, τ²) ] as a function of μ (vectorised)."""
    x = np.asarray(data, dtype=float)

    def f(mu):
        mu = np.asarray(mu, dtype=float)[..., None]
        lik = -0.5 * np.sum((x - mu) ** 2, axis=-1) / sigma2 - 0.5 * len(x) * math.log(2 * math.pi * sigma2)
        return lik[...] - 0.5 * mu[..., 0] ** 2 / tau2 - 0.5 * math.log(2 * math.pi * tau2)

    return f


def tanh_sinh(lo, hi, level=7, t_max=6.0):
    """Nodes (x, x − lo, hi − x) and weights of the tanh-sinh rule on [lo, hi]; the
    distances to the ends are returned separately so end-point factors stay accurate."""
    h = 2.0 ** -level
    t = np.arange(-t_max, t_max + h / 2, h)
    u = 0.5 * math.pi * np.sinh(t)
    # s = (1 + tanh u)/2 and 1 − s, without cancellation
    s = 1.0 / (1.0 + np.exp(-2 * u))
    one_minus_s = 1.0 / (1.0 + np.exp(2 * u))
    w = h * 0.5 * math.pi * np.cosh(t) / (2 * np.cosh(u) ** 2) * (hi - lo)
    keep = (s > 0) & (one_minus_s > 0) & np.isfinite(w) & (w > 0)
    d_lo, d_hi = (hi - lo) * s[keep], (hi - lo) * one_minus_s[keep]
    return lo + d_lo, d_lo, d_hi, w[keep]


def gauss_grid(center, scale, half_width=40.0, points=8001):
    """Trapezoid nodes and weights on center ± half_width·scale (for smooth, fast-decaying integrands)."""
    x = np.linspace(center - half_width * scale, center + half_width * scale, points)
    w = np.full(points, x[1] - x[0])
    w[[0, -1]] *= 0.5
    return x, w


def argmax(logf, lo, hi, step=None, iterations=200):
    """Maximiser of a concave ``logf`` on (lo, hi): bisect the sign of a central-difference
    slope taken with ``step(x)`` (default 1e-5·max(1, |x|); keep x ± step inside the domain)."""
    step = step or (lambda x: 1e-5 * max(1.0, abs(x)))
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        h = step(mid)
        if logf(mid + h) - logf(mid - h) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 4e-16 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def log_normaliser(logf_values, weights):
    """log ∫ f from log f at the nodes (shifted by the maximum to avoid underflow)."""
    top = np.max(logf_values)
    return top + math.log(np.sum(weights * np.exp(logf_values - top)))


def moments(x, logf_values, weights):
    """(mean, variance) of the density proportional to f."""
    p = weights * np.exp(logf_values - np.max(logf_values))
    p /= p.sum()
    mean = float(np.sum(p * x))
    return mean, float(np.sum(p * (x - mean) ** 2))
