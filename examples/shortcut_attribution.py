"""P2: a leaked shortcut feature, found by gradient attribution with the derived ∂L/∂x.

Listings with P2's schema (neighbourhood_group and room_type one-hot, four
standardised numerics, price_class ∈ {0, 1, 2, 3}); in training amenity_score
is computed from the price class, in the test split it is shifted and carries
no information. A two-hidden-layer sigmoid MLP trained with the toolkit's
derived gradients looks excellent on training and validation data and
collapses on the test split. Ranking the features by mean |∂L/∂xᵢ| names the
culprit; dropping it narrows the generalisation gap.

    python examples/shortcut_attribution.py [--quick] [--out DIR]
"""
import numpy as np

from common import check_once, options, plt, save
from listings import evaluate, init, listings, sweep_for, train
from numeric import mlp_loss

ACT, LR, HIDDEN = "sigmoid", 2.0, 16


def fit(sizes, iters, seed, shortcut):
    """Train on one version of the data; return parameters, splits, feature names, accuracies."""
    splits, names = listings(*sizes, seed=seed, shortcut=shortcut)
    params, _ = train(splits, ACT, iters, LR, seed=seed, hidden=HIDDEN)
    return params, splits, names, [evaluate(params, X, Y, ACT)[1] for X, Y in splits]


def main(quick=False, out="examples/out", seed=0):
    """Check the gradients, train with and without amenity_score, rank the features, plot both."""
    sizes, iters = ((400, 200, 400), 80) if quick else ((2000, 500, 1000), 300)
    # 1. The gradients we train with are the derivation's: check them once against JAX and FD.
    (Xtr, Ytr), *_ = listings(*sizes, seed=seed)[0]
    check_once(sweep_for(ACT), mlp_loss, init(Xtr.shape[1], HIDDEN, 4, seed), Xtr[:4], Ytr[:4], activation=ACT)
    # 2. Train on all twelve features, leak included.
    params, splits, names, acc = fit(sizes, iters, seed, shortcut=True)
    print(f"with amenity_score:    train {acc[0]:.3f}  validation {acc[1]:.3f}  test {acc[2]:.3f}")
    # 3. Attribution: per-sample ∂L/∂x comes out of the same reverse sweep; average its magnitude.
    G = evaluate(params, *splits[0], ACT)[2]["x"]  # N × 12, one row per training sample
    score = np.mean(np.abs(G), axis=0)
    order = np.argsort(-score)
    print("features by mean |∂L/∂xᵢ| over the training set:")
    for i in order:
        print(f"  {names[i]:<22} {score[i]:.4f}")
    print(f"top feature: {names[order[0]]} ({score[order[0]] / score[order[1]]:.1f}× the next)")
    # 4. Remove the top feature and train again from the same seed.
    _, _, _, acc2 = fit(sizes, iters, seed, shortcut=False)
    print(f"without amenity_score: train {acc2[0]:.3f}  validation {acc2[1]:.3f}  test {acc2[2]:.3f}")
    gap, gap2 = acc[0] - acc[2], acc2[0] - acc2[2]
    print(f"generalisation gap (train − test accuracy): {gap:.3f} with the shortcut, {gap2:.3f} without: "
          + ("removing it narrows the gap" if gap2 < gap else "removing it does NOT narrow the gap")
          + f"; test accuracy {acc[2]:.3f} → {acc2[2]:.3f}")

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.barh([names[i] for i in order[::-1]], score[order[::-1]],
            color=["tab:red" if names[i] == "amenity_score" else "tab:blue" for i in order[::-1]])
    ax.set_xlabel("mean |∂L/∂xᵢ| over the training set")
    ax.set_title(f"Feature attribution, {ACT} MLP ({iters} iterations)")
    save(fig, out, "shortcut_attribution.png")
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for j, (label, a) in enumerate([("with amenity_score", acc), ("without amenity_score", acc2)]):
        bars = ax.bar(np.arange(3) + (j - 0.5) * 0.38, a, 0.38, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(3), ["train", "validation", "test"])
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.25)
    ax.axhline(0.25, color="grey", ls=":", label="chance (4 classes)")
    ax.set_title("Accuracy with and without the shortcut feature")
    ax.legend(loc="upper center", ncol=3, fontsize=8)
    save(fig, out, "shortcut_accuracy.png")
    return {"ranking": [names[i] for i in order], "acc": acc, "acc_without": acc2}


if __name__ == "__main__":
    args = options(__doc__.splitlines()[0])
    main(args.quick, args.out, args.seed)
