"""Forward passes of the models, written from the problem statements.

These never look at the symbolic graph; ``checks`` compares them with the
lambdified loss of the graph and differentiates them with JAX and finite
differences.
"""
from __future__ import annotations

import numpy as np

from .functions import activation as _act, loss as _loss

__all__ = ["shared_bias_loss", "FORWARDS"]


def shared_bias_loss(p, activation, output_activation, loss, xp=np):
    """P1: h1 = g(W x + b), ŷ = g1(U h1 + b), L = ℓ(ŷ, y), with one b.

    ``p`` maps W, U, b, x, y to arrays (vectors 1-D).
    """
    g, g1, ell = _act(activation), _act(output_activation), _loss(loss)
    h1 = g(p["W"] @ p["x"] + p["b"], xp)
    yhat = g1(p["U"] @ h1 + p["b"], xp)
    return ell(yhat, p["y"], xp)


FORWARDS = {"shared_bias": shared_bias_loss}
