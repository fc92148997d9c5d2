"""Generated gradients against jax.jit(jax.grad), and the cheap-gradient ratio.

    python benchmarks/bench_perf.py [--quick] [--models rnn_bptt] [--widths 256] [--batches 64,1024]

Everything is measured in one run and reported as ratios of times taken in that
run; contenders are timed in interleaved rounds (best of the rounds), so a
noisy shared machine disturbs each about equally. Prints Markdown tables for the
README. ``--quick`` runs fewer sizes and rounds (a smoke test; about a minute).

1. Gradient of the loss summed over a batch: the generated NumPy and JAX code
   (``numeric.compile_gradient``, ``.gradient``: the gradients alone, as
   jax.grad returns them) against ``jax.jit(jax.grad(loss))``, where
   ``loss`` is the independent forward of ``numeric/models.py`` summed over the
   batch with ``jax.vmap`` (what one would write without this package). All
   arrays float64. Also gradient time / forward (loss only) time of the
   generated code.

Start-up and first runs are timed by ``bench_models.py``, proofs against model
size by ``bench_scaling.py``.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from derive import derive  # noqa: E402
from numeric import FORWARDS, compile_gradient  # noqa: E402
from numeric.autodiff import jax, jnp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

MODELS = {
    # name: (derive options, sizes as a function of the width w, label)
    "shared_bias": ({"activation": "tanh", "output_activation": "sigmoid", "loss": "bce"},
                    lambda w: {"d": w, "m": w}, "shared_bias (tanh, σ, bce; ∂L/∂b)"),
    "input_gradient": ({"activation": "tanh", "layers": 2},
                       lambda w: {"d": w, "m1": w, "m2": w, "k": w},
                       "input_gradient, 2 layers (tanh, softmax, ce; ∂L/∂x)"),
    "rnn_bptt": ({"steps": 50}, lambda w: {"n": w, "m": w, "k": w}, "rnn_bptt, T = 50 (tanh, softmax, ce; ∂L/∂b)"),
}




def rounds(groups: list, n: int, budget: float) -> dict:
    """Best time of each function over interleaved rounds (at least n, more while under budget).

    ``groups`` is a list of dicts of functions; each round runs the groups in turn
    and each group's functions in an order rotated every round, so that no function
    always runs right after another (OpenBLAS threads keep spinning for a while
    after a NumPy product and slow whatever runs next on a 2-core machine)."""
    best = {k: float("inf") for g in groups for k in g}
    start, r = time.perf_counter(), 0
    while r < n or (time.perf_counter() - start < budget and r < 50):
        for g in groups:
            items = list(g.items())
            items = items[r % len(items):] + items[:r % len(items)]
            for k, f in items:
                t = time.perf_counter()
                f()
                best[k] = min(best[k], time.perf_counter() - t)
        r += 1
    return best



def _timed(base, ours_jax, ours_np, jv, v):
    """The timed calls of one cell: [JAX group, NumPy group]."""
    return [{"jax": lambda: block(base(jv)),
             "ojax": lambda: block(ours_jax.gradient(jv)),
             "jax_fwd": lambda: block(ours_jax.loss(jv))},
            {"np": lambda: ours_np.gradient(v),
             "np_fwd": lambda: ours_np.loss(v)}]

def batch_values(d, sizes, n, rng):
    """Parameters at ``sizes`` (weights scaled by 1/√fan-in) and n samples of inputs and targets."""
    dims = {d.graph.dim(k): v for k, v in sizes.items()}
    out = {}
    loss = d.options["loss"]
    for node in d.graph.nodes.values():
        if node.kind not in ("param", "input", "target"):
            continue
        r, c = (int(s.subs(dims)) if hasattr(s, "subs") else int(s) for s in node.shape)
        if node.kind == "param":
            out[node.name] = rng.normal(size=(r, c)) / np.sqrt(c) if c > 1 else 0.1 * rng.normal(size=r)
        elif node.kind == "input":
            out[node.name] = rng.normal(size=(n, r))
        elif loss == "ce":
            out[node.name] = rng.dirichlet(np.ones(r), size=n)
        else:
            out[node.name] = rng.uniform(0.05, 0.95, size=(n, r))
    return out


def jax_baseline(name, d):
    """jax.jit(jax.grad) of the independent forward summed over the batch, w.r.t. the derivation's wrt."""
    forward = FORWARDS[name]
    opts = {k: d.options[k] for k in ("activation", "output_activation", "loss")}
    per_sample = [n.name for n in d.graph.nodes.values() if n.kind in ("input", "target")]
    wrt = list(d.spec.wrt)

    def total(sub, rest):
        q = {**rest, **sub}
        shared = {k: v for k, v in q.items() if k not in per_sample}
        batched = {k: q[k] for k in per_sample}
        return jnp.sum(jax.vmap(lambda s: forward({**shared, **s}, xp=jnp, **opts))(batched))

    g = jax.jit(jax.grad(total))
    return lambda jv: g({k: jv[k] for k in wrt}, {k: v for k, v in jv.items() if k not in wrt})


