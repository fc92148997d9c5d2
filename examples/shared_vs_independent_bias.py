"""P1: does sharing one bias b between both layers change convergence speed or stability?

Shared: the ``shared_bias`` derivation, h1 = tanh(W x + b), ŷ = U h1 + b, squared error.
Independent: the registered one-hidden-layer MLP (``input_gradient``, ``layers=1``) is exactly
h1 = tanh(W1 x + b1), ŷ = W2 h1 + b2 — the same graph with b's two occurrences untied — so no
new model needs declaring. Both start from the same point (W1 = W, W2 = U, b1 = b2 = b) on data
from a shared-bias teacher that both can represent, and descend on the mean loss with their
derived gradients; the shared ∂L/∂b is recorded split into its two path contributions.

    python examples/shared_vs_independent_bias.py [--quick] [--out DIR]
"""
import numpy as np

from common import check_once, options, plt, save
from derive import derive
from numeric import compile_sweep, mlp_loss, shared_bias_loss

D, M, N, THRESHOLD = 4, 3, 200, 0.05
FUNCS = dict(activation="tanh", output_activation="identity", loss="mse")
MODELS = {"shared": ("shared_bias", {}, shared_bias_loss), "independent": ("input_gradient", {"layers": 1}, mlp_loss)}


def problem(seed):
    """Data from a shared-bias teacher (plus noise) and each model's parameters at a common starting point."""
    rng = np.random.default_rng(seed)
    X, Wt, Ut, bt = rng.normal(size=(N, D)), rng.normal(size=(M, D)), rng.normal(size=(M, M)), rng.normal(size=M)
    Y = (Ut @ np.tanh(Wt @ X.T + bt[:, None]) + bt[:, None]).T + 0.1 * rng.normal(size=(N, M))
    W, U, b = rng.normal(size=(M, D)) / 2, rng.normal(size=(M, M)) / np.sqrt(M), rng.normal(size=M) / 10
    return X, Y, {"shared": {"W": W, "U": U, "b": b}, "independent": {"W1": W, "W2": U, "b1": b, "b2": b}}


def run(sweeps, seed, lr, iters):
    """Mean loss per iteration of both models; for the shared one the norms of its hidden-path and
    output-path contributions to ∂L/∂b, of ∂L/∂b, and the cosine between the two contributions."""
    X, Y, params = problem(seed)
    loss, paths = {k: np.full(iters, np.nan) for k in params}, np.full((iters, 4), np.nan)
    with np.errstate(all="ignore"):  # a divergent run overflows; that is a result, recorded as a non-finite loss
        for i in range(iters):
            for name, p in params.items():
                r = sweeps[name]({**p, "x": X, "y": Y}, batch=True)
                loss[name][i] = r["loss"] / N
                if name == "shared":
                    (_, hid), (_, out) = r["contributions"]["b"]
                    paths[i] = [*(np.linalg.norm(v) / N for v in (hid, out, r["gradients"]["b"])),
                                hid @ out / (np.linalg.norm(hid) * np.linalg.norm(out))]
                params[name] = {k: v - lr * r["gradients"][k] / N for k, v in p.items()}
    return loss, paths


