"""Time the shared-bias gradient three ways, side by side in one run, as ratios.

    python benchmarks/bench_shared_bias.py [--repeat N]

Rows: the derived gradient (engine expressions evaluated with NumPy), jax.grad
of the independent forward (jitted, compile excluded), and Richardson finite
differences of the independent NumPy forward. Ratios are against jax.grad
(jit) measured in the same process. Also the CLI's wall time against
``python -c "import sympy"``. Prints a Markdown table for the README.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from checks import random_params
from derive import derive
from numeric import FORWARDS, compile_sweep, richardson
from numeric.autodiff import jax, jnp


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def wall(cmd, repeat=3):
    return best(lambda: subprocess.run(cmd, capture_output=True, check=True), repeat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    f = FORWARDS["shared_bias"]
    combo = ("tanh", "sigmoid", "bce")
    d = derive("shared_bias", activation=combo[0], output_activation=combo[1], loss=combo[2])
    run = compile_sweep(d.sweep)
    rows = []
    for n in (4, 64, 256):
        v = random_params(d.graph, {"d": n, "m": n}, "bce", np.random.default_rng(0))
        jv = {k: jnp.asarray(x) for k, x in v.items()}
        g = jax.jit(jax.grad(lambda b, jv=jv: f({**jv, "b": b}, *combo, xp=jnp)))
        g(jv["b"]).block_until_ready()
        t_jax = best(lambda g=g, jv=jv: g(jv["b"]).block_until_ready(), args.repeat)
        t_der = best(lambda v=v: run(v), args.repeat)
        t_fd = best(lambda v=v: richardson(lambda b: f({**v, "b": b}, *combo), v["b"]), max(3, args.repeat // 5))
        rows.append((n, t_der, t_jax, t_fd))
    cli = wall([sys.executable, "-m", "derive", "shared_bias"])
    cli_np = wall([sys.executable, "-m", "derive", "shared_bias", "--no-proof"])
    base = wall([sys.executable, "-c", "import sympy"])
    print(f"shared_bias, {combo[0]} / {combo[1]} / {combo[2]}, best of {args.repeat}; ratios vs jax.grad (jit)\n")
    print("| d = m | derived (NumPy) | jax.grad (jit) | Richardson FD |")
    print("|---|---|---|---|")
    for n, a, b, c in rows:
        print(f"| {n} | {a * 1e6:.0f} µs ({a / b:.1f}×) | {b * 1e6:.0f} µs (1×) | {c * 1e3:.2f} ms ({c / b:.0f}×) |")
    print("\n| command | wall time | vs `python -c 'import sympy'` |\n|---|---|---|")
    print(f"| `python -m derive shared_bias` | {cli:.2f} s | {cli / base:.1f}× |")
    print(f"| `python -m derive shared_bias --no-proof` | {cli_np:.2f} s | {cli_np / base:.1f}× |")


if __name__ == "__main__":
    main()