def block(x):
    return jax.block_until_ready(x)


def gradient_table(widths, batches, n_rounds, budget, models=None):
    rows = []
    rng = np.random.default_rng(0)
    for name, (opts, sizes_of, label) in MODELS.items():
        if models and name not in models:
            continue
        d = derive(name, **opts)
        ours_np, ours_jax = compile_gradient(d, "numpy"), compile_gradient(d, "jax")
        base = jax_baseline(name, d)
        for w in widths:
            for n in batches:
                v = batch_values(d, sizes_of(w), n, rng)
                jv = {k: jnp.asarray(a) for k, a in v.items()}
                # compile, and check once that all three agree before timing them
                g_np, g_jax, g_base = ours_np.gradient(v), block(ours_jax.gradient(jv)), block(base(jv))
                for p in d.spec.wrt:
                    scale = float(np.max(np.abs(g_base[p])))
                    err = max(float(np.max(np.abs(g_np[p] - g_base[p]))),
                              float(np.max(np.abs(np.asarray(g_jax[p]) - g_base[p])))) / scale
                    if not err < 1e-10:
                        raise SystemExit(f"{name} w={w} N={n}: generated gradient differs from jax.grad ({err:.2e})")
                block(ours_jax.loss(jv))
                t = rounds(_timed(base, ours_jax, ours_np, jv, v), n_rounds, budget)
                rows.append((label, w, n, t))
                print(f"  {name:15s} w={w:<4d} N={n:<5d} jax.grad {t['jax'] * 1e3:9.3f} ms   "
                      f"numpy ×{t['np'] / t['jax']:.2f}   jax ×{t['ojax'] / t['jax']:.2f}", file=sys.stderr, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and rounds (a smoke test)")
    ap.add_argument("--models", type=_names, help="gradient table: only these models (comma-separated)")
    ap.add_argument("--widths", type=_ints, help="gradient table: only these widths, e.g. 256")
    ap.add_argument("--batches", type=_ints, help="gradient table: only these batch sizes, e.g. 64,1024")
    args = ap.parse_args()
    if args.quick:
        widths, batches, n_rounds, budget = (16, 256), (1, 1024), 1, 0.0
    else:
        widths, batches, n_rounds, budget = (16, 256), (1, 64, 1024), 3, 2.0
    grads = gradient_table(args.widths or widths, args.batches or batches, n_rounds, budget, args.models)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"Machine: {os.cpu_count()} cores, CPU only, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, JAX {jax.__version__}; float64; load average {load:.1f} at the end; "
          f"`python benchmarks/bench_perf.py{' --quick' if args.quick else ''}{_selection(args)}`\n")
    if grads:
        print("Gradient of the batch loss: time of ours / time of `jax.jit(jax.grad(loss))` (below 1: ours is "
              "faster); gradient / forward is the generated gradient's time over the generated forward's.\n")
        print("| model | width | batch | jax.grad (jit) | NumPy / JAX | generated JAX / JAX | grad / fwd (NumPy) "
              "| grad / fwd (JAX) |")
        print("|---|---|---|---|---|---|---|---|")
        for label, w, n, t in grads:
            print(f"| {label} | {w} | {n} | {_ms(t['jax'])} | {t['np'] / t['jax']:.2f} | {t['ojax'] / t['jax']:.2f} "
                  f"| {t['np'] / t['np_fwd']:.2f} | {t['ojax'] / t['jax_fwd']:.2f} |")
        print()


def _selection(args):
    out = f" --models {','.join(args.models)}" if args.models else ""
    out += f" --widths {','.join(map(str, args.widths))}" if args.widths else ""
    return out + (f" --batches {','.join(map(str, args.batches))}" if args.batches else "")


def _names(text):
    names = [s for s in text.split(",") if s]
    unknown = [s for s in names if s not in MODELS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown model {unknown[0]!r}; choose from: {', '.join(MODELS)}")
    return names


def _ints(text):
    return tuple(int(s) for s in text.split(",") if s)


def _ms(t):
    return f"{t * 1e6:.0f} µs" if t < 1e-3 else f"{t * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
