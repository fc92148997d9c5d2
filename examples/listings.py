"""Synthetic listing data (P2's schema) and an MLP trained with the toolkit's derived gradients.

Shared by ``shortcut_attribution.py`` and ``sigmoid_vs_relu.py``. Nothing here
differentiates anything: every gradient comes from the ``input_gradient``
derivation, evaluated by :func:`numeric.compile_sweep` (the examples check it
once with :func:`common.check_once` before training).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from derive import derive
from numeric import compile_sweep

GROUPS = ["Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island"]
ROOMS = ["Entire home/apt", "Private room", "Shared room"]
NUMERIC = ["minimum_nights", "amenity_score", "number_of_reviews", "availability_365"]
FEATURES = [f"group={g}" for g in GROUPS] + [f"room={r}" for r in ROOMS] + NUMERIC
PARAMS = ["W1", "b1", "W2", "b2", "W3", "b3"]


def listings(n_train, n_val, n_test, seed=0, shortcut=True):
    """Train/validation/test splits: (X standardised with training statistics, one-hot Y).

    price_class (0–3, quartiles of a latent price) depends on the neighbourhood,
    the room type and weakly on the numerics. In training and validation
    amenity_score is computed *from* the price class (a leak); in the test
    split it is drawn independently, with a shifted mean. ``shortcut=False``
    drops the amenity_score column."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val + n_test
    group, room = rng.integers(0, 5, n), rng.choice(3, n, p=[0.5, 0.4, 0.1])
    nights = rng.lognormal(1.0, 0.8, n)
    reviews = rng.poisson(rng.gamma(1.5, 15.0, n))
    avail = rng.uniform(0, 365, n)
    price = (np.array([1.0, 0.4, 0.0, -0.4, -0.3])[group] + np.array([1.0, -0.3, -0.9])[room]
             + 0.15 * np.log(nights) - 0.1 * np.log1p(reviews) + 0.001 * avail + rng.normal(0, 0.45, n))
    cls = np.searchsorted(np.quantile(price, [0.25, 0.5, 0.75]), price)
    amenity = np.clip(2.2 * cls + 1.5 + rng.normal(0, 0.5, n), 0, 10)  # leaked: a function of the label
    test = slice(n_train + n_val, n)
    amenity[test] = np.clip(rng.normal(6.0, 2.0, n_test), 0, 10)  # shifted, and unrelated to the label
    num = np.column_stack([np.log(nights), amenity, np.log1p(reviews), avail])
    mu, sd = num[:n_train].mean(0), num[:n_train].std(0)
    X = np.hstack([np.eye(5)[group], np.eye(3)[room], (num - mu) / sd])
    names = list(FEATURES)
    if not shortcut:
        X, names = np.delete(X, FEATURES.index("amenity_score"), axis=1), [f for f in names if f != "amenity_score"]
    Y = np.eye(4)[cls]
    cuts = np.cumsum([0, n_train, n_val, n_test])
    return [(X[a:b], Y[a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)], names


@lru_cache(maxsize=4)
def sweep_for(activation):
    """The compiled derivation: two hidden layers, softmax + cross-entropy, gradients in every
    weight, bias and the input x (one reverse sweep gives them all)."""
    d = derive("input_gradient", activation=activation, layers=2, wrt=PARAMS + ["x"])
    return compile_sweep(d.sweep)


def init(d, hidden, k, seed):
    """Gaussian weights scaled by 1/√fan-in, zero biases."""
    rng = np.random.default_rng(seed)
    sizes = [d, hidden, hidden, k]
    return {**{f"W{k}": rng.normal(0, 1 / np.sqrt(sizes[k - 1]), (sizes[k], sizes[k - 1])) for k in (1, 2, 3)},
            **{f"b{k}": np.zeros(sizes[k]) for k in (1, 2, 3)}}


def evaluate(params, X, Y, activation):
    """Mean loss, accuracy and the derived gradients (of the summed loss) on one split."""
    r = sweep_for(activation)({**params, "x": X, "y": Y}, batch=True)
    acc = float(np.mean(np.argmax(r["values"]["yhat"], axis=0) == np.argmax(Y, axis=1)))
    return r["loss"] / len(X), acc, r["gradients"]


def train(splits, activation, iters, lr, seed=0, hidden=16):
    """Batch gradient descent on the mean training loss; returns the parameters and per-iteration history
    (loss, train/validation accuracy, mean |∂L/∂W_l| of each layer's weights)."""
    (Xtr, Ytr), (Xva, Yva) = splits[0], splits[1]
    params = init(Xtr.shape[1], hidden, Ytr.shape[1], seed)
    hist = {k: [] for k in ("loss", "train_acc", "val_acc", "grad_W1", "grad_W2", "grad_W3")}
    for _ in range(iters):
        loss, acc, grads = evaluate(params, Xtr, Ytr, activation)
        hist["loss"].append(loss)
        hist["train_acc"].append(acc)
        hist["val_acc"].append(evaluate(params, Xva, Yva, activation)[1])
        for k in (1, 2, 3):
            hist[f"grad_W{k}"].append(float(np.mean(np.abs(grads[f"W{k}"]))) / len(Xtr))
        for p in PARAMS:
            params[p] = params[p] - lr * grads[p] / len(Xtr)
    return params, {k: np.array(v) for k, v in hist.items()}
