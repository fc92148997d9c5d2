"""A finished derivation: the model, the recorded sweep, the proof, and renderers.

``derive(name, **options)`` builds one. Rendering is pure: ``text()``,
``latex()``, ``markdown()`` and ``to_dict()`` return values; only the CLI prints.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from .engine import Sweep, backprop
from .errors import UsageError
from .index import entry
from . import derivation_doc, render
from .document import Document
from .symbols import subscript
from .printing import code, code_name, compound_pointwise, latex as _latex, latex_label, unicode as _unicode
from .proof import ProofResult, prove
from .registry import Spec, get

__all__ = ["Derivation", "derive"]

_INDEX = ("i", "j")
_SUMS = ("j", "l", "p", "q", "r", "s")


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


STRUCTURAL_INDEX = 40  # expression nodes above which component forms come from derive.index


def _tidy(expr):
    """A derivative as a person would simplify it, when that is cheap."""
    if sp.count_ops(expr) > 60:
        return expr
    simpler = sp.factor(sp.together(expr))  # no new functions, unlike simplify (cosh, …)
    return simpler if sp.count_ops(simpler) < sp.count_ops(expr) else expr


def _big(expr) -> bool:
    """Too long to be worth reading written out (long RNN unrollings)."""
    return sp.count_ops(expr) > 120


def _finite_sums(expr):
    """Write out sums whose range is a number (a sum over one output unit is
    that unit's term) and sums over a Kronecker delta (from diag(ŷ));
    leave other symbolic ranges as Σ."""
    def concrete(e):
        return isinstance(e, sp.Sum) and (all(lim[1].is_number and lim[2].is_number for lim in e.limits)
                                           or e.function.has(sp.KroneckerDelta))

    expr = expr.replace(concrete, lambda e: sp.expand(e.function).has(sp.KroneckerDelta)
                        and _sum_delta(e) or e.doit())
    # what remains of a delta outside any sum, and SymPy's "index in range" guards (always true here)
    expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)
    return expr


def _sum_delta(e):
    """Σ_j over a sum of terms, doing the delta terms by substitution."""
    if len(e.limits) > 1:  # SymPy merges nested sums into one with several limits
        return _sum_deltas(e)
    (j, lo, hi), = e.limits
    out, rest = [], []
    for term in sp.Add.make_args(sp.expand(e.function)):
        deltas = [d for d in term.atoms(sp.KroneckerDelta) if j in d.free_symbols]
        if deltas:
            d = deltas[0]
            other = d.args[1] if d.args[0] == j else d.args[0]
            out.append(term.subs(d, 1).subs(j, other))
        else:
            rest.append(term)
    if rest:
        body = sp.factor_terms(sp.Add(*rest))
        outside, inside = [], []
        for f in sp.Mul.make_args(body):
            (inside if f.has(j) else outside).append(f)
        out.append(sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), (j, lo, hi)))
    return sp.factor_terms(sp.Add(*out))


def _sum_deltas(e):
    """Σ over several indices: each term's Kronecker deltas are done by substitution, index by index."""
    out = []
    for term in sp.Add.make_args(sp.expand(e.function)):
        limits = list(e.limits)
        for lim in list(limits):
            deltas = [d for d in term.atoms(sp.KroneckerDelta) if lim[0] in d.free_symbols]
            if deltas:
                d = deltas[0]
                other = d.args[1] if d.args[0] == lim[0] else d.args[0]
                term = term.subs(d, 1).subs(lim[0], other)
                limits.remove(lim)
        out.append(sp.Sum(term, *limits) if limits else term)
    return sp.factor_terms(sp.Add(*out))


def _rename_dummies(expr):
    """Name SymPy's summation dummies j, l, p, … avoiding the free indices."""
    taken = {s.name for s in expr.free_symbols}
    free = [n for n in _SUMS if n not in taken]
    dummies = sorted(expr.atoms(sp.Dummy), key=lambda d: d.dummy_index)
    return expr.xreplace({d: sp.Symbol(free[n % len(free)]) for n, d in enumerate(dummies)})


@dataclass
class Derivation:
    name: str
    description: str
    problem: str
    options: dict
    spec: Spec
    _proof: ProofResult | None = field(default=None, repr=False)

    # -- computed parts ------------------------------------------------------
    @cached_property
    def sweep(self) -> Sweep:
        return backprop(self.spec.graph, self.spec.wrt, forward=self.spec.forward_mode or None)

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

    def _factor(self, f, tex=False):
        """A factor of a chain-rule product, bracketed when it is a sum or quotient."""
        text = self.tex(f) if tex else self.u(f)
        if isinstance(f, sp.MatAdd) or compound_pointwise(f):
            return rf"\left({text}\right)" if tex else f"({text})"
        return text

    def u(self, expr) -> str:
        return _unicode(expr, self.names, ranks=self.ranks)

    def tex(self, expr) -> str:
        return _latex(expr, self.names, ranks=self.ranks)

    def formula(self, param, form="matrix") -> str:
        """∂L/∂param as Unicode: ``matrix`` (δ terms), ``expanded`` or ``elementwise``."""
        g = self.sweep.gradients[param]
        if form == "matrix":
            return self.u(g.total)
        if form == "expanded":
            return self.u(g.expanded)
        return self.u(self.elementwise(param)[1])

    def elementwise(self, param, expanded=True):
        """(index symbols, component expression) of ∂L/∂param; a dimension of
        size 1 takes no index (W₂ ∈ ℝ^{1×H} has components W₂[h])."""
        g = self.sweep.gradients[param]
        return self.component(param, g.expanded if expanded else g.total)

    def component(self, param, expr):
        """Index ``expr`` (shaped like ``param``) at the param's named indices."""
        rows, cols = self.graph.nodes[param].shape
        n_free = (rows != 1) + (cols != 1)
        names = self.spec.indices.get(param) or _INDEX[:n_free]
        idx = tuple(sp.Symbol(n) for n in names[:n_free])
        if n_free == 0:
            at = (0, 0)
        elif n_free == 2:
            at = idx
        else:
            at = (idx[0], 0) if cols == 1 else (0, idx[0])
        # large expressions (RNN weight gradients) are indexed structurally, without summation algorithms
        nodes = sum(1 for _ in sp.preorder_traversal(expr))
        element = entry(expr, *at) if nodes > STRUCTURAL_INDEX else expr[at[0], at[1]]
        return idx, _rename_dummies(_finite_sums(element))

    def delta_elementwise(self, index="i"):
        """Component ``index`` of each named adjoint (δ), in terms of later δ's."""
        out = []
        i = sp.Symbol(index)
        for st in self.sweep.steps:
            if not st.lhs.name.startswith(("bar_", "grad_")) and st.lhs.name in self.sweep.definitions:
                at = 0 if st.lhs.shape[0] == 1 else i
                out.append((st.lhs, at, _rename_dummies(_finite_sums(st.value[at, 0]))))
        return out

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

    def forward(self):
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

    def pseudocode(self) -> list:
        """The forward pass and the recorded reverse sweep as NumPy-style code."""
        nodes = self.graph.nodes
        leaves = [n.name for n in nodes.values() if n.kind in ("input", "target", "param")]
        wrt = ", ".join(self.spec.wrt)
        L = [f"def gradient_{'_'.join(self.spec.wrt)}({', '.join(leaves)}):",
             "    # forward pass (one data point; a batch of column vectors works the same)"]
        for n in nodes.values():
            if n.kind == "affine":
                rhs = " + ".join(f"{a} @ {v}" for a, v in n.terms) + (f" + {n.bias}" if n.bias else "")
            elif n.kind == "activation":
                rhs = f"{n.activation.name}({n.arg})"
            elif n.kind == "loss":
                rhs = f"{n.loss.name if not n.loss.generic else 'loss'}({n.arg}, {n.target})"
            else:
                continue
            L.append(f"    {n.name} = {rhs}")
        L.append("    # backward sensitivities (reverse sweep)")
        for st in self.sweep.steps:
            name = st.lhs.name
            if name in self.sweep.definitions and name.startswith("bar_"):
                continue  # intermediate adjoints are inlined where they are used
            value = st.value if name in self.sweep.definitions else st.rhs
            L.append(f"    {code_name(name)} = {code(value)}")
        grads = [self.sweep.gradients[p] for p in self.spec.wrt]
        outs = ", ".join(code_name((g.symbol if len(g.contributions) > 1 else g.contributions[0].symbol).name)
                         for g in grads)
        L.append(f"    return {outs}    # ∂L/∂{wrt}".replace("∂L/∂", "dL/d"))
        return L

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

    def text(self, proof=True) -> str:
        """The whole derivation as readable Unicode text."""
        return render.text(self.document(proof))

    def latex(self, proof=True) -> str:
        """LaTeX body (amsmath): every section of the text rendering."""
        return render.latex(self.document(proof))

    def markdown(self, proof=True) -> str:
        """GitHub/Jupyter Markdown with $…$ and $$…$$ math."""
        return render.markdown(self.document(proof))

    factor = _factor
    too_big = staticmethod(_big)

    def proof_text(self):
        pr = self.proof
        sizes = ", ".join(f"{k} = {v}" for k, v in pr.sizes.items())
        L = [f"Proof against sympy.diff of the explicit scalar loss ({sizes}): "
             + ("HOLDS" if pr.holds else "FAILS") + (" (cached)" if pr.cached else "")]
        if pr.cached:
            L.append("  (cached: proved by an earlier run of this same code with these options; "
                     "--no-cache proves it again)")
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
            big = _big(g.expanded)
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
            "name": self.name,
            "description": self.description,
            "problem": self.problem,
            "options": dict(self.options),
            "forward": [{"lhs": n.unicode, "rhs": u, "latex": f"{n.latex} = {t}", "note": note}
                        for n, u, t, note in self.forward()],
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

    def json(self, proof=True) -> str:
        return json.dumps(self.to_dict(proof), ensure_ascii=False, indent=2)

    def _repr_latex_(self):
        g = self.sweep.gradients[self.spec.wrt[0]]
        node = self.graph.nodes[self.spec.wrt[0]]
        tail = "" if _big(g.expanded) else f" = {self.tex(g.expanded)}"
        return rf"$\frac{{\partial L}}{{\partial {node.latex}}} = {self.tex(g.total)}{tail}$"

    def _repr_markdown_(self):
        return self.markdown(proof=False)
