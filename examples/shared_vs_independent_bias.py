"""P1: does sharing one bias b between both layers change convergence speed or stability?

The shared model is the ``shared_bias`` derivation (h1 = tanh(W x + b),
ŷ = U h1 + b, squared error). For independent biases b1, b2 we reuse the
registered one-hidden-layer MLP (``input_gradient`` with ``layers=1``): it is
exactly h1 = tanh(W1 x + b1), ŷ = W2 h1 + b2 — the same graph with the two
occurrences of b left untied, so no new model needs declaring. Both start from
the same point (W1 = W, W2 = U, b1 = b2 = b) on the same data, made by a
shared-bias teacher that both models can represent, and are trained by gradient
descent on the mean loss with their derived gradients. The shared model's
∂L/∂b is recorded split into its two path contributions (hidden, output).

    python examples/shared_vs_independent_bias.py [--quick] [--out DIR]
"""
import numpy as np

from common import options, plt, save
from derive import derive
from numeric import compile_sweep

D, M, N, THRESHOLD = 4, 3, 200, 0.05
FUNCS = dict(activation="tanh", output_activation="identity", loss="mse")


def problem(seed):
    """Data from a shared-bias teacher (plus noise) and a common starting point."""
    rng = np.random.default_rng(seed)
    X, Wt, Ut, bt = rng.normal(size=(N, D)), rng.normal(size=(M, D)), rng.normal(size=(M, M)), rng.normal(size=M)
    Y = (Ut @ np.tanh(Wt @ X.T + bt[:, None]) + bt[:, None]).T + 0.1 * rng.normal(size=(N, M))
    return X, Y, rng.normal(size=(M, D)) / 2, rng.normal(size=(M, M)) / np.sqrt(M), rng.normal(size=M) / 10


def run(models, seed, lr, iters):
    """Loss per iteration for both models; for the shared one also ‖hidden‖, ‖output‖, ‖total‖ of ∂L/∂b
    and the cosine between the two path contributions."""
    X, Y, W, U, b = problem(seed)
    params = {"shared": {"W": W, "U": U, "b": b}, "independent": {"W1": W, "W2": U, "b1": b, "b2": b}}
    loss, paths = {k: np.full(iters, np.nan) for k in params}, np.full((iters, 4), np.nan)
    with np.errstate(all="ignore"):  # a divergent run overflows; that is a result, recorded as a non-finite loss
        for i in range(iters):
            for name, p in params.items():
                r = models[name]({**p, "x": X, "y": Y}, batch=True)
                loss[name][i] = r["loss"] / N
                if name == "shared":
                    (_, hidden), (_, output) = r["contributions"]["b"]
                    paths[i, :3] = [np.linalg.norm(v) / N for v in (hidden, output, r["gradients"]["b"])]
                    paths[i, 3] = hidden @ output / (np.linalg.norm(hidden) * np.linalg.norm(output))
                params[name] = {k: v - lr * r["gradients"][k] / N for k, v in p.items()}
    return loss, paths


