"""Derive, prove and check time of every example model file and every built-in, as
ratios against ``python -c "import sympy"`` measured in the same run.

    python benchmarks/bench_models.py [--rounds 3] [--part models|builtins]

Each model is timed in a fresh process (``python -m derive FILE.gp`` and
``… --check``), best of ``--rounds``; the in-process split (sweep, proof,
check) comes from one extra run per model. The built-ins are timed the same way
with the proof cache off (every run proves). Nothing here is asserted.
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


def _wall(cmd, rounds):
    best = float("inf")
    env = {**os.environ, "GRADPROOF_CACHE": "off", "PYTHONPATH": str(ROOT)}
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
    print("| built-in | `python -m derive NAME` (proves) | × import sympy | `--check` | × import sympy |")
    print("|---|---:|---:|---:|---:|")
    for argv in BUILTINS:
        d = _wall([py, "-m", "derive", *argv], rounds)
        label = "trace (P4)" if argv is TRACE else " ".join(argv)
        if argv is TRACE:  # a trace is its own proof (exact SymPy values); it has no --check
            print(f"| `{label}` | {d:.2f} s | {d / base:.1f} | — | — |")
            continue
        c = _wall([py, "-m", "derive", *argv, "--check"], rounds)
        print(f"| `{label}` | {d:.2f} s | {d / base:.1f} | {c:.2f} s | {c / base:.1f} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--part", choices=["models", "builtins", "all"], default="all")
    args = p.parse_args(argv)
    py = sys.executable
    base = _wall([py, "-c", "import sympy"], args.rounds)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load {os.getloadavg()[0]:.2f}; "
          f"import sympy {base:.2f} s (best of {args.rounds})")
    if args.part in ("builtins", "all"):
        _builtins(py, base, args.rounds)
    if args.part == "builtins":
        return
    rows = []
    for path in MODELS:
        derive_s = _wall([py, "-m", "derive", str(path)], args.rounds)
        sweep_s, proof_s, chk_s, ok = _split(path)
        check_s = _wall([py, "-m", "derive", str(path), "--check"], args.rounds) if chk_s is not None else None
        rows.append((path.name, derive_s, derive_s / base, check_s, sweep_s, proof_s, chk_s, ok))
    head = ("| model | `python -m derive FILE` | × import sympy | `--check` | sweep | proof | check "
            "| proved and checked |",
            "|---|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(head))
    for name, d, r, c, s, pr, ch, ok in rows:
        c_text, ch_text = ("—", "—") if ch is None else (f"{c:.2f} s", f"{ch:.2f} s")
        print(f"| `{name}` | {d:.2f} s | {r:.1f} | {c_text} | {s:.2f} s | {pr:.2f} s | {ch_text} | "
              f"{'yes' if ok else 'NO'} |")


if __name__ == "__main__":
    main()
