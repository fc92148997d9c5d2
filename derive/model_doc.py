"""A model file's derivation: forward pass, shapes, occurrences and paths, the
sweep step by step, the result, and the proof, rendered as text, LaTeX,
Markdown or JSON (the same schema as a built-in derivation's).

>>> d = model("input x[n]\\nparam w[n]\\nL = sum(w * x) ** 2", name="square")
>>> d.formula("w")
'2·sum(w ⊙ x) x'
>>> d.proof.holds
True
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import sympy as sp

from . import render
from .components import finite_sums, rename_dummies
from .document import Document, Equation, Equations, Item, Items, Math, Prose, Section, Step, rich
from .errors import UsageError
from .index import entry
from .model_file import ModelSpec, parse_model, read_model
from .model_proof import default_sizes, prove_model
from .printing import latex, unicode
from .proof import ProofResult
from .schema import header
from .sections import proof_section, steps_section
from .sweep import MAX_PATHS, ModelSweep, build_graph, sweep

__all__ = ["ModelDerivation", "model", "load_model"]


def model(text: str, *, wrt=None, sizes=None, name: str = "model", path: str | None = None) -> ModelDerivation:
    """The derivation of the model written in ``text`` (the model-file format).

    ``wrt`` overrides the file's ``wrt`` line; ``sizes`` (named dim → int)
    the proof's sizes.
    """
    return ModelDerivation(parse_model(text, path or f"<{name}>"), name=name, wrt=wrt, sizes=sizes)


def load_model(path: str, *, wrt=None, sizes=None) -> ModelDerivation:
    """The derivation of the model file at ``path``."""
    return ModelDerivation(read_model(path), name=Path(path).stem, wrt=wrt, sizes=sizes)


class ModelDerivation(render.Rendered):
    """Everything derived from one model file; renders itself."""

    is_model = True  # derive.cache keys its proof by the model's text

    def __init__(self, spec: ModelSpec, *, name: str, wrt=None, sizes=None):
        self.spec, self.name = spec, name
        self.graph = build_graph(spec)
        self.wrt = self._wrt(wrt)
        self.sizes = self._sizes(sizes)
        self._proof: ProofResult | None = None

    def _wrt(self, wrt):
        if wrt is None:
            return list(self.spec.wrt)
        wrt = [w.strip() for w in (wrt.split(",") if isinstance(wrt, str) else wrt) if w.strip()]
        leaves = self.spec.leaves
        choices = sorted(n for n, lf in leaves.items() if lf.kind in ("param", "input"))
        for w in wrt:
            if w not in leaves or leaves[w].kind not in ("param", "input"):
                raise UsageError(f"--wrt {w!r} is not a param or input of {self.name}; choose from: "
                                 f"{', '.join(choices)}")
        from .model_file import _reaches

        reach = _reaches(self.spec.equations, self.spec.loss)
        for w in wrt:
            if w not in reach:
                raise UsageError(f"--wrt {w!r} does not reach the loss {self.spec.loss!r} of {self.name}")
        if not wrt:
            raise UsageError(f"--wrt needs at least one name; choose from: {', '.join(choices)}")
        return wrt

    def _sizes(self, sizes):
        out = default_sizes(self.spec.dims)
        for k, v in (sizes or {}).items():
            if k not in out:
                raise UsageError(f"size {k!r} is not a dimension of {self.name}; its dims: "
                                 f"{', '.join(self.spec.dims) or '(none)'}")
            if not isinstance(v, int) or not 1 <= v <= 8:
                raise UsageError(f"proof size {k} = {v!r}: give an integer from 1 to 8")
            out[k] = v
        return out

    @cached_property
    def sweep(self) -> ModelSweep:
        return sweep(self.graph, self.wrt)

    @property
    def names(self):
        return self.graph.names

    @property
    def proof(self) -> ProofResult:
        if self._proof is None:
            self._proof = prove_model(self.sweep, self.sizes)
        return self._proof

    @property
    def title(self) -> str:
        return self.spec.title or f"model {self.name}"

    # -- pieces ------------------------------------------------------------------
    def u(self, expr) -> str:
        return self.printed(unicode, expr)

    def tex(self, expr) -> str:
        return self.printed(latex, expr)

    def formula(self, param, form="matrix") -> str:
        g = self.sweep.gradients[param]
        return self.u(g.total if form == "matrix" else g.expanded)

    def component(self, param):
        """(index symbols, the (i, j) entry of ∂L/∂param in forward quantities), indexed
        structurally (:mod:`derive.index`); ((), None) for a scalar."""
        shape = self.graph.node(param).shape
        if not shape:
            return (), None
        idx = sp.symbols("i j")[:len(shape)]
        at = idx if len(shape) == 2 else (idx[0], 0)
        return idx, rename_dummies(finite_sums(entry(self.sweep.gradients[param].expanded, *at)))

    def _component_lhs(self, param, tex=False):
        idx, _ = self.component(param)
        u, t = self.names[param]
        if tex:
            return rf"\frac{{\partial L}}{{\partial \left({t}\right)_{{{''.join(map(str, idx))}}}}}"
        return f"∂L/∂{u}[{','.join(map(str, idx))}]"

    def forward_pass(self):
        """[(name, unicode rhs, latex rhs)] for each assignment."""
        out = []
        for e in self.spec.equations:
            n = self.graph.node(e.name)
            out.append((e.name, self.u(n.form), self.tex(n.form)))
        return out

    def shapes(self):
        """[(name, kind, dims as text)] for every leaf and assignment."""
        rows = []
        for n in self.graph.nodes:
            if n.name is None:
                continue
            kind = n.kind if n.kind != "op" else ("loss" if n.name == self.spec.loss else "computed")
            dims = " × ".join(str(s) for s in n.shape) or "scalar"
            rows.append((n.name, kind, dims))
        return rows

    def _lhs(self, step, tex=False):
        if step.anonymous:
            inner = (self.tex if tex else self.u)(step.lhs)
            return rf"\frac{{\partial L}}{{\partial \left({inner}\right)}}" if tex else f"∂L/∂({inner})"
        return (self.tex if tex else self.u)(step.lhs)

    def steps_rows(self):
        """[(rule, note, [unicode lhs, forms…], [latex lhs, forms…])]."""
        return [(s.rule, s.note, [self._lhs(s)] + [self.u(f) for f in s.forms],
                 [self._lhs(s, tex=True)] + [self.tex(f) for f in s.forms]) for s in self.sweep.steps]

    def occurrences(self, p):
        """[(occurrence unicode, occurrence latex, assignment, paths as unicode chains)]."""
        out = []
        for o in self.sweep.gradients[p].occurrences:
            ou, ot = self.names[o.occurrence.name]
            chains = [[ou] + [self.names[x][0] for x in path] for path in o.paths]
            out.append((ou, ot, o.equation, chains))
        return out

    # -- the document ---------------------------------------------------------------
    def document(self, proof=True) -> Document:
        """Everything this derivation says, in order (:mod:`derive.document`)."""
        sections = [self._forward_section(), self._shapes_section()]
        sections += [self._paths_section(p) for p in self.wrt]
        sections.append(steps_section(Step(rule, note, f"{rule}: {note}" if note else rule,
                                           Equation(Math(forms[0], tex[0]), tuple(map(Math, forms[1:], tex[1:]))))
                                      for rule, note, forms, tex in self.steps_rows()))
        sections += [self._result_section(p) for p in self.wrt]
        if proof:
            sections.append(proof_section(self.proof_text()))
        preamble = (Prose((f"model file {Path(self.spec.path).name}",)),)
        return Document(self.name, (self.title,), preamble, tuple(sections), typeset_name=False)

    def _math(self, name) -> Math:
        return Math(*self.names[name])

    def _forward_section(self):
        rows = tuple(Equation(self._math(n), (Math(u, t),)) for n, u, t in self.forward_pass())
        return Section(("Forward pass",), (Equations(rows),))

    def _shapes_section(self):
        items = []
        for n, kind, dims in self.shapes():
            shape = self.graph.node(n).shape
            space = " \\times ".join(str(s) for s in shape)
            tex = rf"{self.names[n][1]} \in \mathbb{{R}}" + (f"^{{{space}}}" if shape else "")
            items.append(Item((Math(f"{self.names[n][0]}: {dims}", tex), f"  ({kind})")))
        return Section(("Shapes",), (Items(tuple(items)),))

    def _paths_section(self, p):
        occ = self.occurrences(p)
        intro = ()
        if len(occ) > 1:
            where = [part for k, (ou, ot, eq, _) in enumerate(occ)
                     for part in ((", ",) if k else ()) + (Math(ou, ot), " in ", self._math(eq))]
            intro = rich("Occurrences of ", self._math(p), f": used at {len(occ)} sites; untie them as ", *where)
        items = []
        for _, ot, _, chains in occ:
            for chain in chains[:MAX_PATHS]:
                tex_chain = " \\to ".join([ot] + [self.names[x][1] for x in self._chain_names(chain)])
                items.append(Item((Math(" → ".join(chain), tex_chain),)))
            if len(chains) > MAX_PATHS:
                items.append(Item((f"… more than {MAX_PATHS} paths from this occurrence; the sweep sums them all",),
                                  numbered=False))
        heading = rich("Computational paths from ", self._math(p), " to ", self._math(self.spec.loss))
        return Section(heading, (Items(tuple(items), numbered=True),), intro=intro)

    def _result_section(self, p):
        g = self.sweep.gradients[p]
        u, t = self.names[p]
        lhs = Math(f"∂L/∂{u}", rf"\frac{{\partial L}}{{\partial {t}}}")
        forms = [Math(self.u(g.total), self.tex(g.total))]
        if g.expanded != g.total:
            forms.append(Math(self.u(g.expanded), self.tex(g.expanded)))
        rows = [Equation(lhs, tuple(forms), stacked=True)]
        idx, comp = self.component(p)
        if comp is not None:
            rows.append(Equation(Math(self._component_lhs(p), self._component_lhs(p, tex=True)),
                                 (Math(self.u(comp), self.tex(comp)),),
                                 label=(f"component {','.join(map(str, idx))}:  ",)))
        return Section(rich("Result: ", lhs), (Equations(tuple(rows)),), brief="Result")

    def _chain_names(self, chain):
        back = {u: n for n, (u, _) in self.names.items()}
        return [back.get(c, c) for c in chain[1:]]

    def proof_text(self):
        pr = self.proof
        sizes = ", ".join(f"{k} = {v}" for k, v in pr.sizes.items()) or "scalars"
        L = pr.verdict(sizes, "on this same model text")
        for c in pr.checks:
            what = {"occurrence": f"occurrence {c.label}: its adjoint = ∂L/∂(that occurrence) of the untied model",
                    "path": f"chain rule for {c.label}: Σ over paths of Π (local Jacobian)ᵀ = that adjoint",
                    "total": f"total {c.label} = sympy.diff of the loss"}[c.what]
            plural = "s" if c.components != 1 else ""
            how = f"; randomized identity test, P(false pass) < {c.false_pass:.0e}" if c.false_pass else ""
            L.append(f"  {'✓' if c.holds else '✗'} {c.param}: {what} [{c.components} component{plural}{how}]")
        L += [f"  assuming {a}" for a in pr.assumptions]
        L += [f"  ({x})" for x in pr.omitted + pr.notes]
        return L

    # -- JSON ----------------------------------------------------------------------
    def to_dict(self, proof=True) -> dict:
        grads = {}
        for p in self.wrt:
            g = self.sweep.gradients[p]
            grads[p] = {
                "matrix": self.u(g.total), "expanded": self.u(g.expanded), "latex": self.tex(g.expanded),
                "elementwise": self._elementwise_json(p),
                "contributions": [{"occurrence": ou, "site": eq, "path": self.names[eq][0],
                                   "adjoint": self.u(o.expr), "paths": chains, "chains": []}
                                  for (ou, _, eq, chains), o in zip(self.occurrences(p), g.occurrences,
                                                                    strict=True)]}
        out = {**header("derivation"), "name": self.name, "description": self.title, "problem": "model file",
               "options": {"file": self.spec.path, "wrt": list(self.wrt)},
               "forward": [{"lhs": self.names[n][0], "rhs": u, "latex": f"{self.names[n][1]} = {t}", "note": ""}
                           for n, u, t in self.forward_pass()],
               "shapes": {n: [str(s) for s in self.graph.node(n).shape] for n, _, _ in self.shapes()},
               "typed": [],
               "steps": [{"rule": r, "note": note, "forms": forms, "latex": tex}
                         for r, note, forms, tex in self.steps_rows()],
               "gradients": grads}
        if proof:
            pr = self.proof
            out["proof"] = {"sizes": pr.sizes, "holds": pr.holds, "cached": pr.cached,
                            "assumptions": pr.assumptions, "omitted": pr.omitted,
                            "checks": [{"kind": c.what, "param": c.param, "label": c.label, "holds": c.holds,
                                        "components": c.components, "false_pass_bound": c.false_pass}
                                       for c in pr.checks]}
        return out

    def _elementwise_json(self, p):
        idx, comp = self.component(p)
        if comp is None:
            return None
        return {"index": [str(s) for s in idx], "adjoints": None, "expanded": self.u(comp), "latex": self.tex(comp)}

    def _repr_latex_(self):
        p = self.wrt[0]
        return rf"$\frac{{\partial L}}{{\partial {self.names[p][1]}}} = {self.tex(self.sweep.gradients[p].expanded)}$"
