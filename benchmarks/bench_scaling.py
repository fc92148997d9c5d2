"""How derivation, proof and check time grow with the model: depth, unrolling, width.

    python benchmarks/bench_scaling.py [--part depth|steps|width|all] [--timeout 120]

Every cell runs in a fresh process with the proof cache off and times, after the
imports, the derivation (the matrix-form sweep and its text without the proof),
the proof against ``sympy.diff`` and the numeric check (JAX and finite
differences), each separately. A cell that runs past ``--timeout`` is reported as
stopped. It prints Markdown tables for the README; nothing here is asserted.

* depth: a model file of L tanh layers (width m, input d, squared error), ∂L/∂ every
  weight and bias, proved at the model file's default sizes;
* steps: ``rnn_bptt`` unrolled T steps, ∂L/∂b and ∂L/∂W,U,V,c, proved at its sizes at every T
  (the command line proves up to T = 30 with tanh in the default budget; T = 50 with a longer one);
* width: the ``shared_bias`` proof at m = d = 2…8, generic and tanh / σ / bce.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CELL = """
import json, sys, time
spec = json.loads(sys.argv[1])
from derive import derive, model
t0 = time.perf_counter()
if spec["kind"] == "model":
    d = model(spec["text"], name="deep")
else:
    d = derive(spec["name"], wrt=spec.get("wrt"), **spec["options"])
if spec.get("sizes"):
    d.spec.proof_sizes = spec["sizes"]
d.text(proof=False)
t1 = time.perf_counter()
holds = d.proof.holds if spec.get("prove", True) else True
t2 = time.perf_counter()
check = None
if spec.get("check"):
    if spec["kind"] == "model":
        from checks.model_check import check_model
        passed = check_model(d, seed=0).passed
    else:
        from checks.derivation_check import check_derivation
        passed = check_derivation(spec["name"], spec["options"], seed=0, wrt=spec.get("wrt")).passed
    check = time.perf_counter() - t2
    holds = holds and passed
proof = t2 - t1 if spec.get("prove", True) else None
print(json.dumps({"derive": t1 - t0, "proof": proof, "check": check, "ok": holds}))
"""


def deep_model(layers: int) -> str:
    """A model file of ``layers`` tanh layers and a linear output, squared error."""
    lines = ["input x[d]", "target y[k]"]
    dims = ["d"] + ["m"] * layers
    for n in range(1, layers + 1):
        lines += [f"param W{n}[m, {dims[n - 1]}]", f"param b{n}[m]"]
    lines += [f"param V[k, {dims[-1]}]"]
    prev = "x"
    for n in range(1, layers + 1):
        lines.append(f"h{n} = tanh(W{n} @ {prev} + b{n})")
        prev = f"h{n}"
    lines += [f"L = mse(V @ {prev}, y)", "wrt " + ", ".join([f"W{n}, b{n}" for n in range(1, layers + 1)] + ["V"])]
    return "\n".join(lines) + "\n"


def run_cell(spec: dict, timeout: float):
    env = {**os.environ, "GRADPROOF_CACHE": "off", "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        out = subprocess.run([sys.executable, "-c", _CELL, json.dumps(spec)], capture_output=True, text=True,
                             cwd=ROOT, env=env, timeout=timeout, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as e:
        return {"error": (e.stderr or "").strip().splitlines()[-1:]}


def _s(t):
    return "—" if t is None else f"{t:.2f} s"


def _row(label, r, timeout):
    if r is None:
        return f"| {label} | > {timeout:.0f} s (stopped) | | | |"
    if "error" in r:
        return f"| {label} | error: {r['error']} | | | |"
    return f"| {label} | {_s(r['derive'])} | {_s(r['proof'])} | {_s(r['check'])} | {'yes' if r['ok'] else 'NO'} |"


def _table(title, rows, timeout):
    print(f"\n| {title} | derivation | proof | check | proved and checked |\n|---|---:|---:|---:|---|")
    for label, spec in rows:
        r = run_cell(spec, timeout)
        print(_row(label, r, timeout), flush=True)


def depth(timeout):
    rows = [(f"L = {n} tanh layer{'s' if n > 1 else ''}", {"kind": "model", "text": deep_model(n), "check": True})
            for n in range(1, 6)]
    _table("depth (model file, ∂L/∂ every W, b, V)", rows, timeout)


def steps(timeout):
    rows = []
    for wrt in (["b"], ["W", "U", "V", "c"]):
        for T in (1, 2, 3, 5, 10, 15, 20, 30, 50):  # the CLI proves up to T = 30 (derive.models.rnn)
            rows.append((f"T = {T}, ∂L/∂{','.join(wrt)}", {"kind": "builtin", "name": "rnn_bptt", "wrt": wrt,
                                                           "options": {"steps": T}, "check": True,
                                                           "prove": True}))
    _table("rnn_bptt unrolled T steps", rows, timeout)


def width(timeout):
    rows = []
    for label, opts in (("generic g, g₁, ℓ", {}),
                        ("tanh, σ, bce", {"activation": "tanh", "output_activation": "sigmoid", "loss": "bce"})):
        for s in (2, 3, 4, 6, 8):
            rows.append((f"shared_bias, {label}, m = d = {s}",
                         {"kind": "builtin", "name": "shared_bias", "options": opts, "sizes": {"d": s, "m": s}}))
    _table("width (proof sizes)", rows, timeout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("depth", "steps", "width", "all"), default="all")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load {os.getloadavg()[0]:.2f}; "
          f"`python benchmarks/bench_scaling.py --part {args.part}`")
    for part in (depth, steps, width):
        if args.part in (part.__name__, "all"):
            part(args.timeout)


if __name__ == "__main__":
    main()
