"""Activations and losses written directly from their definitions.

Each takes an array module ``xp`` (NumPy or ``jax.numpy``) so one definition
serves both. Nothing here is generated from the symbolic side: these are the
independent oracle the derived gradients are checked against.
"""
from __future__ import annotations

import numpy as np

from .expression import evaluate

__all__ = ["ACTIVATIONS", "LOSSES", "activation", "loss"]


def sigmoid(z, xp=np):
    # σ(z) = 1/(1 + e^(−z)) = (1 + tanh(z/2))/2; the tanh form never overflows
    return 0.5 * (1.0 + xp.tanh(0.5 * z))


def tanh(z, xp=np):
    return xp.tanh(z)


def relu(z, xp=np):
    return xp.maximum(z, 0.0)


def softplus(z, xp=np):
    return xp.logaddexp(0.0, z)


def identity(z, xp=np):
    return z


def softmax(z, xp=np):
    e = xp.exp(z - xp.max(z))
    return e / xp.sum(e)


def mse(yhat, y, xp=np):
    return 0.5 * xp.sum((yhat - y) ** 2)


def bce(yhat, y, xp=np):
    return -xp.sum(y * xp.log(yhat) + (1.0 - y) * xp.log(1.0 - yhat))


def ce(yhat, y, xp=np):
    return -xp.sum(y * xp.log(yhat))


ACTIVATIONS = {f.__name__: f for f in (sigmoid, tanh, relu, softplus, identity, softmax)}
LOSSES = {f.__name__: f for f in (mse, bce, ce)}


def activation(name):
    """A registered activation, or one typed as an expression in ``z``."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    tree = _typed_tree("activation", name)

    def typed(z, xp=np):
        return evaluate(tree, {"z": z}, xp) + 0.0 * z  # a constant term still gives an array
    return typed


def loss(name):
    """A registered loss, or one typed in ``yhat_1 … yhat_k``, ``y_1 … y_k``
    (yhat and y are vectors; component i is yhat[i − 1])."""
    if name in LOSSES:
        return LOSSES[name]
    tree = _typed_tree("loss", name)

    def typed(yhat, y, xp=np):
        env = {f"yhat_{i}": yhat[i - 1] for i in range(1, yhat.shape[0] + 1)}
        env |= {f"y_{i}": y[i - 1] for i in range(1, y.shape[0] + 1)}
        return evaluate(tree, env, xp)
    return typed


def _typed_tree(kind, text):
    """The checked expression tree of a typed activation or loss. Parsing is
    shared with the symbolic side (it is where untrusted text is vetted);
    evaluation here is not."""
    from derive.functions import custom_activation, custom_loss

    return (custom_activation(text) if kind == "activation" else custom_loss(text)).expr.tree
