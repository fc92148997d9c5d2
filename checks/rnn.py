"""P5's numeric part, computed: the loss, central differences on b, the BPTT
gradient step by step, JAX, and one gradient-descent step.

The per-step table follows the worked solution's route (each loss term ℓ_t
along its own chain, then the forward sensitivity da_t/db), and the reverse
sweep's quantities (h̄_t, δ_t = b̄₍ₜ₎) stand beside it; both totals must agree
with JAX.
"""
from __future__ import annotations

import math

import numpy as np

from derive.engine import local_jacobian_T
from derive.errors import UsageError
from derive.symbols import subscript
from numeric import FORWARDS, compile_sweep, evaluate, step

from .compare import relative_error

__all__ = ["flatten_rnn_params", "worked_solution", "render_worked", "check_eps_lr"]


def flatten_rnn_params(raw: dict) -> tuple[dict, int]:
    """{W, U, V, b, c, x: [T vectors], y: [T vectors], h0?} → graph keys x1…xT, y1…yT, h0."""
    if not isinstance(raw, dict):
        raise UsageError("--params: expected a JSON object with keys W, U, V, b, c, x, y (and optional h0)")
    xs = raw.get("x")
    if not isinstance(xs, list) or not xs or not all(isinstance(v, list) for v in xs):
        raise UsageError("--params: key 'x' must be a non-empty list of T input vectors, one per time step "
                         f"(got {str(xs)[:60]})")
    T = len(xs)
    ys = raw.get("y", [])  # a loss of the outputs alone reads no target: the key may be left out
    if "y" in raw and (not isinstance(ys, list) or len(ys) != T or not all(isinstance(v, list) for v in ys)):
        got = f"{len(ys)} entries" if isinstance(ys, list) else type(ys).__name__
        raise UsageError(f"--params: key 'y' must be a list of {T} target vectors (one per step of 'x'); got {got}")
    flat = {k: v for k, v in raw.items() if k not in ("x", "y", "h0")}
    flat.update({f"x{t}": v for t, v in enumerate(xs, 1)})
    flat.update({f"y{t}": v for t, v in enumerate(ys, 1)})
    if "h0" in raw:
        flat["h0"] = raw["h0"]
    else:
        b = raw.get("b")
        flat["h0"] = [0.0] * len(b) if isinstance(b, list) else b  # a bad b is reported by validation
    return flat, T


def _vec(a):
    return [float(v) + 0.0 for v in np.ravel(a)]  # + 0.0 turns −0 into 0


def worked_solution(d, values, *, eps=None, lr=None) -> dict:
    """Every number of P5's backprop part at ``values`` (graph keys)."""
    opts = dict(d.options)
    forward = FORWARDS["rnn_bptt"]
    T = opts["steps"]
    run = compile_sweep(d.sweep)
    with np.errstate(all="ignore"):
        result = run(values)
    env = dict(result["values"])
    fm = d.sweep.sensitivities
    dims = result["dims"]
    for name, expr in fm.definitions.items():
        env[name] = evaluate(expr, env, dims)
    b = np.asarray(values["b"], dtype=np.float64)
    eps_i = step(b, 2) if eps is None else np.full(b.shape, float(eps))

    def L(bb):
        return float(forward({**values, "b": bb}, xp=np, **opts))

    central = []
    for i in range(b.size):
        e = np.zeros_like(b)
        e[i] = eps_i[i]
        lo, hi = L(b - e), L(b + e)
        central.append({"i": i + 1, "eps": float(eps_i[i]), "L_minus": lo, "L_plus": hi,
                        "estimate": (hi - lo) / (2 * eps_i[i])})
    graph = d.graph
    steps_out, per_step_total = [], np.zeros(b.size)
    for t in range(1, T + 1):
        chain = dict(fm.chains[f"ell{t}"])
        contrib = [c for c in fm.contributions if c[0] == f"ell{t}"][0]
        jac = local_jacobian_T(graph, f"o{t}", f"yhat{t}")
        row = {
            "t": t,
            "dl_dyhat": _vec(evaluate(chain[f"yhat{t}"], env, dims)),
            "dyhat_do": np.asarray(evaluate(jac, env, dims)).T.tolist(),
            "dl_do": _vec(evaluate(chain[f"o{t}"], env, dims)),
            "dl_dh": _vec(evaluate(chain[f"h{t}"], env, dims)),
            "dl_da": _vec(evaluate(chain[f"a{t}"], env, dims)),
            "da_db": np.asarray(env[f"S_a{t}"]).tolist(),
            "contribution": _vec(evaluate(contrib[3], env, dims)),
            "reverse_h_bar": _vec(env[f"bar_h{t}"]),
            "reverse_delta": _vec(env[f"delta{t}"]),
        }
        per_step_total += np.asarray(row["contribution"])
        steps_out.append(row)
    grad = np.asarray(result["gradients"]["b"]).reshape(-1)
    out = {"T": T, "loss": result["loss"], "central_differences": central, "steps": steps_out,
           "gradient_per_step_sum": _vec(per_step_total), "gradient_reverse": _vec(grad),
           "rel_error_per_step_vs_reverse": relative_error(per_step_total, grad),
           "rel_error_central_vs_reverse": relative_error([c["estimate"] for c in central], grad)}
    if lr is not None:
        new_b = b - float(lr) * grad
        new_loss = L(new_b)
        out["step"] = {"lr": float(lr), "b_new": _vec(new_b), "loss_before": result["loss"], "loss_after": new_loss,
                       "decreased": bool(new_loss < result["loss"])}
    return out


