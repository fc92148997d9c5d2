"""Gradient-based feature attribution with the derived input gradient (P2).

``input_gradients`` evaluates ∂L/∂x = W₁ᵀ δ₁ from the ``input_gradient``
derivation for every sample of a data set in one vectorised sweep, and ranks
features by the mean of |∂L/∂xᵢ| over the samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from derive import derive
from derive.errors import UsageError

from .evaluate_sweep import compile_sweep

__all__ = ["Attribution", "input_gradients"]


@dataclass
class Attribution:
    gradients: np.ndarray  # N×d, ∂L_n/∂x_n per sample
    mean_abs: np.ndarray  # d, mean over samples of |∂L/∂xᵢ|
    ranking: list  # feature indices (or names), most influential first

    def table(self, names=None):
        names = names or [f"x{i + 1}" for i in range(self.mean_abs.size)]
        return [(names[i], float(self.mean_abs[i])) for i in np.argsort(-self.mean_abs, kind="stable")]


@lru_cache(maxsize=32)
def _compiled(activation, output_activation, loss, layers):
    d = derive("input_gradient", activation=activation, output_activation=output_activation, loss=loss,
               layers=layers)
    return compile_sweep(d.sweep)


def input_gradients(params: dict, X, Y, *, activation: str, output_activation: str = "softmax",
                    loss: str = "ce", names=None) -> Attribution:
    """Per-sample input gradients of an MLP, their mean magnitude per feature, and the ranking.

    ``params`` holds W1, b1, …, W{L+1}, b{L+1} (NumPy arrays; W_l is out×in),
    ``X`` is N×d, ``Y`` is N×k (one-hot or probability rows for ce).

    >>> import numpy as np
    >>> p = {"W1": np.array([[2.0, 0.0]]), "b1": np.zeros(1), "W2": np.array([[1.0], [-1.0]]), "b2": np.zeros(2)}
    >>> a = input_gradients(p, np.array([[0.5, 0.3]]), np.array([[1.0, 0.0]]), activation="tanh")
    >>> a.ranking, round(float(a.mean_abs[1]), 12)
    ([0, 1], 0.0)
    """
    layers = sum(1 for k in params if k.startswith("W")) - 1
    if layers < 1:
        raise UsageError(f"params need W1, b1, …, W{{L+1}}, b{{L+1}} for L ≥ 1 hidden layers; got {sorted(params)}")
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    if X.shape[0] != Y.shape[0]:
        raise UsageError(f"X has {X.shape[0]} samples but Y has {Y.shape[0]}")
    run = _compiled(activation, output_activation, loss, layers)
    values = {**{k: np.asarray(v, dtype=np.float64) for k, v in params.items()}, "x": X, "y": Y}
    G = run(values, batch=True)["gradients"]["x"]
    mean_abs = np.mean(np.abs(G), axis=0)
    order = [int(i) for i in np.argsort(-mean_abs, kind="stable")]
    return Attribution(G, mean_abs, [names[i] for i in order] if names else order)
