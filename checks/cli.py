"""Text and JSON rendering of ``python -m derive NAME --check``."""
from __future__ import annotations

import json

import numpy as np

from derive.errors import EXIT

from .bayes import BAYES, run_bayes_check
from .derivation_check import check_derivation, check_tolerances
from .rnn import render_worked

__all__ = ["run_check", "render"]


def _vec(v):
    return "[" + ", ".join(f"{x: .10g}" for x in np.ravel(v)) + "]"


def render(report) -> str:
    """The text of ``NAME --check``: the summary table, then details, notes and the verdict."""
    L = _header(report) + _table(report)
    if len(report.checks) == 1:
        L += _details(report.checks[0])
    L += _kink_notes(report) + _diagnoses(report)
    for c in report.checks:
        if c.worked is not None:
            L += render_worked(c.worked)
    for note in getattr(report, "notes", []):
        L.append(f"note: {note}")
    n_ok = sum(c.passed for c in report.checks)
    tail = {"passed": "", "failed": " — CHECK FAILED", "cannot_judge": " — CANNOT JUDGE (nothing failed)"}
    L += ["", f"{n_ok} of {len(report.checks)} checks passed" + tail[report.verdict]]
    return "\n".join(L) + "\n"


def _header(report) -> list:
    """The title line (name, params, sizes) and the tolerances the check applies."""
    sizes = ", ".join(f"{k} = {v}" for k, v in report.sizes.items())
    tol = check_tolerances()
    return [f"{report.name} --check  (params: {report.params_label()}, sizes: {sizes})",
            (f"tolerances (checks.gradcheck): |derived − JAX| ≤ {tol['jax']:.2g}·max|JAX|; |derived − FD| ≤ "
             f"{tol['fd_error_estimate_factor']:g} × FD error estimate + {tol['finite_difference']:.2g}·max|FD| "
             f"(Richardson); loss ≤ {tol['loss']:g} vs the independent forward"), ""]


def _table(report) -> list:
    """The summary table: one row per combination and parameter, with both errors and a mark."""
    # columns as wide as their longest entry (typed expressions can be long)
    wa, wo, wl = (max([len(h)] + [len(getattr(c, f)) for c in report.checks])
                  for h, f in (("activation", "activation"), ("output", "output_activation"), ("loss", "loss")))
    head = (f"{'activation':<{wa}} {'output':<{wo}} {'loss':<{wl}} {'L':>13}  {'param':<5} {'err JAX':>9} "
            f"{'err FD':>9}  ok")
    L = [head, "-" * len(head)]
    for c in report.checks:
        for k, (p, g) in enumerate(c.gradients.items()):
            lead = (f"{c.activation:<{wa}} {c.output_activation:<{wo}} {c.loss:<{wl}} {c.loss_value:>13.8g}"
                    if k == 0 else " " * (wa + wo + wl + 16))
            L.append(f"{lead}  {p:<5} {g['rel_error_jax']:>9.2e} {g['rel_error_fd']:>9.2e}  {_mark(c, g)}")
    return L


def _mark(c, g) -> str:
    """✓ passed, ? could not be judged, ✗ failed: one gradient of combination ``c``."""
    return "✓" if g["passed"] and c.passed else "?" if g["verdict"] == "cannot_judge" else "✗"


def _details(c) -> list:
    """A single combination's losses and, per parameter, derived, JAX and finite-difference values."""
    L = ["", f"loss: graph {c.loss_value:.15g}, independent forward {c.loss_independent:.15g}"]
    for p, g in c.gradients.items():
        L.append(f"∂L/∂{p}:")
        L.append(f"  derived            {_vec(g['derived'])}")
        L.append(f"  JAX                {_vec(g['jax'])}")
        L.append(f"  finite differences {_vec(g['finite_difference'])}  "
                 f"(error estimate {g['fd_error_estimate']:.1e})")
        for part in c.contributions.get(p, []):
            if len(c.contributions[p]) > 1:
                L.append(f"  {part['path'] + ' path':<18} {_vec(part['value'])}")
    return L


def _kink_notes(report) -> list:
    """A note for each gradient with entries where x ± h straddles a kink."""
    L = []
    for c in report.checks:
        for p, g in c.gradients.items():
            if g.get("kinks"):
                where = ", ".join(f"{p}[{','.join(str(i + 1) for i in ix)}]" for ix in g["kinks"])
                L.append(f"note: {c.activation}/{c.output_activation}/{c.loss}: x ± h straddles a kink at {where} "
                         "(one-sided slopes differ); finite differences cannot judge it there, JAX still does")
    return L


def _diagnoses(report) -> list:
    """Per gradient, the entries that could not be judged, and the diagnosis of a failed one."""
    L = []
    for c in report.checks:
        for p, g in c.gradients.items():
            L += [f"? {c.activation}/{c.output_activation}/{c.loss} ∂L/∂{p}: cannot judge {label}: {why}"
                  for label, why in g["unjudged"]]
            if g["verdict"] == "failed":
                L.append(f"✗ {c.activation}/{c.output_activation}/{c.loss} ∂L/∂{p}: {g['diagnosis']}"
                         + "".join(f"; {h}" for h in g["hints"]))
    return L


def run_check(name, options, *, seed=0, params=None, as_json=False, wrt=None, eps=None, lr=None):
    """(exit status, text) for the CLI."""
    if name in BAYES:  # closed forms vs quadrature/optimisation/JAX (checks/bayes.py)
        return run_bayes_check(name, options, as_json=as_json, params=params, wrt=wrt, eps=eps, lr=lr)
    report = check_derivation(name, options, seed=seed, params=params, wrt=wrt, eps=eps, lr=lr)
    text = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n" if as_json else render(report)
    return EXIT[report.verdict], text