def check_eps_lr(eps, lr):
    for name, v in (("--eps", eps), ("--lr", lr)):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise UsageError(f"{name} must be a positive finite number; got {v}")


def render_worked(w: dict) -> list:
    def vec(v):
        return "[" + ", ".join(f"{x: .6g}" for x in v) + "]"

    def mat(m):
        return "[" + "; ".join(", ".join(f"{x + 0.0:.4g}" for x in row) for row in m) + "]"

    def sub(t):
        return subscript(t)

    L = ["", f"Loss  L = Σ_t ℓ_t = {w['loss']:.12g}   (T = {w['T']})", "",
         "Central differences on b (perturb one component at a time):",
         f"  {'i':>2}  {'ε':>9}  {'L(b − ε eᵢ)':>18}  {'L(b + ε eᵢ)':>18}  {'(L⁺ − L⁻)/2ε':>16}"]
    for c in w["central_differences"]:
        L.append(f"  {c['i']:>2}  {c['eps']:>9.3g}  {c['L_minus']:>18.12g}  {c['L_plus']:>18.12g}  "
                 f"{c['estimate']:>16.10g}")
    L += ["", "Backpropagation through time, per step (ℓ_t along its own chain; da_t/db carries the past):"]
    for r in w["steps"]:
        t = r["t"]
        L += [f"  t = {t}",
              f"    dℓ/dŷ  = {vec(r['dl_dyhat'])}",
              f"    dŷ/do  = {mat(r['dyhat_do'])}",
              f"    dℓ/do  = {vec(r['dl_do'])}",
              f"    dℓ/dh  = {vec(r['dl_dh'])}",
              f"    dℓ/da  = {vec(r['dl_da'])}",
              f"    da/db  = {mat(r['da_db'])}",
              f"    contribution (da/db)ᵀ dℓ/da = {vec(r['contribution'])}",
              f"    reverse sweep: h̄ = {vec(r['reverse_h_bar'])}, δ = b̄₍{sub(t)}₎ = {vec(r['reverse_delta'])}"]
    L += ["",
          f"∂L/∂b, sum of per-step contributions = {vec(w['gradient_per_step_sum'])}",
          f"∂L/∂b, reverse sweep Σ_t δ_t         = {vec(w['gradient_reverse'])}",
          f"relative error per-step vs reverse: {w['rel_error_per_step_vs_reverse']:.2e}; "
          f"central differences vs reverse: {w['rel_error_central_vs_reverse']:.2e}"]
    if "step" in w:
        s = w["step"]
        L += ["", f"Gradient-descent step, lr = {s['lr']:g}:  b ← b − lr·∂L/∂b = {vec(s['b_new'])}",
              f"  L: {s['loss_before']:.12g} → {s['loss_after']:.12g}  "
              + ("(decreased)" if s["decreased"] else
                 "— THE LOSS DID NOT DECREASE: the step is too large, or the gradient's sign is wrong")]
    return L
