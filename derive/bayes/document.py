"""A derivation that is a sequence of worked steps rather than a backprop graph.

:class:`BayesDerivation` has the same surface as :class:`derive.Derivation`:
``text()``, ``latex()``, ``markdown()``, ``to_dict()``/``json()`` and the
Jupyter hooks. Each :class:`Step` holds prose and equations; every equation is
built from SymPy expressions by :func:`eq`, which prints them as Unicode and LaTeX.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.str import StrPrinter

from .. import render
from ..document import Code, Document, Equation, Equations, Item, Items, Math, Prose, Section
from ..schema import header
from ..symbols import latex_symbols, superscript, tex_text

__all__ = ["BayesDerivation", "Step", "eq", "tex", "u"]


class _Unicode(StrPrinter):
    """Linear Unicode: x², √(…), a·b, −; symbols print by their (Unicode) names."""

    def _print_Pow(self, expr, rational=False):
        b, e = expr.as_base_exp()
        if e == sp.S.Half:
            return f"√({self._print(b)})"
        if e.is_Integer and 1 < e < 10:
            base = self.parenthesize(b, sp.printing.precedence.PRECEDENCE["Pow"])
            return base + superscript(e)
        return super()._print_Pow(expr, rational)

    def _print_binomial(self, expr):
        return f"C({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_beta(self, expr):
        return f"B({', '.join(self._print(a) for a in expr.args)})"

    def _print_Infinity(self, expr):
        return "∞"

    def _print_Pi(self, expr):
        return "π"


def u(expr) -> str:
    """``expr`` as one line of Unicode.

    >>> u(sp.Symbol("θ") ** 2 - 2 * sp.Symbol("α"))
    '−2·α + θ²'
    """
    s = _Unicode().doprint(sp.sympify(expr))
    s = s.replace("**", "^").replace("*", "·").replace(" - ", " − ").replace("(-", "(−")
    return "−" + s[1:] if s.startswith("-") else s


def tex(expr, names: dict) -> str:
    """``expr`` as LaTeX, with ``names`` mapping Unicode-named symbols to LaTeX
    (SymPy does not apply them inside some function arguments, e.g. B(α, β))."""
    return latex_symbols(sp.latex(sp.sympify(expr), symbol_names=names))


def eq(lhs, *forms, names: dict, lhs_tex: str | None = None) -> Equation:
    """An equation (:class:`derive.document.Equation`) from SymPy expressions; a
    form may also be a string (Unicode prose) or a (Unicode, LaTeX) pair."""
    lu = lhs if isinstance(lhs, str) else u(lhs)
    lt = lhs_tex if lhs_tex is not None else (tex_text(lhs).replace("$", "") if isinstance(lhs, str)
                                              else tex(lhs, names))
    fu = [f[0] if isinstance(f, tuple) else f if isinstance(f, str) else u(f) for f in forms]
    ft = [f[1] if isinstance(f, tuple) else tex_text(f).replace("$", "") if isinstance(f, str)
          else tex(f, names) for f in forms]
    return Equation(Math(lu, lt), tuple(map(Math, fu, ft)))


@dataclass
class Step:
    """A heading, its prose (what is done and why) and its equations, in order."""

    title: str
    prose: list = field(default_factory=list)
    equations: list = field(default_factory=list)
    after: list = field(default_factory=list)  # prose after the equations
    table: list = field(default_factory=list)  # preformatted lines (fixed-width table)


@dataclass
class BayesDerivation(render.Rendered):
    """A worked Bayesian derivation; renders like :class:`derive.Derivation`."""

    name: str
    description: str
    problem: str
    options: dict
    title: str
    steps: list
    results: dict  # JSON-ready values (exact strings and floats)
    verifications: list  # [(claim, holds)] proved symbolically while deriving
    sequential: list | None = None  # normal_normal: predictives after each data point

    @property
    def holds(self) -> bool:
        return all(ok for _, ok in self.verifications)

    def document(self, proof=True) -> Document:
        """The worked steps as a :class:`derive.document.Document`."""
        sections = [self._section(k, st) for k, st in enumerate(self.steps, 1)]
        if proof and self.verifications:
            head = "Symbolic verification: " + ("HOLDS" if self.holds else "FAILS")
            checks = tuple(Item((f"{'✓' if ok else '✗'} {claim}",)) for claim, ok in self.verifications)
            sections.append(Section((head,), (Items(checks),)))
        preamble = (Prose((self.description,)),
                    Prose(("options: " + ", ".join(f"{k} = {v}" for k, v in self.options.items()),)))
        return Document(self.name, (self.title,), preamble, tuple(sections))

    @staticmethod
    def _section(k, st) -> Section:
        blocks = [Prose((p,)) for p in st.prose]
        if st.equations:
            blocks.append(Equations(tuple(st.equations), indent=4, measure=46.0))
        if st.table:
            blocks.append(Code(tuple(st.table), language="text"))  # a preformatted table
        blocks += [Prose((p,)) for p in st.after]
        return Section((st.title,), tuple(blocks), number=k)

    def to_dict(self, proof=True) -> dict:
        """A JSON-ready description (schema in the README)."""
        out = {**header("bayes_derivation"), "name": self.name, "description": self.description,
               "problem": self.problem,
               "options": dict(self.options),
               "steps": [{"title": s.title, "prose": s.prose + s.after, "table": s.table,
                          "equations": [{"text": " = ".join([e.lhs.text, *(f.text for f in e.forms)]),
                                         "latex": " = ".join([e.lhs.latex, *(f.latex for f in e.forms)])}
                                        for e in s.equations]}
                         for s in self.steps],
               "results": self.results}
        if self.sequential is not None:
            out["sequential"] = self.sequential
        if proof:
            out["verification"] = {"holds": self.holds,
                                   "checks": [{"claim": c, "holds": ok} for c, ok in self.verifications]}
        return out

    def plot(self, path) -> None:
        """Write the sequential predictives as a 3×5 grid (normal_normal only; needs matplotlib)."""
        if self.sequential is None:
            from ..errors import UsageError

            raise UsageError(f"--plot draws normal_normal's sequential predictives; {self.name} has no plot")
        from .plot import save_plot

        save_plot(self.sequential, float(sp.Rational(self.results["values"]["sigma2"])), path)

    def _repr_latex_(self):
        return self.latex(proof=False)