def main(quick=False, out="examples/out", seed=0):
    """Train both models over several seeds and learning rates; print the comparison and P1's answer."""
    seeds, iters, lrs, lr0 = (range(seed, seed + 2), 200, [0.3, 0.6], 0.3) if quick else \
        (range(seed, seed + 8), 300, [0.1, 0.3, 0.6, 1.0, 1.5], 0.3)
    sweeps = {k: compile_sweep(derive(name, wrt=list(problem(0)[2][k]), **FUNCS, **extra).sweep)
              for k, (name, extra, _) in MODELS.items()}
    X, Y, start = problem(seed)  # the derived gradients at the start, once, on 3 samples
    for k, (_, extra, forward) in MODELS.items():
        check_once(sweeps[k], forward, start[k], X[:3], Y[:3], f"{k}: ", **FUNCS, **extra)
    runs = {lr: [run(sweeps, s, lr, iters) for s in seeds] for lr in lrs}
    # Speed at lr0: iterations until the mean loss first drops below THRESHOLD (the noise floor is 0.015).
    first = {k: [int(np.argmax(hist[k] < THRESHOLD)) if np.any(hist[k] < THRESHOLD) else None for hist, _ in runs[lr0]]
             for k in MODELS}
    med = {k: np.median([np.inf if v is None else v for v in f]) for k, f in first.items()}
    print(f"lr = {lr0}, {len(seeds)} seeds: iterations until the loss < {THRESHOLD}")
    for k, f in first.items():
        print(f"  {k:<12} {['—' if v is None else v for v in f]}  median {med[k]}  "
              f"({f.count(None)} of {len(f)} not within {iters})")
    # Stability: the loss rising between iterations (oscillation), or ending non-finite or above its start.
    print("seeds whose loss rose at some iteration (oscillation) / diverged (non-finite or above its start):")
    with np.errstate(all="ignore"):
        rose = {k: [sum(bool(np.any(~(np.diff(hist[k]) <= 0))) for hist, _ in runs[lr]) for lr in lrs] for k in MODELS}
        diverged = {k: [sum(not hist[k][-1] < hist[k][0] for hist, _ in runs[lr]) for lr in lrs] for k in MODELS}
    for j, lr in enumerate(lrs):
        print(f"  lr {lr:<4}  " + "   ".join(f"{k} {rose[k][j]}/{len(seeds)} rose, {diverged[k][j]} diverged"
                                            for k in MODELS))
    # How the two paths combine: the cosine between b̄₍₁₎ and b̄₍₂₎ (−1: they cancel, +1: they add up).
    cos = np.array([p[:, 3] for _, p in runs[lr0]])
    print(f"cosine between the hidden- and output-path contributions to ∂L/∂b at lr {lr0}: median "
          f"{np.nanmedian(cos):.2f} over all iterations and seeds ({np.mean(cos < 0):.0%} of them negative)")
    # The answer from these numbers: speed from the medians; stability from the largest learning rate
    # at which the loss never rose in any seed.
    stable = {k: max([lr for lr, n in zip(lrs, rose[k], strict=True) if n == 0], default=0) for k in MODELS}
    speed = ("cannot tell: neither median reached the threshold" if med["shared"] == med["independent"] == np.inf
             else f"{'slows' if med['shared'] > med['independent'] else 'does not slow'} convergence")
    print(f"answer (measured): sharing {speed} (median {med['shared']} vs {med['independent']} iterations at lr "
          f"{lr0}) and {'makes' if stable['shared'] < stable['independent'] else 'does not make'} training less "
          f"stable: the largest learning rate with the loss never rising is {stable['shared']} shared vs "
          f"{stable['independent']} independent (oscillating runs {sum(rose['shared'])} vs {sum(rose['independent'])}"
          f", diverged {sum(diverged['shared'])} vs {sum(diverged['independent'])}, of {len(seeds) * len(lrs)} each)")

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 4.2))
    for j, (hist, _) in enumerate(runs[lr0]):
        a1.semilogy(hist["shared"], color="tab:red", alpha=0.6, label=None if j else "shared b")
        a1.semilogy(hist["independent"], color="tab:blue", ls="--", alpha=0.6,
                    label=None if j else "independent b1, b2")
    a1.set(xlabel="iteration", ylabel="mean training loss (log)", title=f"Loss, lr = {lr0}, {len(seeds)} seeds")
    labels = ["hidden path  b̄₍₁₎ = δ_hidden", "output path  b̄₍₂₎ = δ_out", "total ∂L/∂b"]
    for c, lab, col in zip(runs[lr0][0][1].T[:3], labels, ["tab:green", "tab:purple", "black"], strict=True):
        a2.semilogy(c, color=col, label=lab)
    a2.set(xlabel="iteration", ylabel="norm, gradient of the mean loss (log)",
           title=f"Shared ∂L/∂b by path (seed {seed})")
    x = np.arange(len(lrs))
    a3.bar(x - 0.2, rose["shared"], 0.4, color="tab:red", label="shared b")
    a3.bar(x + 0.2, rose["independent"], 0.4, color="tab:blue", label="independent b1, b2")
    a3.set_xticks(x, [str(v) for v in lrs])
    a3.set(xlabel="learning rate", ylabel=f"seeds (of {len(seeds)}) where the loss rose", title="Stability")
    for a in (a1, a2, a3):
        a.legend(fontsize=8)
    save(fig, out, "shared_vs_independent_bias.png")
    return {"median": med, "rose": rose, "diverged": diverged}


if __name__ == "__main__":
    args = options(__doc__.splitlines()[0])
    main(args.quick, args.out, args.seed)
