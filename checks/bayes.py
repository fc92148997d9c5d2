"""``--check`` for the P6 derivations: closed forms against independent numbers.

Derived values come from the derivation's results; the numbers come from
:mod:`numeric.bayes` (log densities typed from the model, tanh-sinh or trapezoid
quadrature, bisection on a finite-difference slope) and from JAX gradients of
the log posterior written from the model in ``jax.numpy``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from derive import derive
from derive.errors import CannotJudge, UsageError
from derive.schema import header

__all__ = ["BAYES", "TOLERANCES", "BayesCheck", "check_bayes", "render", "run_bayes_check"]

BAYES = ("beta_binomial", "normal_normal")
TOLERANCES = {"quadrature": 1e-8, "optimisation": 1e-7, "jax": 1e-10}


@dataclass
class BayesCheck:
    name: str
    options: dict
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r["passed"] for r in self.rows)  # nothing checked is not a pass

    def add(self, quantity, derived, numeric, rel_error, kind, method):
        tol = TOLERANCES[kind]
        self.rows.append({"quantity": quantity, "derived": float(derived), "numeric": float(numeric),
                          "rel_error": float(rel_error), "tolerance": tol, "method": method,
                          "passed": bool(rel_error <= tol)})

    def _repr_markdown_(self):  # Jupyter
        return f"**{self.name} --check: {'passed' if self.passed else 'FAILED'}**\n\n```text\n{render(self)}```\n"

    def to_dict(self) -> dict:
        return {**header("bayes_check"), "name": self.name, "passed": self.passed, "options": self.options,
                "tolerances": TOLERANCES,
                "checks": self.rows, "notes": self.notes}


def _rel(a, b):
    return abs(a - b) / abs(b) if b != 0 else abs(a - b)


def _jax():
    import jax

    from numeric.autodiff import jnp

    return jax, jnp


def _stationary(check, label, at, parts):
    """JAX: how far the log density's stationary point lies from the derived one — one Newton
    step |f′/f″| at it, relative to |at|. (A ratio of slopes would read 1 for a flat prior,
    whose part has slope 0 while the likelihood's is 0 only up to rounding.)"""
    jax, _ = _jax()
    slope = sum(float(jax.grad(f)(float(at))) for f in parts)
    curvature = sum(float(jax.grad(jax.grad(f))(float(at))) for f in parts)
    step = abs(slope / curvature) if curvature else (0.0 if slope == 0 else float("inf"))
    spread = 1 / math.sqrt(abs(curvature)) if curvature else 0.0  # the posterior's standard deviation there
    check.add(label, at, slope, step / max(abs(float(at)), spread, 1e-300), "jax",
              "jax.grad: one Newton step |f′/f″| from it, relative to it (or to 1/√|f″|)")


def _add_exp(check, label, derived_log, numeric_log, method):
    """A quantity compared through its logarithm, shown as itself when float64 holds it, else as its log."""
    err = abs(math.expm1(derived_log - numeric_log)) if abs(derived_log - numeric_log) < 700 else math.inf
    if max(abs(derived_log), abs(numeric_log)) < 700:
        check.add(label, math.exp(derived_log), math.exp(numeric_log), err, "quadrature", method)
    else:
        check.add(f"log {label}", derived_log, numeric_log, err, "quadrature", method)


SINGULAR = 0.1  # a′ or b′ below this: the quadrature oracle cannot resolve the endpoint singularity


def check_beta_binomial(options) -> BayesCheck:
    from numeric import bayes as nb

    d = derive("beta_binomial", **options)
    v = d.results["values"]
    o = d.options
    alpha, beta = float(_frac(o["alpha"])), float(_frac(o["beta"]))
    N, y = int(o["N"]), int(o["y"])
    check = BayesCheck("beta_binomial", dict(o))
    f = nb.beta_binomial_log_joint(alpha, beta, N, y)
    A, B = alpha + y, beta + N - y
    interior = A > 1 and B > 1
    def inside(t):  # finite-difference step that keeps t ± h in (0, 1)
        return 1e-5 * min(t, 1 - t)

    split = nb.argmax(lambda t: f(t, 1 - t), 0.0, 1.0, step=inside) if interior else 0.5
    xs, logs, ws = [], [], []
    for lo, hi in ((0.0, split), (split, 1.0)):  # split at the mode: nodes cluster on both sides of the peak
        x, d_lo, d_hi, w = nb.tanh_sinh(lo, hi)
        t = d_lo if lo == 0.0 else split + d_lo
        one_minus = (1 - split) + d_hi if lo == 0.0 else d_hi
        xs.append(t), logs.append(f(t, one_minus)), ws.append(w)
    x, lf, w = np.concatenate(xs), np.concatenate(logs), np.concatenate(ws)
    if min(A, B) < SINGULAR:
        # θ^(a′−1) with a′ near 0 is an endpoint singularity no fixed quadrature resolves to 1e-8:
        # say so instead of blaming the closed form for the oracle's error
        check.notes.append(f"a′ = α + y = {A:g}, b′ = β + N − y = {B:g}: below {SINGULAR:g} the posterior has an "
                           "endpoint singularity the quadrature cannot resolve; p(y), mean and variance not "
                           "checked numerically")
    else:
        log_z = nb.log_normaliser(lf, w)
        mean, var = nb.moments(x, lf, w)
        quad = "tanh-sinh quadrature of likelihood × prior"
        check.add("p(y) (normaliser)", v["evidence"]["float"], math.exp(log_z),
                  abs(math.expm1(v["log_evidence"] - log_z)), "quadrature", quad)
        check.add("posterior mean", v["posterior_mean"]["float"], mean, _rel(v["posterior_mean"]["float"], mean),
                  "quadrature", quad)
        check.add("posterior variance", v["posterior_variance"]["float"], var,
                  _rel(v["posterior_variance"]["float"], var), "quadrature", quad)
    if 0 < y < N:
        lik = nb.beta_binomial_log_joint(1.0, 1.0, N, y)  # flat prior: the likelihood alone
        mle = nb.argmax(lambda t: lik(t, 1 - t), 0.0, 1.0, step=inside)
        check.add("MLE", v["mle"]["float"], mle, _rel(v["mle"]["float"], mle), "optimisation",
                  "bisection on the slope of the log-likelihood")
    else:
        check.notes.append(f"y = {y} is at the boundary: the likelihood is monotone and the MLE y/N = "
                           f"{y / N:g} is an end point, not a stationary point; not optimised numerically")
    if interior:
        check.add("MAP", v["map"]["float"], split, _rel(v["map"]["float"], split), "optimisation",
                  "bisection on the slope of the log posterior")
        loss = v["loss"]
        C, a, b = loss["C"]["float"], loss["a"]["float"], loss["b"]["float"]
        def ell(t):  # −ℓ(θ), maximised
            return -(C * (y - N * t) ** 2 - a * t + b * t * t)

        t_star = nb.argmax(ell, -1e3, 1e3)
        check.add("argmin ℓ (derived C, a, b) vs MAP", t_star, split, _rel(t_star, split), "optimisation",
                  "bisection on the slope of ℓ; MAP by bisection")
        _, jnp = _jax()
        _stationary(check, "∂ log p(θ | y) at the derived MAP", v["map"]["float"],
                    [lambda t: y * jnp.log(t) + (N - y) * jnp.log(1 - t),
                     lambda t: (alpha - 1) * jnp.log(t) + (beta - 1) * jnp.log(1 - t)])
        if 0 < y < N:
            _stationary(check, "∂ log p(y | θ) at the derived MLE", v["mle"]["float"],
                        [lambda t: y * jnp.log(t), lambda t: (N - y) * jnp.log(1 - t)])
    else:
        check.notes.append(f"{v['map_note']}; no interior MAP to optimise or to test with JAX")
    return check


def _frac(s):
    from fractions import Fraction

    return Fraction(str(s))


def _normal_quadrature(nb, data, sigma2, tau2):
    f = nb.normal_log_joint(data, sigma2, tau2)
    m = nb.argmax(f, -1e6, 1e6)
    h = 1e-3 * max(1.0, abs(m))
    curv = -(f(m + h) - 2 * f(m) + f(m - h)) / h**2
    if not (math.isfinite(curv) and curv > 0):
        raise UsageError("--check: the posterior is too narrow or too wide at these values for the numeric "
                         "quadrature to resolve; use --sigma2, --tau2 and --data of moderate size")
    x, w = nb.gauss_grid(m, 1 / math.sqrt(curv))
    return f, m, x, f(x), w


def check_normal_normal(options) -> BayesCheck:
    from numeric import bayes as nb

    d = derive("normal_normal", **options)
    v = d.results["values"]
    data = [r["x"] for r in d.sequential[1:]]
    sigma2, tau2, other = (float(_frac(v[k])) for k in ("sigma2", "tau2", "compare_tau2"))
    check = BayesCheck("normal_normal", dict(d.options))
    quad = "trapezoid quadrature of likelihood × prior (±40 sd around the numeric mode)"
    _, m, x, lf, w = _normal_quadrature(nb, data, sigma2, tau2)
    log_z = nb.log_normaliser(lf, w)
    mean, var = nb.moments(x, lf, w)
    ev = {e["tau2"]: e["log_p"] for e in v["evidence"]}
    _add_exp(check, f"p(D), τ² = {tau2:g}", ev[tau2], log_z, quad)
    _, _, _x2, lf2, w2 = _normal_quadrature(nb, data, sigma2, other)
    log_z2 = nb.log_normaliser(lf2, w2)
    _add_exp(check, f"p(D), τ² = {other:g}", ev[other], log_z2, quad)
    _add_exp(check, "Bayes factor", v["log_bayes_factor"], log_z - log_z2, "ratio of the two quadratures")
    post = v["posterior"]
    check.add("posterior mean μₙ", post["mean"], mean, _rel(post["mean"], mean), "quadrature", quad)
    check.add("posterior variance σₙ²", post["variance"], var, _rel(post["variance"], var), "quadrature", quad)
    pred = v["predictive"]["posterior"]
    for z in (-2.0, 0.0, 1.5):
        xs = pred["mean"] + z * math.sqrt(pred["variance"])
        derived = math.exp(-(xs - pred["mean"]) ** 2 / (2 * pred["variance"])) / math.sqrt(
            2 * math.pi * pred["variance"])
        lik = np.exp(-(xs - x) ** 2 / (2 * sigma2)) / math.sqrt(2 * math.pi * sigma2)
        p = w * np.exp(lf - lf.max())
        numeric = float(np.sum(lik * p) / np.sum(p))
        check.add(f"p(x* | D) at x* = {xs:.4g}", derived, numeric, _rel(derived, numeric), "quadrature",
                  "∫ N(x* | μ, σ²) p(μ | D) dμ by quadrature")
    mle = nb.argmax(nb.normal_log_likelihood(data, sigma2), -1e6, 1e6)
    scale = max(abs(float(x)) for x in data)  # an estimate of 0 (data summing to 0) is judged on the data's scale
    check.add("MLE x̄", v["mle"], mle, abs(v["mle"] - mle) / max(abs(mle), scale), "optimisation",
              "bisection on the slope of the log-likelihood")
    check.add("MAP", post["mean"], m, abs(post["mean"] - m) / max(abs(m), scale), "optimisation",
              "bisection on the slope of the log posterior")
    worst = 0.0
    for row in d.sequential[1:]:
        _, _, xk, lk, wk = _normal_quadrature(nb, data[:row["k"]], sigma2, tau2)
        mk, vk = nb.moments(xk, lk, wk)
        worst = max(worst, _rel(row["posterior"]["mean"], mk), _rel(row["posterior"]["variance"], vk))
    check.add(f"sequential posteriors (k = 1…{len(data)}), worst", 0.0, 0.0, worst, "quadrature",
              "quadrature over the first k points vs the k-th sequential update")
    check.rows[-1]["derived"] = check.rows[-1]["numeric"] = None
    _, jnp = _jax()
    xa = jnp.asarray(data)
    _stationary(check, "∂ log p(μ | D) at the derived MAP", post["mean"],
                [lambda t: -jnp.sum((xa - t) ** 2) / (2 * sigma2), lambda t: -t**2 / (2 * tau2)])
    return check


def check_bayes(name, options) -> BayesCheck:
    """Run the numeric checks of ``beta_binomial`` or ``normal_normal``."""
    return {"beta_binomial": check_beta_binomial, "normal_normal": check_normal_normal}[name](options)


def render(check: BayesCheck) -> str:
    """The check as a text table."""
    opts = ", ".join(f"{k} = {v}" for k, v in check.options.items())
    L = [f"{check.name} --check  ({opts})",
         "tolerances: relative error ≤ " + ", ".join(f"{v:g} ({k})" for k, v in TOLERANCES.items()), ""]
    width = max([len("quantity")] + [len(r["quantity"]) for r in check.rows])
    head = f"{'quantity':<{width}}  {'derived':>16}  {'numeric':>16}  {'rel. error':>10}  ok  method"
    L += [head, "-" * len(head)]
    for r in check.rows:
        dv = "" if r["derived"] is None else f"{r['derived']:.10g}"
        nv = "" if r["numeric"] is None else f"{r['numeric']:.10g}"
        L.append(f"{r['quantity']:<{width}}  {dv:>16}  {nv:>16}  {r['rel_error']:>10.2e}  "
                 f"{'✓' if r['passed'] else '✗'}   {r['method']}")
    L += [f"note: {n}" for n in check.notes]
    n_ok = sum(r["passed"] for r in check.rows)
    if not check.rows:
        L += ["", "nothing could be checked numerically at these values (see the notes) — NOT CHECKED"]
        return "\n".join(L) + "\n"
    L += ["", f"{n_ok} of {len(check.rows)} checks passed" + ("" if check.passed else " — CHECK FAILED")]
    return "\n".join(L) + "\n"


def run_bayes_check(name, options, *, as_json=False, params=None, wrt=None, eps=None, lr=None):
    """(exit status, text) for ``python -m derive NAME --check``."""
    for flag, value in (("--params", params), ("--wrt", wrt), ("--eps", eps), ("--lr", lr)):
        if value is not None:
            raise UsageError(f"{flag} does not apply to {name} --check (it checks closed forms, not gradients); "
                             f"drop {flag}")
    try:
        check = check_bayes(name, options)
    except UsageError:
        raise
    except (OverflowError, ZeroDivisionError, ValueError) as e:  # float64 cannot hold these numbers
        raise CannotJudge(f"{name} --check: the numeric oracles leave float64's range at these options ({e}); "
                          "the closed forms stand, but use moderate values to check them") from None
    text = json.dumps(check.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n" if as_json \
        else render(check)
    return (0 if check.passed else 1), text


def report_section(name, check=True) -> tuple[list, bool]:
    """(LaTeX lines, all verified and checked) for ``python -m derive report``."""
    from derive.symbols import tex_text

    d = derive(name)
    lines = [d.latex(proof=True).replace(r"\section*{", r"\section{", 1)]
    passed = d.holds
    if check:
        c = check_bayes(name, {})
        lines += [r"\subsection*{Numeric check}", r"\begin{center}\small", r"\begin{tabular}{lrrrc}",
                  r"quantity & derived & numeric & rel.\ error & \\ \hline"]
        for r in c.rows:
            dv = "" if r["derived"] is None else f"{r['derived']:.10g}"
            nv = "" if r["numeric"] is None else f"{r['numeric']:.10g}"
            ok = r"$\checkmark$" if r["passed"] else r"$\times$"
            lines.append(f"{tex_text(r['quantity'])} & {dv} & {nv} & {r['rel_error']:.1e} & {ok} \\\\")
        lines += [r"\end{tabular}", r"\end{center}",
                  tex_text("Tolerances (relative error): " + ", ".join(f"{k} {v:g}" for k, v in TOLERANCES.items())
                           + ". " + "; ".join(sorted({r['method'] for r in c.rows})) + ".")]
        lines += [r"\par " + tex_text(n) for n in c.notes]
        passed = passed and c.passed
    return lines, passed
