"""The document of an evaluation trace (:class:`derive.trace.Trace`): the primal
trace, the tangent trace, the adjoint trace (reverse mode), the result and the
check against ``sympy.diff``; :mod:`derive.render` prints it."""
from __future__ import annotations

import sympy as sp

from .document import Document, Equation, Equations, Math, Prose, Section, rich
from .graph import display
from .printing import latex as _latex, unicode as _unicode
from .trace import _exact, _paren_tex, _terms

__all__ = ["document"]


def document(t, proof=True) -> Document:
    fx = f"f({', '.join(t.variables)})"
    fx_t = f"f({', '.join(display(v)[1] for v in t.variables)})"
    title = rich("evaluation trace of ", Math(f"{fx} = {t.expr.text.strip()}", f"{fx_t} = {_latex(t.function)}"))
    sections = [_primal(t), _tangents(t)]
    if t.reverse:
        sections.append(_adjoints(t))
    sections += [_result(t), _proof(t)] if proof else [_result(t)]
    return Document("trace", title, (_preamble(t),), tuple(sections), typeset_name=False)


def _float(e) -> str:
    return f"{float(sp.N(e, 30)):.12g}"


def _var(v: str) -> Math:
    return Math(v, display(v)[1])


def _preamble(t) -> Prose:
    wrt = _var(t.wrt)
    at = Math(", ".join(f"{v} = {_unicode(t.at[v])}" for v in t.variables),
              ", ".join(f"{display(v)[1]} = {_latex(t.at[v])}" for v in t.variables))
    mode = "forward and reverse mode" if t.reverse else "forward mode"
    seeds = Math(", ".join(f"∂{v}/∂{t.wrt} = {1 if v == t.wrt else 0}" for v in t.variables),
                 ", ".join(rf"\partial {display(v)[1]}/\partial {wrt.latex} = {1 if v == t.wrt else 0}"
                           for v in t.variables))
    tangent = Math(f"v̇ᵢ = ∂vᵢ/∂{t.wrt}", rf"\dot v_i = \partial v_i / \partial {wrt.latex}")
    return Prose(rich("at ", at, f"; {mode}, tangents ", tangent, " (seed: ", seeds, ")"))


def _primal(t) -> Section:
    """v_i = definition = exact ≈ float, the definitions padded to one column in text."""
    w = max(len(s.definition_text) for s in t.steps) + 6
    rows = []
    for s in t.steps:
        head = f"v{s.index} = "
        line = f"{(head + s.definition_text):<{w}} = {_unicode(s.value):<14} ≈ {_float(s.value)}"
        tex = rf"{s.definition_latex} = {_latex(s.value)} \approx {_float(s.value)}"
        rows.append(Equation(Math(f"v{s.index}", f"v_{{{s.index}}}"), (Math(line[len(head):], tex),)))
    return Section(("Primal trace (evaluation order)",), (Equations(tuple(rows)),), brief="Primal trace")


def _numbers(sub: Math, exact) -> Math:
    """The substituted chain rule, then its exact value (when it reads differently) and its float."""
    same = sub.text == _unicode(exact)
    text = sub.text + ("" if same else f" = {_unicode(exact)}") + f" ≈ {_float(exact)}"
    return Math(text, sub.latex + ("" if same else f" = {_latex(exact)}") + rf" \approx {_float(exact)}")


def _product_tex(pairs) -> str:
    """Σ factor·value with numbers on both sides, so the product is written out."""
    return _terms(pairs, tex=True).replace(r" \, ", r" \cdot ")


def _terms_tex(pairs) -> str:
    return _terms(pairs, tex=True)


