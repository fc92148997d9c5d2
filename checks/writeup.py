"""The write-up: one LaTeX document with every derivation, its proof and its numeric checks.

``python -m derive report -o report.pdf [NAMES…]`` — a complete write-up of the
problems: each derivation as it prints with ``--latex``, followed by a table of
the numeric check (relative errors against JAX and finite differences per
activation/loss combination); P4's evaluation trace with its gradient checked
against JAX.
"""
from __future__ import annotations

import numpy as np

from derive.cache import cached_proof
from derive import progress
from derive import derive, names as derivation_names
from derive.errors import UsageError
from derive.pdf import standalone
from derive.printing import tex_text
from derive.registry import get
from derive.trace import P4_EXAMPLE, trace

from .bayes import BAYES, report_section as bayes_section
from .derivation_check import check_derivation, check_tolerances

__all__ = ["report", "report_names"]

TITLE = "gradproof: derivations, proofs and numeric checks"


def report_names() -> list[str]:
    """Every section the report can hold, in problem order (P1, P2, …)."""
    entries = [(get(n).problem or "P9", n) for n in derivation_names()] + [("P4", "trace")]
    return [n for _, n in sorted(entries)]


def _texttt(s: str) -> str:
    return r"\texttt{" + tex_text(s) + "}"


def _sci(x: float) -> str:
    return f"{x:.1e}".replace("e-0", "e-").replace("e+0", "e+")


def check_table(rep) -> list[str]:
    """A check report as a LaTeX table: one row per combination and parameter."""
    L = [r"\begin{center}\small", r"\begin{tabular}{lllrlrrc}",
         r"activation & output & loss & $L$ & param & err.\ JAX & err.\ FD & \\ \hline"]
    for c in rep.checks:
        for k, (p, g) in enumerate(c.gradients.items()):
            lead = (f"{_texttt(c.activation)} & {_texttt(c.output_activation)} & {_texttt(c.loss)} & "
                    f"{c.loss_value:.6g}" if k == 0 else "& & &")
            ok = r"$\checkmark$" if g["passed"] and c.passed else r"$\times$"
            L.append(f"{lead} & {_texttt(p)} & {_sci(g['rel_error_jax'])} & {_sci(g['rel_error_fd'])} & {ok} \\\\")
    L += [r"\end{tabular}", r"\end{center}"]
    sizes = ", ".join(f"${k} = {v}$" for k, v in rep.sizes.items())
    tol = check_tolerances()
    L.append(f"Seed {rep.seed}, sizes {sizes}. Relative error is $\\max|a - b| / \\max|b|$. Accepted "
             f"(\\texttt{{checks.gradcheck}}): within {_sci(tol['jax'])} of JAX (float64) relative to its "
             f"largest entry, and within {tol['fd_error_estimate_factor']:g} times the finite differences' own "
             f"error estimate plus {_sci(tol['finite_difference'])} relative of Richardson-extrapolated central "
             f"differences. {sum(c.passed for c in rep.checks)} of {len(rep.checks)} combinations passed.")
    for note in rep.notes:
        L.append(r"\par " + tex_text(note))
    return L


def _trace_section(check: bool) -> tuple[list[str], bool]:
    text, at = P4_EXAMPLE
    t = trace(text, at, wrt="x1", reverse=True)
    body = t.latex().replace(r"\section*{", r"\section{P4: ", 1)
    L, passed = [body], t.proof
    if check:
        from numeric.autodiff import jax_grad
        from numeric.expression import evaluate

        point = {v: np.array(float(t.at[v])) for v in t.variables}
        g = jax_grad(lambda p, xp: evaluate(t.expr.tree, p, xp), point, t.variables)
        rows = []
        for v in t.variables:
            mine = float(t.gradient[v])
            err = abs(float(g[v]) - mine) / max(abs(mine), 1e-300)
            passed = passed and err <= 1e-12
            rows.append(rf"${v[0]}_{{{v[1:]}}}$ & {mine:.15g} & {float(g[v]):.15g} & {_sci(err)} \\")
        L += [r"\subsection*{Numeric check}", r"\begin{center}\small", r"\begin{tabular}{lrrr}",
              r"variable & $\partial f/\partial x$ (trace) & JAX & rel.\ error \\ \hline", *rows,
              r"\end{tabular}", r"\end{center}"]
    return L, passed


def _model_section(path: str, check: bool, seed: int) -> tuple[list[str], bool]:
    """A model file's derivation and proof, and its check as a table (parameter rows)."""
    from derive import load_model

    from .model_check import check_model

    d = load_model(path)
    L = [d.latex(proof=True).replace(r"\section*{", r"\section{", 1)]
    passed = d.proof.holds
    if check and not (d.spec.functions or d.spec.losses):
        rep = check_model(d, seed=seed)
        mark = {True: r"$\checkmark$", False: r"$\times$"}
        rows = [f"{_texttt(p)} & {_sci(g['rel_error_jax'])} & {_sci(g['rel_error_fd'])} & {mark[bool(g['passed'])]} "
                r"\\" for p, g in rep.checks[0].gradients.items()]
        sizes = ", ".join(f"${k} = {v}$" for k, v in rep.sizes.items())
        L += [r"\subsection*{Numeric check}", r"\begin{center}\small", r"\begin{tabular}{lrrc}",
              r"param & err.\ JAX & err.\ FD & \\ \hline", *rows, r"\end{tabular}", r"\end{center}",
              f"Seed {rep.seed}, sizes {sizes}; the independent forward is NumPy/JAX walking the parsed file."]
        passed = passed and rep.passed
    return L, passed


def report(names=None, *, seed: int = 0, check: bool = True) -> tuple[str, bool]:
    """(LaTeX document, every proof and check passed) for ``names`` (default: all)."""
    from derive.cli import is_model_path

    known = report_names()
    names = list(names or known)
    bad = [n for n in names if n not in known and not is_model_path(n)]
    if bad:
        raise UsageError(f"report: unknown section {bad[0]!r}; choose from: {', '.join(known)}, or a model "
                         "file (FILE.gp)")
    body, passed = [], True
    for k, name in enumerate(dict.fromkeys(names), 1):
        progress.update(f"report: {name}", k, len(dict.fromkeys(names)))
        if is_model_path(name):
            lines, ok = _model_section(name, check, seed)
            body += [*lines, r"\clearpage"]
            passed = passed and ok
            continue
        if name == "trace":
            lines, ok = _trace_section(check)
            body += lines
            passed = passed and ok
            continue
        if name in BAYES:  # worked Bayesian derivations: closed forms vs quadrature (checks/bayes.py)
            lines, ok = bayes_section(name, check)
            body += [*lines, r"\clearpage"]
            passed = passed and ok
            continue
        d = derive(name)
        d._proof = cached_proof(d)  # the proof cache, as every other command reads it
        tex = d.latex(proof=True).replace(r"\section*{", r"\section{", 1)
        body.append(tex)
        passed = passed and d.proof.holds
        if check:
            rep = check_derivation(name, {}, seed=seed)
            body += [r"\subsection*{Numeric check}", *check_table(rep)]
            passed = passed and rep.passed
        body.append(r"\clearpage")
    intro = (r"Each section derives a gradient step by step with the reverse sweep, proves it equal to "
             r"\texttt{sympy.diff} of the explicit scalar loss at small sizes, and checks it numerically "
             r"at seeded random points against JAX and finite differences.")
    return standalone("\n".join([intro, *body]), title=TITLE, toc=True), passed
