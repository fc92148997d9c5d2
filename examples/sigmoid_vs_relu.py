"""P2's training experiment: sigmoid vs ReLU hidden units, and how gradients flow to the first layer.

The two-hidden-layer MLP of ``shortcut_attribution.py`` is trained on the
listings without the leaked feature, once with sigmoid and once with ReLU
hidden units: same data, same initial weights, same learning rate, batch
gradient descent with the derived gradients (checked once against JAX). Per
iteration we record training and validation accuracy and the mean |∂L/∂W|
of each hidden layer's weights. σ′ ≤ 1/4, so every sigmoid layer shrinks the
signal flowing back; ReLU passes it unchanged where a unit is active.

    python examples/sigmoid_vs_relu.py [--quick] [--out DIR]
"""
import numpy as np

from common import check_once, options, plt, save
from listings import init, listings, sweep_for, train
from numeric import mlp_loss

LR, HIDDEN = 0.5, 16
ACTS = {"sigmoid": "tab:blue", "relu": "tab:orange"}


def main(quick=False, out="examples/out", seed=0):
    """Train the sigmoid and the ReLU network from the same start; print and plot the comparison."""
    sizes, iters = ((400, 200, 200), 60) if quick else ((2000, 500, 1000), 300)
    splits, names = listings(*sizes, seed=seed, shortcut=False)
    X, Y = splits[0]
    hist = {}
    for act in ACTS:
        check_once(sweep_for(act), mlp_loss, init(X.shape[1], HIDDEN, 4, seed), X[:4], Y[:4], f"{act}: ",
                   activation=act)
        hist[act] = train(splits, act, iters, LR, seed=seed, hidden=HIDDEN)[1]  # same seed: same initial weights
    # Convergence speed: the first iteration at which validation accuracy reaches 90 % of the better final one.
    target = 0.9 * max(h["val_acc"][-1] for h in hist.values())
    early = slice(0, min(50, iters))
    print(f"{'':9} {'train acc':>9} {'val acc':>8} {'iters to val ≥ ' + format(target, '.3f'):>20}"
          f" {'mean|∂L/∂W1|':>13} {'mean|∂L/∂W2|':>13} {'W1/W2 (first 50)':>17}")
    reached = {}
    for act, h in hist.items():
        hit = np.flatnonzero(h["val_acc"] >= target)
        reached[act] = int(hit[0]) if hit.size else None
        g1, g2 = h["grad_W1"][early].mean(), h["grad_W2"][early].mean()
        print(f"{act:9} {h['train_acc'][-1]:9.3f} {h['val_acc'][-1]:8.3f} {str(reached[act]):>20}"
              f" {h['grad_W1'].mean():13.2e} {h['grad_W2'].mean():13.2e} {g1 / g2:17.2f}")
    s, r = hist["sigmoid"], hist["relu"]
    print(f"first-layer gradient, ReLU / sigmoid (mean over the first {early.stop} iterations): "
          f"{r['grad_W1'][early].mean() / s['grad_W1'][early].mean():.1f}×")
    done = {a: n for a, n in reached.items() if n is not None}
    if done:
        first = min(done, key=done.get)
        other = [a for a in ACTS if a != first][0]
        print(f"{first} reaches validation accuracy {target:.3f} first: after {done[first]} iterations, {other} "
              + (f"after {done[other]}" if other in done else f"not within {iters}"))

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    it = np.arange(iters)
    for act, c in ACTS.items():
        a1.plot(it, hist[act]["train_acc"], color=c, label=f"{act}, training")
        a1.plot(it, hist[act]["val_acc"], color=c, ls="--", label=f"{act}, validation")
        a2.semilogy(it, hist[act]["grad_W1"], color=c, label=f"{act}, layer 1 (W1)")
        a2.semilogy(it, hist[act]["grad_W2"], color=c, ls="--", label=f"{act}, layer 2 (W2)")
    a1.set(xlabel="iteration", ylabel="accuracy", title="Accuracy (same data, initialisation, lr)")
    a2.set(xlabel="iteration", ylabel="mean |∂L/∂W| (log scale)", title="Gradient magnitude of the hidden layers")
    a1.legend(fontsize=8)
    a2.legend(fontsize=8)
    save(fig, out, "sigmoid_vs_relu.png")
    return {"reached": reached, "hist": hist}


if __name__ == "__main__":
    args = options(__doc__.splitlines()[0])
    main(args.quick, args.out, args.seed)
