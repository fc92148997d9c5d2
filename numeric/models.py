"""Forward passes of the models, written from the problem statements.

These never look at the symbolic graph; ``checks`` compares them with the
lambdified loss of the graph and differentiates them with JAX and finite
differences. Each takes a dict of arrays (vectors 1-D), the derivation's
options as keywords, and the array module ``xp``.
"""
from __future__ import annotations

import numpy as np

from .functions import activation as _act, loss as _loss

__all__ = ["shared_bias_loss", "mlp_loss", "sigmoid_mlp_loss", "rnn_loss", "FORWARDS"]


def shared_bias_loss(p, activation, output_activation, loss, xp=np):
    """P1: h1 = g(W x + b), ŷ = g1(U h1 + b), L = ℓ(ŷ, y), with one b."""
    g, g1, ell = _act(activation), _act(output_activation), _loss(loss)
    h1 = g(p["W"] @ p["x"] + p["b"], xp)
    yhat = g1(p["U"] @ h1 + p["b"], xp)
    return ell(yhat, p["y"], xp)


def mlp_loss(p, activation, output_activation="softmax", loss="ce", layers=None, xp=np):
    """P2: h_l = g(W_l h_{l−1} + b_l) for l = 1…layers, ŷ = softmax(W_{L+1} h_L + b_{L+1}), L = ce(ŷ, y)."""
    n = layers if layers is not None else sum(1 for k in p if k.startswith("W")) - 1
    g = _act(activation)
    h = p["x"]
    for k in range(1, n + 1):
        h = g(p[f"W{k}"] @ h + p[f"b{k}"], xp)
    yhat = _act(output_activation)(p[f"W{n + 1}"] @ h + p[f"b{n + 1}"], xp)
    return _loss(loss)(yhat, p["y"], xp)


def sigmoid_mlp_loss(p, activation="sigmoid", output_activation="sigmoid", loss="bce", xp=np):
    """P3: a1 = W1 x + b1, z1 = σ(a1), ŷ = σ(W2 z1 + b2), L = −(y log ŷ + (1 − y) log(1 − ŷ))."""
    z1 = _act(activation)(p["W1"] @ p["x"] + p["b1"], xp)
    yhat = _act(output_activation)(p["W2"] @ z1 + p["b2"], xp)
    return _loss(loss)(yhat, p["y"], xp)


def rnn_loss(p, activation="tanh", output_activation="softmax", loss="ce", steps=None, xp=np):
    """P5: a_t = W h_{t−1} + U x_t + b, h_t = g(a_t), ŷ_t = softmax(V h_t + c), L = Σ_t ℓ(ŷ_t, y_t).

    Inputs x1…xT and targets y1…yT, initial state h0 (the problem's h₋₁)."""
    T = steps if steps is not None else sum(1 for k in p if k[:1] == "x" and k[1:].isdigit())
    g, out, ell = _act(activation), _act(output_activation), _loss(loss)
    h, total = p["h0"], 0.0
    for t in range(1, T + 1):
        h = g(p["W"] @ h + p["U"] @ p[f"x{t}"] + p["b"], xp)
        total = total + ell(out(p["V"] @ h + p["c"], xp), p[f"y{t}"], xp)
    return total


FORWARDS = {"shared_bias": shared_bias_loss, "input_gradient": mlp_loss, "sigmoid_mlp": sigmoid_mlp_loss,
            "rnn_bptt": rnn_loss}
