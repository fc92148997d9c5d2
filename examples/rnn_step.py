"""P5: backpropagation through time for an RNN bias, checked by central differences, then one step each way.

A tanh RNN with softmax outputs and cross-entropy, unrolled over T steps. The
``rnn_bptt`` derivation unties b into one occurrence per step, so ∂L/∂b = Σ_t δ_t;
``checks.rnn.worked_solution`` evaluates it beside central differences of the
independent forward (``numeric.rnn_loss``) and takes one gradient-descent step.
Then the deliberately wrong step: b ← b + lr·∂L/∂b (ascent), which must raise the loss.

    python examples/rnn_step.py [--quick] [--out DIR]
"""
import numpy as np

from checks.rnn import worked_solution
from common import options, plt, save
from derive import derive
from numeric import rnn_loss

N_IN, M, K, LR = 2, 3, 3, 0.5


def instance(T, seed):
    """Random parameters, inputs and one-hot targets, keyed as the derivation's graph names them."""
    rng = np.random.default_rng(seed)
    v = {"W": rng.normal(0, 0.5, (M, M)), "U": rng.normal(0, 0.5, (M, N_IN)), "V": rng.normal(0, 0.5, (K, M)),
         "b": rng.normal(0, 0.5, M), "c": rng.normal(0, 0.5, K), "h0": np.zeros(M)}
    v |= {f"x{t}": rng.normal(size=N_IN) for t in range(1, T + 1)}
    return v | {f"y{t}": np.eye(K)[rng.integers(K)] for t in range(1, T + 1)}


def main(quick=False, out="examples/out", seed=0):
    """BPTT vs central differences on one RNN instance, then a descent and an ascent step on b."""
    T = 3 if quick else 5
    d = derive("rnn_bptt", steps=T)  # tanh hidden units, softmax outputs, cross-entropy (P5's defaults)
    values = instance(T, seed)
    w = worked_solution(d, values, lr=LR)

    def L(b):  # the loss as a function of b alone, from the independent forward
        return float(rnn_loss({**values, "b": b}, steps=T))

    bptt = np.array(w["gradient_reverse"])
    central = np.array([c["estimate"] for c in w["central_differences"]])
    print(f"T = {T}: L = {w['loss']:.6f}")
    print(f"∂L/∂b by BPTT (Σ_t δ_t)      = {np.array2string(bptt, precision=8)}")
    print(f"∂L/∂b by central differences = {np.array2string(central, precision=8)}")
    print(f"relative error: {w['rel_error_central_vs_reverse']:.1e} (per-step forward route vs reverse sweep: "
          f"{w['rel_error_per_step_vs_reverse']:.1e})")
    # One step each way with the same learning rate: only the sign differs.
    b = np.asarray(values["b"], dtype=float)
    down, up = w["step"]["loss_after"], L(b + LR * bptt)
    L0 = w["loss"]
    print(f"descent  b ← b − {LR}·∂L/∂b: L {L0:.6f} → {down:.6f} ({'down' if down < L0 else 'NOT down'})")
    print(f"ascent   b ← b + {LR}·∂L/∂b: L {L0:.6f} → {up:.6f} ({'up' if up > L0 else 'NOT up'})")

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    i = np.arange(M)
    deltas = np.array([r["reverse_delta"] for r in w["steps"]])  # δ_t = b̄₍ₜ₎, one row per time step
    bottom_pos, bottom_neg = np.zeros(M), np.zeros(M)
    for t, dt in enumerate(deltas, 1):  # stacked: the per-step contributions that BPTT sums
        base = np.where(dt >= 0, bottom_pos, bottom_neg)
        a1.bar(i - 0.2, dt, 0.4, bottom=base, label=rf"$\delta_{{{t}}}$ (step {t})", alpha=0.8)
        bottom_pos, bottom_neg = bottom_pos + np.maximum(dt, 0), bottom_neg + np.minimum(dt, 0)
    a1.bar(i + 0.2, central, 0.4, color="black", label="central differences")
    a1.plot(i - 0.2, bptt, "k_", ms=30, mew=2, label=r"BPTT total $\sum_t \delta_t$")
    a1.axhline(0, color="grey", lw=0.8)
    a1.set_xticks(i, [f"b[{j + 1}]" for j in i])
    a1.set(ylabel="∂L/∂b component", title="∂L/∂b: BPTT (stacked by step) vs central differences")
    lo, hi = a1.get_ylim()
    a1.set_ylim(lo, hi + 0.6 * (hi - lo))  # room for the legend above the bars
    a1.legend(fontsize=8, ncol=2, loc="upper center", markerscale=0.4)
    s = np.linspace(-1.5 * LR, 1.5 * LR, 61)  # the loss along the gradient direction, b + s·∂L/∂b
    a2.plot(s, [L(b + si * bptt) for si in s], color="tab:blue", label="L(b + s·∂L/∂b)")
    for si, lab, col in [(0, "start", "black"), (-LR, "descent step (s = −lr)", "tab:green"),
                         (LR, "ascent step (s = +lr, wrong)", "tab:red")]:
        a2.plot(si, L(b + si * bptt), "o", ms=9, color=col, label=f"{lab}: L = {L(b + si * bptt):.4f}")
    a2.set(xlabel="s (step along ∂L/∂b)", ylabel="loss L", title=f"One step on b, lr = {LR}")
    a2.legend(fontsize=8)
    save(fig, out, "rnn_step.png")
    return {"loss": w["loss"], "descent": down, "ascent": up, "rel_error": w["rel_error_central_vs_reverse"]}


if __name__ == "__main__":
    args = options(__doc__.splitlines()[0])
    main(args.quick, args.out, args.seed)
