"""Directional mode: where to look in a large tensor, and what that catches.

A Gaussian probe v compares ∇f·v; a single wrong entry i with error δ shifts it
by δ·vᵢ, vᵢ ~ N(0, 1), so one probe with absolute tolerance τ misses it with
probability P(|Z| ≤ τ/δ) = erf(τ / (δ√2)). A stratified sample of s coordinates
(one uniformly in each of s equal slices of the flat index range) hits it with
probability s/n and judges it entry by entry. Both are stated in the report.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["detection_probability", "gaussian_probes", "smallest_detected", "stratified"]


def gaussian_probes(rng: np.random.Generator, shape, count: int) -> list[np.ndarray]:
    """``count`` standard-normal directions shaped like the tensor."""
    return [rng.standard_normal(shape) for _ in range(count)]


def stratified(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """One flat index drawn uniformly from each of ``count`` equal slices of range(n).

    >>> stratified(np.random.default_rng(0), 10, 20).tolist()  # all of them when count ≥ n
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> len(stratified(np.random.default_rng(0), 10**6, 8))
    8
    """
    if count >= n:
        return np.arange(n)
    edges = np.linspace(0, n, count + 1).astype(np.int64)
    return np.array([rng.integers(lo, hi) for lo, hi in itertools.pairwise(edges)], dtype=np.int64)


def detection_probability(error: float, tolerances, sampled: int, n: int) -> float:
    """P(a single entry off by ``error`` is caught) by probes with absolute
    ``tolerances`` and ``sampled`` of ``n`` coordinates judged one by one.

    >>> round(detection_probability(1.0, [0.01] * 4, 0, 10**6), 6)  # each probe misses with P ≈ 0.008
    1.0
    >>> round(detection_probability(1.0, [], 10, 100), 12)
    0.1
    """
    if error <= 0:
        return 0.0
    miss = 1.0 - min(sampled, n) / n
    for tau in tolerances:
        miss *= math.erf(tau / (error * math.sqrt(2.0)))
    return 1.0 - miss


def smallest_detected(tolerances, sampled: int, n: int, probability: float = 0.99) -> float:
    """The smallest single-entry error caught with at least ``probability`` (inf if none is)."""
    if detection_probability(1e300, tolerances, sampled, n) < probability:
        return math.inf
    lo, hi = 0.0, max([*tolerances, 1e-300]) * 1e6
    while detection_probability(hi, tolerances, sampled, n) < probability:
        hi *= 10.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if detection_probability(mid, tolerances, sampled, n) >= probability else (mid, hi)
    return hi