def main(quick=False, out="examples/out", seed=0):
    seeds, iters, lrs, lr0 = (range(seed, seed + 2), 200, [0.3, 0.6], 0.3) if quick else \
        (range(seed, seed + 8), 300, [0.1, 0.3, 0.6, 1.0, 1.5], 0.3)
    models = {"shared": compile_sweep(derive("shared_bias", wrt=["W", "U", "b"], **FUNCS).sweep),
              "independent": compile_sweep(derive("input_gradient", layers=1, wrt=["W1", "b1", "W2", "b2"],
                                                  **FUNCS).sweep)}
    runs = {lr: [run(models, s, lr, iters) for s in seeds] for lr in lrs}
    # Speed at lr0: iterations until the mean loss first drops below THRESHOLD (the noise floor is 0.015).
    first = {k: [int(np.argmax(l[k] < THRESHOLD)) if np.any(l[k] < THRESHOLD) else None for l, _ in runs[lr0]]
             for k in ("shared", "independent")}
    med = {k: np.median([v if v is not None else np.inf for v in f]) for k, f in first.items()}
    print(f"lr = {lr0}, {len(seeds)} seeds: iterations until the loss < {THRESHOLD}")
    for k, f in first.items():
        print(f"  {k:<12} {['—' if v is None else v for v in f]}  median {med[k]}"
              f"  ({f.count(None)} of {len(f)} not within {iters})")
    # Stability: does the loss ever rise between iterations (oscillation), or end non-finite or above its start?
    print("seeds whose loss rose at some iteration (oscillation) / diverged (non-finite or above its start):")
    rose, diverged = {k: [] for k in first}, {k: [] for k in first}
    with np.errstate(all="ignore"):
        for lr in lrs:
            for k in first:
                rose[k].append(sum(bool(np.any(~(np.diff(l[k]) <= 0))) for l, _ in runs[lr]))
                diverged[k].append(sum(not l[k][-1] < l[k][0] for l, _ in runs[lr]))  # nan counts as diverged
            print(f"  lr {lr:<4}  " + "   ".join(f"{k} {rose[k][-1]}/{len(seeds)} rose, {diverged[k][-1]} diverged"
                                                for k in first))
    # How the two paths combine: the cosine between b̄₍₁₎ and b̄₍₂₎ (−1: they cancel, +1: they add up).
    cos = np.array([p[:, 3] for _, p in runs[lr0]])
    print(f"cosine between the hidden- and output-path contributions to ∂L/∂b at lr {lr0}: median "
          f"{np.nanmedian(cos):.2f} over all iterations and seeds ({np.mean(cos < 0):.0%} of them negative)")
    # The answer, from the numbers above: speed from the medians, stability from the largest learning rate
    # at which the loss never rose in any seed (the usual reading of "stable step size").
    stable = {k: max([lr for lr, n in zip(lrs, rose[k]) if n == 0], default=0) for k in first}
    speed = ("cannot tell: neither median reached the threshold" if med["shared"] == med["independent"] == np.inf
             else f"{'slows' if med['shared'] > med['independent'] else 'does not slow'} convergence")
    worse = "makes" if stable["shared"] < stable["independent"] else "does not make"
    print(f"answer (measured): sharing {speed} (median {med['shared']} vs {med['independent']} iterations at lr "
          f"{lr0}) and {worse} training less stable: the largest learning rate with the loss never rising is "
          f"{stable['shared']} shared vs {stable['independent']} independent (oscillating runs {sum(rose['shared'])} "
          f"vs {sum(rose['independent'])}, diverged {sum(diverged['shared'])} vs {sum(diverged['independent'])}, "
          f"of {len(seeds) * len(lrs)} each)")

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 4.2))
    for j, (l, _) in enumerate(runs[lr0]):
        a1.semilogy(l["shared"], color="tab:red", alpha=0.6, label="shared b" if j == 0 else None)
        a1.semilogy(l["independent"], color="tab:blue", ls="--", alpha=0.6,
                    label="independent b1, b2" if j == 0 else None)
    a1.set(xlabel="iteration", ylabel="mean training loss (log)", title=f"Loss, lr = {lr0}, {len(seeds)} seeds")
    paths = runs[lr0][0][1]
    labels = ["hidden path  b̄₍₁₎ = δ_hidden", "output path  b̄₍₂₎ = δ_out", "total ∂L/∂b"]
    for c, lab, col in zip(paths.T[:3], labels, ["tab:green", "tab:purple", "black"]):
        a2.semilogy(c, color=col, label=lab)
    a2.set(xlabel="iteration", ylabel="norm (mean over samples, log)", title=f"Shared ∂L/∂b by path (seed {seed})")
    x = np.arange(len(lrs))
    a3.bar(x - 0.2, rose["shared"], 0.4, color="tab:red", label="shared b")
    a3.bar(x + 0.2, rose["independent"], 0.4, color="tab:blue", label="independent b1, b2")
    a3.set_xticks(x, [str(v) for v in lrs])
    a3.set(xlabel="learning rate", ylabel=f"seeds (of {len(seeds)}) where the loss rose", title="Stability")
    for a in (a1, a2, a3):
        a.legend(fontsize=8)
    save(fig, out, "shared_vs_independent_bias.png")
    return {"median": med, "rose": rose}


if __name__ == "__main__":
    args = options(__doc__.splitlines()[0])
    main(args.quick, args.out, args.seed)
