"""Derive, prove and check time of every example model file and every built-in, as
ratios against ``python -c "import sympy"`` measured in the same run.

    python benchmarks/bench_models.py [--rounds 3] [--part models|builtins|first]

Each command is timed in a fresh process, best of ``--rounds``: with the proof
cache off (every run proves: the first run) and with it on (after one warm-up run
that fills it), and ``… --check``. The in-process split of a model file (sweep,
proof, check) comes from one extra run per model. ``first`` times the first runs
the issue asks about: ``rnn_bptt --steps 10`` with every ``--wrt`` and every
registered activation. Bytecode is written as in a user's environment (this
machine's ``PYTHONDONTWRITEBYTECODE`` is dropped for the timed processes, so
imports do not recompile every module). Nothing here is asserted.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted((ROOT / "examples" / "models").glob("*.gp"))


def _wall(cmd, rounds, cached=False):
    best = float("inf")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cached:
        env.pop("GRADPROOF_CACHE", None)
        subprocess.run(cmd, capture_output=True, check=False, env=env, cwd=ROOT)  # fills the proof cache
    else:
        env["GRADPROOF_CACHE"] = "off"
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, env=env, cwd=ROOT)
        best = min(best, time.perf_counter() - t)
    return best


def _split(path):
    """(sweep, proof, check) seconds in one process, after the imports."""
    sys.path.insert(0, str(ROOT))
    from checks.model_check import check_model
    from derive import load_model

    t0 = time.perf_counter()
    d = load_model(str(path))
    _ = d.sweep
    t1 = time.perf_counter()
    holds = d.proof.holds
    t2 = time.perf_counter()
    if d.spec.functions or d.spec.losses:  # generic g, ℓ: proved, but there are no numbers to check
        return t1 - t0, t2 - t1, None, holds
    passed = check_model(d, seed=0).passed
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2, holds and passed


TRACE = ["trace", "ln(sin(x1)) + x1*exp(x2)", "--at", "x1=pi/6", "x2=1", "--wrt", "x1"]  # P4, as the README runs it
BUILTINS = [["shared_bias"], ["input_gradient"], ["sigmoid_mlp"], TRACE, ["rnn_bptt"],
            ["rnn_bptt", "--wrt", "W,U,V,c"], ["beta_binomial"], ["normal_normal"]]


def _builtins(py, base, rounds):
    print("| built-in | first run (proves) | × import sympy | proof cached | × import sympy | `--check` |")
    print("|---|---:|---:|---:|---:|---:|")
    for argv in BUILTINS:
        cmd = [py, "-m", "derive", *argv]
        d, cached = _wall(cmd, rounds), _wall(cmd, rounds, cached=True)
        label = "trace (P4)" if argv is TRACE else " ".join(argv)
        # a trace is its own proof (exact SymPy values); it has no --check
        c = "—" if argv is TRACE else f"{_wall([*cmd, '--check'], rounds):.2f} s"
        print(f"| `{label}` | {d:.2f} s | {d / base:.1f} | {cached:.2f} s | {cached / base:.2f} | {c} |", flush=True)


ACTIVATIONS = ("tanh", "sigmoid", "relu", "softplus", "identity")
WRTS = ("b", "W", "U", "V", "c", "W,U,V,c")


def _first(py, base, rounds):
    print("| `rnn_bptt --steps 10` | " + " | ".join(f"`--activation {a}`" for a in ACTIVATIONS) + " |")
    print("|---|" + "---:|" * len(ACTIVATIONS))
    for wrt in WRTS:
        cells = [_wall([py, "-m", "derive", "rnn_bptt", "--steps", "10", "--wrt", wrt, "--activation", a], rounds)
                 for a in ACTIVATIONS]
        print(f"| `--wrt {wrt}` | " + " | ".join(f"{t:.1f} s" for t in cells) + " |", flush=True)


def _models(py, base, rounds):
    rows = []
    for path in MODELS:
        derive_s = _wall([py, "-m", "derive", str(path)], rounds)
        cached = _wall([py, "-m", "derive", str(path)], rounds, cached=True)
        sweep_s, proof_s, chk_s, ok = _split(path)
        check_s = _wall([py, "-m", "derive", str(path), "--check"], rounds) if chk_s is not None else None
        rows.append((path.name, derive_s, cached, check_s, sweep_s, proof_s, chk_s, ok))
    print("| model | first run | × import sympy | proof cached | × import sympy | `--check` | sweep | proof "
          "| check | proved and checked |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, d, cached, c, s, pr, ch, ok in rows:
        c_text, ch_text = ("—", "—") if ch is None else (f"{c:.2f} s", f"{ch:.2f} s")
        print(f"| `{name}` | {d:.2f} s | {d / base:.1f} | {cached:.2f} s | {cached / base:.2f} | {c_text} "
              f"| {s:.2f} s | {pr:.2f} s | {ch_text} | {'yes' if ok else 'NO'} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--part", choices=["models", "builtins", "first", "all"], default="all")
    args = p.parse_args(argv)
    py = sys.executable
    base = _wall([py, "-c", "import sympy"], args.rounds)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load {os.getloadavg()[0]:.2f}; "
          f"import sympy {base:.2f} s (best of {args.rounds})")
    parts = {"builtins": _builtins, "first": _first, "models": _models}
    for name, part in parts.items():
        if args.part in (name, "all"):
            part(py, base, args.rounds)


if __name__ == "__main__":
    main()
