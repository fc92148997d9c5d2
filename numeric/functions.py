"""Activations and losses written directly from their definitions.

Each takes an array module ``xp`` (NumPy or ``jax.numpy``) so one definition
serves both. Nothing here is generated from the symbolic side: these are the
independent oracle the derived gradients are checked against.
"""
from __future__ import annotations

import numpy as np

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
    return ACTIVATIONS[name]


def loss(name):
    return LOSSES[name]
