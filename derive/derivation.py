"""A finished derivation: the model, the recorded sweep, the proof, and renderers.

``derive(name, **options)`` builds one. Rendering is pure: ``text()``,
``latex()``, ``markdown()`` and ``to_dict()`` return values; only the CLI prints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from .engine import Sweep, backprop
from .errors import UsageError
from . import components, derivation_doc, render
from .components import too_big
from .document import Document
from .pseudocode import pseudocode
from .schema import header
from .symbols import subscript
from .printing import compound_pointwise, latex as _latex, latex_label, unicode as _unicode
from .proof import ProofResult, prove
from .registry import Spec, get

__all__ = ["Derivation", "derive"]



def derive(name: str, *, wrt=None, **options) -> Derivation:
    """Build the derivation registered as ``name``.

    >>> d = derive("shared_bias")
    >>> d.formula("b")
    'δ_hidden + δ_out'
    """
    entry = get(name)
    opts = dict(entry.defaults)
    for k, v in options.items():
        if k not in opts:
            raise UsageError(f"derivation {name!r} has no option {k!r}; options: {', '.join(sorted(opts))}")
        if v is not None:
            opts[k] = v
    spec = entry.build(**opts)
    if not isinstance(spec, Spec):  # a finished non-graph derivation (derive.bayes)
        if wrt:
            raise UsageError(f"{name} is not a gradient derivation; --wrt does not apply, got {', '.join(wrt)}")
        return spec
    _fit_typed_losses(name, spec)
    if wrt:
        choices = [n.name for n in spec.graph.nodes.values() if n.kind in ("param", "input")]
        bad = [p for p in wrt if p not in choices]
        if bad:
            raise UsageError(f"cannot differentiate {name} with respect to {bad[0]!r}; "
                             f"choose from: {', '.join(choices)}")
        spec.wrt = list(dict.fromkeys(wrt))
    return Derivation(name, entry.description, entry.problem, opts, spec)


def _fit_typed_losses(name, spec: Spec):
    """A typed loss that uses yhat_k needs k outputs: refuse it on a model
    with fewer, and prove and check at sizes with at least k."""
    graph = spec.graph
    for node in graph.losses():
        need = node.loss.outputs
        rows = graph.nodes[node.arg].shape[0]
        if not need:
            continue
        if rows.is_number:
            if need > rows:
                raise UsageError(f"loss {node.loss.expr.text!r} uses yhat_{need}, but {name} has {rows} "
                                 f"output{'s' if rows != 1 else ''}: use "
                                 + (f"yhat_1…yhat_{rows} and y_1…y_{rows}" if rows > 1 else "yhat_1 and y_1"))
            continue
        for sizes in (spec.proof_sizes, spec.check_sizes):
            for key in sizes:
                if graph.dim(key) == rows:
                    sizes[key] = max(sizes[key], need)


def _tidy(expr):
    """A derivative as a person would simplify it, when that is cheap."""
    if sp.count_ops(expr) > 60:
        return expr
    simpler = sp.factor(sp.together(expr))  # no new functions, unlike simplify (cosh, …)
    return simpler if sp.count_ops(simpler) < sp.count_ops(expr) else expr


@dataclass
class Derivation(render.Rendered):
    name: str
    description: str
    problem: str
    options: dict
    spec: Spec
    _proof: ProofResult | None = field(default=None, repr=False)

    # -- computed parts ------------------------------------------------------
    @cached_property
    def sweep(self) -> Sweep:
        return backprop(self.spec.graph, self.spec.wrt, sensitivities=self.spec.forward_mode or None)

    @property
    def graph(self):
        return self.spec.graph

    @property
    def names(self):
        return self.sweep.names

    @property
    def proof(self) -> ProofResult:
        """The symbolic proof at the spec's small sizes (computed once)."""
        if self._proof is None:
            self._proof = prove(self.sweep, self.spec.proof_sizes)
        return self._proof

    @cached_property
    def ranks(self) -> dict:
        """Symbol name → position nearest the loss: a computed node's own
        position, a leaf's first consumer's; adjoints and loss gradients rank last."""
        order = list(self.graph.nodes)
        ranks = {}
        for pos, name in enumerate(order):
            node = self.graph.nodes[name]
            if node.kind in ("input", "target", "param"):  # just before its first consumer
                consumers = self.graph.consumers(name)
                ranks[name] = min((order.index(c) for c in consumers), default=pos) - 0.5
            else:
                ranks[name] = pos
        top = len(order)
        for name in self.names:
            ranks.setdefault(name, top)
        return ranks

    def factor(self, f, tex=False):
        """A factor of a chain-rule product, bracketed when it is a sum or quotient."""
        text = self.tex(f) if tex else self.u(f)
        if isinstance(f, sp.MatAdd) or compound_pointwise(f):
            return rf"\left({text}\right)" if tex else f"({text})"
        return text

    def u(self, expr) -> str:
        return self.printed(_unicode, expr, ranks=self.ranks)

    def tex(self, expr) -> str:
        return self.printed(_latex, expr, ranks=self.ranks)

    def formula(self, param, form="matrix") -> str:
        """∂L/∂param as Unicode: ``matrix`` (δ terms), ``expanded`` or ``elementwise``."""
        g = self.sweep.gradients[param]
        if form == "matrix":
            return self.u(g.total)
        if form == "expanded":
            return self.u(g.expanded)
        return self.u(self.elementwise(param)[1])

    def elementwise(self, param, expanded=True):
        """(index symbols, component expression) of ∂L/∂param (:func:`derive.components.elementwise`)."""
        return components.elementwise(self, param, expanded)

    def component(self, param, expr):
        """Index ``expr`` (shaped like ``param``) at the param's named indices."""
        return components.component(self, param, expr)

    def delta_elementwise(self, index="i"):
        """Component ``index`` of each named adjoint (δ), in terms of later δ's."""
        return components.delta_elementwise(self, index)

    def pseudocode(self) -> list:
        """The forward pass and the recorded reverse sweep as NumPy-style code (:mod:`derive.pseudocode`)."""
        return pseudocode(self)

    # -- pieces shared by the renderers -----------------------------------------
    @cached_property
    def typed(self) -> list:
        """Activations and losses the user typed: each definition and its
        derivatives by ``sympy.diff``, as [(heading, [(lhs, rhs, lhs LaTeX, rhs LaTeX)])]."""
        out, seen = [], set()
        for n in self.graph.nodes.values():
            a = n.activation if n.kind == "activation" else None
            if a is not None and a.expr is not None and a.label not in seen:
                seen.add(a.label)
                z = sp.Symbol("z")
                f = a.f(z)
                lt = latex_label(a.label)
                out.append((f"Activation {a.label} as typed, and its derivative by sympy.diff", [
                    (f"{a.label}(z)", _unicode(f), rf"{lt}(z)", _latex(f)),
                    (f"{a.label}′(z)", _unicode(_tidy(sp.diff(f, z))), rf"{lt}'(z)", _latex(_tidy(sp.diff(f, z))))]))
            lo = n.loss if n.kind == "loss" else None
            if lo is not None and lo.expr is not None and "loss" not in seen:
                seen.add("loss")
                k = lo.outputs
                yh, yy = sp.symbols(f"yhat_1:{k + 1}"), sp.symbols(f"y_1:{k + 1}")
                names = {f"yhat_{i}": (f"ŷ{subscript(i)}", rf"\hat{{y}}_{{{i}}}") for i in range(1, k + 1)}
                names |= {f"y_{i}": (f"y{subscript(i)}", f"y_{{{i}}}") for i in range(1, k + 1)}
                ell = lo.explicit(yh, yy)
                rows = [("ℓ(ŷ, y)", _unicode(ell, names), r"\ell(\hat{y}, y)", _latex(ell, names))]
                for v in yh:
                    d = _tidy(sp.diff(ell, v))
                    rows.append((f"∂ℓ/∂{names[v.name][0]}", _unicode(d, names),
                                 rf"\frac{{\partial \ell}}{{\partial {names[v.name][1]}}}", _latex(d, names)))
                rows.append(("∂ℓ/∂ŷᵢ", f"0 for i > {k}", r"\frac{\partial \ell}{\partial \hat{y}_i}",
                             rf"0 \quad (i > {k})"))
                many = len(self.graph.losses()) > 1
                out.append(("Loss as typed" + (" (each loss term ℓ_t, with ŷ = ŷ_t and y = y_t)" if many else "")
                            + "; its gradient in ŷ (written ∇ŷℓ below) by sympy.diff", rows))
        return out

    def forward_pass(self):
        """[(lhs, rhs unicode, rhs latex, note)] of the forward pass."""
        rows = []
        for n in self.graph.nodes.values():
            N = self.graph.nodes
            if n.kind == "affine":
                u = " + ".join(f"{N[a].unicode} {N[v].unicode}" for a, v in n.terms)
                t = " + ".join(f"{N[a].latex} {N[v].latex}" for a, v in n.terms)
                if n.bias:
                    u, t = u + f" + {N[n.bias].unicode}", t + f" + {N[n.bias].latex}"
                rows.append((n, u, t, f"{n.path} affine map" if n.path else "affine map"))
            elif n.kind == "activation":
                a = n.activation
                lab_u = a.label
                lab_t = latex_label(a.label)
                note = "elementwise activation" if a.generic else a.description
                if a.expr is not None:
                    note = f"{a.label}(z) = {_unicode(a.f(sp.Symbol('z')))}, as typed"
                rows.append((n, f"{lab_u}({N[n.arg].unicode})", rf"{lab_t}\left({N[n.arg].latex}\right)", note))
            elif n.kind == "loss":
                lo = n.loss
                rows.append((n, f"ℓ({N[n.arg].unicode}, {N[n.target].unicode})",
                             rf"\ell\left({N[n.arg].latex}, {N[n.target].latex}\right)",
                             "loss as typed (below)" if lo.expr is not None else lo.description))
        return rows

    def shapes(self):
        out = []
        for n in self.graph.nodes.values():
            r, c = n.shape
            out.append((n.name, n.unicode, str(r), str(c)))
        return out

    def sections(self):
        """Extra blocks the model declares: [(heading, kind, lines)], kind 'code' or 'prose'."""
        out = []
        for heading, lines in self.spec.sections:
            if lines == "@pseudocode":
                out.append((heading, "code", self.pseudocode()))
            else:
                out.append((heading, "code" if heading.lower().startswith("pseudocode") else "prose", lines))
        return out

    def steps_rows(self):
        """[(rule, note, [unicode forms], [latex forms])] with lhs first."""
        rows = []
        for st in self.sweep.steps:
            lhs = self.u(st.lhs) + (f" = {st.alias[0]}" if st.alias else "")
            lhs_t = self.tex(st.lhs)
            if st.alias:
                lhs_t += " = " + st.alias[1]
            forms = [st.rhs] + [v for v in (st.expanded, st.simplified) if v is not None]
            rows.append((st.rule, st.note, [lhs] + [self.u(f) for f in forms],
                         [lhs_t] + [self.tex(f) for f in forms]))
        return rows

    # -- the document and its renderings ---------------------------------------
    def document(self, proof=True) -> Document:
        """Everything this derivation says, in order (:mod:`derive.derivation_doc`)."""
        return derivation_doc.document(self, proof)


    def proof_text(self):
        pr = self.proof
        sizes = ", ".join(f"{k} = {v}" for k, v in pr.sizes.items())
        L = pr.verdict(sizes, "with these options")
        for c in pr.checks:
            what = {"occurrence": f"occurrence ({c.label} path): p̄₍ᵢ₎ = ∂L/∂p₍ᵢ₎ of the untied model",
                    "path": f"chain rule along the {c.label} path(s) = that occurrence's adjoint",
                    "total": f"total {c.label} = sympy.diff of the tied loss",
                    "forward": f"forward sensitivities: Σ_t (∂a_t/∂{c.param})ᵀ ∂ℓ_t/∂a_t = sympy.diff "
                               f"of the tied loss"}[c.what]
            plural = "s" if c.components != 1 else ""
            how = (f"; randomized identity test, P(false pass) < {c.false_pass:.0e}" if c.false_pass else "")
            L.append(f"  {'✓' if c.holds else '✗'} {c.param}: {what} [{c.components} component{plural}{how}]")
        for a in pr.assumptions:
            L.append(f"  assuming {a}")
        L += [f"  ({x})" for x in pr.notes]
        return L

    def to_dict(self, proof=True) -> dict:
        """A JSON-ready description (schema in the README)."""
        grads = {}
        for p in self.spec.wrt:
            g = self.sweep.gradients[p]
            big = too_big(g.expanded)
            idx, comp_d = self.elementwise(p, expanded=False)
            comp = None if big else self.elementwise(p)[1]
            grads[p] = {
                "matrix": self.u(g.total),
                "expanded": None if big else self.u(g.expanded),
                "latex": self.tex(g.total if big else g.expanded),
                "elementwise": {"index": [str(s) for s in idx], "adjoints": self.u(comp_d),
                                "expanded": None if big else self.u(comp),
                                "latex": self.tex(comp_d if big else comp)},
                "contributions": [
                    {"occurrence": self.names[c.occurrence.name][0], "site": c.site, "path": c.path,
                     "adjoint": self.u(c.expr),
                     "paths": [[self.names[c.occurrence.name][0]] + [self.graph.nodes[x].unicode for x in pth]
                               for pth in c.paths],
                     "chains": [[{"factor": f.label, "value": self.u(f.value), "latex": self.tex(f.value)}
                                 for f in ch] for ch in c.chains]}
                    for c in g.contributions],
            }
        out = {
            **header("derivation"),
            "name": self.name,
            "description": self.description,
            "problem": self.problem,
            "options": dict(self.options),
            "forward": [{"lhs": n.unicode, "rhs": u, "latex": f"{n.latex} = {t}", "note": note}
                        for n, u, t, note in self.forward_pass()],
            "shapes": {name: [r, c] for name, _, r, c in self.shapes()},
            "typed": [{"heading": h, "rows": [{"lhs": lu, "rhs": ru, "latex": f"{lt} = {rt}"}
                                              for lu, ru, lt, rt in rows]} for h, rows in self.typed],
            "steps": [{"rule": rule, "note": note, "forms": forms, "latex": tex}
                      for rule, note, forms, tex in self.steps_rows()],
            "gradients": grads,
        }
        if proof:
            pr = self.proof
            out["proof"] = {"sizes": pr.sizes, "holds": pr.holds, "cached": pr.cached,
                            "assumptions": pr.assumptions,
                            "checks": [{"kind": c.what, "param": c.param, "label": c.label,
                                        "holds": c.holds, "components": c.components,
                                        "false_pass_bound": c.false_pass} for c in pr.checks]}
        return out

    def _repr_latex_(self):
        g = self.sweep.gradients[self.spec.wrt[0]]
        node = self.graph.nodes[self.spec.wrt[0]]
        tail = "" if too_big(g.expanded) else f" = {self.tex(g.expanded)}"
        return rf"$\frac{{\partial L}}{{\partial {node.latex}}} = {self.tex(g.total)}{tail}$"