def _tangents(t) -> Section:
    values = {s.symbol: s.value for s in t.steps}
    tangents = {s.symbol: s.tangent for s in t.steps}
    rows = []
    for (lhs, rule, sub, exact, _), s in zip(t.tangent_rows(), t.steps, strict=True):
        dot = Math(lhs, rf"\dot v_{{{s.index}}}")
        if s.op == "input":
            seed = Math(rule, rf"\frac{{\partial {display(s.variable)[1]}}}{{\partial {display(t.wrt)[1]}}}")
            rows.append(Equation(dot, (Math(f"{seed.text} = {sub}", f"{seed.latex} = {sub}"),), note="(seed)"))
            continue
        rule_tex = _terms_tex((d, rf"\dot v_{{{v.name[1:]}}}") for v, d in s.partials)
        sub_tex = _product_tex((_exact(d.xreplace(values)), _paren_tex(_latex(tangents[v]))) for v, d in s.partials)
        rows.append(Equation(dot, (Math(rule, rule_tex), _numbers(Math(sub, sub_tex), exact)), stacked=True))
    heading = "Tangent trace (forward mode): v̇ᵢ = Σⱼ ∂vᵢ/∂vⱼ · v̇ⱼ, chain rule first, then the numbers"
    return Section((heading,), (Equations(tuple(rows)),), brief="Tangent trace (forward mode)")


def _adjoints(t) -> Section:
    values = {s.symbol: s.value for s in t.steps}
    users = {s.symbol: [(u, d) for u in t.steps for v, d in u.partials if v == s.symbol] for s in t.steps}
    rows = []
    for (lhs, rule, sub, exact), s in zip(t.adjoint_rows(), reversed(t.steps), strict=True):
        bar = Math(lhs, rf"\bar v_{{{s.index}}}")
        if s is t.f:
            seed = rf"\frac{{\partial f}}{{\partial v_{{{s.index}}}}}"
            rows.append(Equation(bar, (Math(f"{rule} = {sub}", f"{seed} = {sub}"),), note="(seed)"))
            continue
        rule_tex = _terms_tex((d, rf"\bar v_{{{u.index}}}") for u, d in users[s.symbol])
        sub_tex = _product_tex((_exact(d.xreplace(values)), _paren_tex(_latex(u.adjoint)))
                              for u, d in users[s.symbol])
        rows.append(Equation(bar, (Math(rule, rule_tex), _numbers(Math(sub, sub_tex), exact)), stacked=True))
    heading = "Adjoint trace (reverse mode): v̄ᵢ = ∂f/∂vᵢ = Σ over the steps j that use vᵢ of v̄ⱼ·∂vⱼ/∂vᵢ"
    return Section((heading,), (Equations(tuple(rows)),), brief="Adjoint trace (reverse mode)")


def _valued(step: Math, e) -> Math:
    """``v₇ = exact ≈ float`` as one form."""
    return Math(f"{step.text} = {_unicode(e)} ≈ {_float(e)}", rf"{step.latex} = {_latex(e)} \approx {_float(e)}")


def _result(t) -> Section:
    n = t.f.index
    wrt = display(t.wrt)[1]
    rows = [Equation(Math("f", "f"), (_valued(Math(f"v{n}", f"v_{{{n}}}"), t.value),)),
            Equation(Math(f"∂f/∂{t.wrt}", rf"\frac{{\partial f}}{{\partial {wrt}}}"),
                     (_valued(Math(f"v̇{n}", rf"\dot v_{{{n}}}"), t.tangent_value),))]
    for v, g in t.gradient.items():
        k = next(s.index for s in t.steps if s.variable == v)
        rows.append(Equation(Math(f"∂f/∂{v}", rf"\frac{{\partial f}}{{\partial {display(v)[1]}}}"),
                             (_valued(Math(f"v̄{k}", rf"\bar v_{{{k}}}"), g),), note="(reverse mode)"))
    return Section(("Result",), (Equations(tuple(rows)),))


def _proof(t) -> Section:
    what = ", ".join(f"∂f/∂{v}" for v in t.brute)
    verdict = {"exact": "HOLDS", "60 digits": "HOLDS to 60 significant digits"}.get(t.comparison, "FAILS")
    sentence = (f"{what} from the trace = sympy.diff of f at the point: {verdict}",)
    return Section(("Proof: ", *sentence), brief="Proof", lead=sentence)
