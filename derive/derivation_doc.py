"""The document of a built-in derivation (:class:`derive.Derivation`): what it
says, section by section; :mod:`derive.render` prints it."""
from __future__ import annotations

from . import components
from .components import too_big
from .document import Code, Document, Equation, Equations, Item, Items, Math, Prose, Section, Step, Table, rich
from .sections import proof_section, steps_section

__all__ = ["document", "rule_in_words"]

MAX_PATHS = 8  # paths written out in full; the proof covers all of them
MAX_FORM = 400  # longer expanded forms are left to --json


def document(d, proof=True) -> Document:
    """Everything the derivation ``d`` says, in order."""
    opts = ", ".join(f"{k} = {v}" for k, v in d.options.items())
    sections = [_forward(d), _shapes(d)]
    sections += [Section((heading,), (Equations(tuple(Equation(Math(lu, lt), (Math(ru, rt),))
                                                      for lu, ru, lt, rt in rows)),))
                 for heading, rows in d.typed]
    sections += [_paths(d, p) for p in d.spec.wrt]
    sections.append(steps_section(
        Step(rule, note, rule_in_words(rule, note),
             Equation(Math(forms[0], tex[0]), tuple(map(Math, forms[1:], tex[1:]))))
        for rule, note, forms, tex in d.steps_rows()))
    sections += [_result(d, p) for p in d.spec.wrt]
    sections += [s for s in (_adjoints(d), _forward_mode(d)) if s is not None]
    for heading, kind, lines in d.sections():
        blocks = (Code(tuple(lines)),) if kind == "code" else tuple(Prose((x,)) for x in lines)
        sections.append(Section((heading,), blocks))
    if proof:
        sections.append(proof_section(d.proof_text()))
    if d.spec.discussion:
        sections.append(Section(("Discussion",), tuple(Prose((x,)) for x in d.spec.discussion)))
    preamble = (Prose((d.description,)), Prose((f"options: {opts}",)))
    return Document(d.name, (d.spec.title,), preamble, tuple(sections))


def _node(d, name) -> Math:
    n = d.graph.nodes[name]
    return Math(n.unicode, n.latex)


def _forward(d) -> Section:
    rows = tuple(Equation(Math(n.unicode, n.latex), (Math(u, t),), note=note) for n, u, t, note in d.forward_pass())
    return Section(("Forward pass",), (Equations(rows, columns=(4, 22)),))


def _shapes(d) -> Section:
    constraints = tuple(Prose((c,)) for c in d.spec.constraints)
    if not d.spec.batch:
        parts = []
        for name, u, r, c in d.shapes():
            space = "" if r == c == "1" else f"^{{{r}}}" if c == "1" else rf"^{{{r} \times {c}}}"
            shape = Math(f"{u}: {r}×{c}", rf"{d.graph.nodes[name].latex} \in \mathbb{{R}}{space}")
            parts += [", "] * bool(parts) + [shape]
        return Section(("Shapes",), (Prose(tuple(parts)), *constraints))
    N = d.spec.batch
    rows = []
    for name, u, r, c in d.shapes():
        node = d.graph.nodes[name]
        batched = node.kind not in ("param", "loss")
        space = "" if r == c == "1" else f"^{{{r}}}" if c == "1" else rf"^{{{r} \times {c}}}"
        one = Math(f"{r}×{c}", rf"\mathbb{{R}}{space}")
        many = Math(f"{r}×{N}", rf"\mathbb{{R}}^{{{r} \times {N}}}") if batched else one
        summed = "   (L summed over the batch)" if node.kind == "loss" else ""
        rows.append((Math(u, node.latex), one, rich(many, summed)))
    table = Table(("", "one data point", f"a batch of {N} points"), tuple(rows), widths=(4, 8))
    return Section((f"Shapes (one data point | a batch of {N} points as columns)",), (table, *constraints))


def _occurrences(d, p, g) -> tuple:
    if len(g.contributions) <= 1:
        return ()
    where = []
    for c in g.contributions:
        where += [", "] * bool(where) + [Math(*d.names[c.occurrence.name]), " in ", _node(d, c.site)]
    return rich("Occurrences of ", _node(d, p), f": used at {len(g.contributions)} sites; untie them as ", *where)


def _paths(d, p) -> Section:
    g = d.sweep.gradients[p]
    items = []
    for c in g.contributions:
        items += _path_items(d, c, MAX_PATHS - sum(1 for x in items if x.numbered))
        if c.slot == "matrix":
            items.append(_outer_product_item(d, p, c))
    total = sum(len(c.paths) for c in g.contributions)
    more = f" ({total}; the first {MAX_PATHS} are written out)" if total > MAX_PATHS else ""
    heading = rich("Computational paths from ", _node(d, p), " to ", Math("L", "L"), more)
    return Section(heading, (Items(tuple(items), numbered=True),), intro=_occurrences(d, p, g))


def _path_items(d, c, room) -> list:
    occ_u, occ_t = d.names[c.occurrence.name]
    items = []
    for path, chain in list(zip(c.paths, c.chains, strict=True))[:max(0, room)]:
        nodes = Math(" → ".join([occ_u] + [d.graph.nodes[x].unicode for x in path]),
                     " \\to ".join([occ_t] + [d.graph.nodes[x].latex for x in path]))
        labels = Math(" ".join(f.label for f in chain), r" \, ".join(f.latex for f in chain))
        values = Math(" · ".join(d.factor(f.value) for f in chain),
                      r" \cdot ".join(d.factor(f.value, tex=True) for f in chain))
        lhs = Math(f"∂L/∂{occ_u}", rf"\frac{{\partial L}}{{\partial {occ_t}}}")
        items.append(Item((f"{c.path} path: ", nodes), (Equation(lhs, (labels, values), stacked=True),)))
    return items


def _outer_product_item(d, p, c) -> Item:
    """A matrix enters one affine map: ∂L/∂W[i,j] by the outer-product rule."""
    occ_u, occ_t = d.names[c.occurrence.name]
    idx, comp = d.component(p, c.expr)
    ix = ",".join(str(s) for s in idx)
    site = d.graph.nodes[c.site]
    i0 = str(idx[0]) if site.shape[0] != 1 and idx else ""
    z_i = Math(site.unicode + (f"[{i0}]" if i0 else ""), _entry_tex(site.latex, i0))
    w_ij = Math(f"{occ_u}[{ix}]" if ix else occ_u, _entry_tex(occ_t, ix.replace(",", "")))
    vec = [v for a, v in site.terms if a == p]
    enters = Math(f"{site.unicode} = … + {occ_u} " + " ".join(d.graph.nodes[v].unicode for v in vec),
                  rf"{site.latex} = \ldots + {occ_t} " + " ".join(d.graph.nodes[v].latex for v in vec))
    rule = Math(f"{d.u(c.symbol)} = {d.u(c.expr)}", f"{d.tex(c.symbol)} = {d.tex(c.expr)}")
    chain = Math(f"∂L/∂{z_i.text} · ∂{z_i.text}/∂{w_ij.text}",
                 rf"\frac{{\partial L}}{{\partial {z_i.latex}}} \frac{{\partial {z_i.latex}}}{{\partial {w_ij.latex}}}")
    lhs = Math(f"∂L/∂{w_ij.text}", rf"\frac{{\partial L}}{{\partial {w_ij.latex}}}")
    text = rich(f"{c.path}: ", Math(occ_u, occ_t), " enters only ", enters, "; outer-product rule ", rule)
    return Item(text, (Equation(lhs, (chain, Math(d.u(comp), d.tex(comp)))),))


def _result(d, p) -> Section:
    g = d.sweep.gradients[p]
    node = d.graph.nodes[p]
    blocks = []
    if len(g.contributions) > 1:
        parts = []
        for c in g.contributions:
            parts += [" + "] * bool(parts) + [Math(d.u(c.symbol), d.tex(c.symbol)), f" ({c.path} path)"]
        blocks.append(Prose(rich(*parts, ", each evaluated at the shared value ", _node(d, p), ":")))
    big = too_big(g.expanded)
    lhs = Math(f"∂L/∂{node.unicode}", rf"\frac{{\partial L}}{{\partial {node.latex}}}")
    total = Math(d.u(g.total), d.tex(g.total))
    expanded = None if big else Math(d.u(g.expanded), d.tex(g.expanded))
    forms = [total] + ([expanded] if expanded and g.expanded != g.total else [])
    rows = [Equation(lhs, tuple(forms), stacked=True)]
    component = _component(d, p, node, total, expanded)
    if component is not None:
        rows.append(component)
    blocks.append(Equations(tuple(rows)))
    return Section(rich("Result: ", lhs), tuple(blocks), brief="Result")


def _component(d, p, node, total, expanded):
    """∂L/∂p[i,j] in adjoints and then in forward quantities, when these say more than the matrix form."""
    big = expanded is None
    idx, comp_d = d.elementwise(p, expanded=False)
    comp = comp_d if big else d.elementwise(p)[1]
    ix = ",".join(str(s) for s in idx)
    said = (total.text, expanded.text if expanded else "")
    forms = [f for f in dict.fromkeys([Math(d.u(comp_d), d.tex(comp_d)), Math(d.u(comp), d.tex(comp))])
             if f.text not in said and len(f.text) <= MAX_FORM]
    forms = list({f.text: f for f in forms}.values())
    if not forms:
        return None
    elem = _entry_tex(node.latex, ix.replace(",", ""))
    lhs = Math(f"∂L/∂{node.unicode}" + (f"[{ix}]" if ix else ""), rf"\frac{{\partial L}}{{\partial {elem}}}")
    label = f"component {ix}:  " if ix else "as a scalar:  "
    return Equation(lhs, tuple(forms), label=(label,), stacked=True)


def _entry_tex(name: str, index: str) -> str:
    """Entry ``index`` of the matrix named ``name`` in LaTeX: W_{ij}, (z_{1})_{i}."""
    if not index:
        return name
    return rf"\left({name}\right)_{{{index}}}" if "_" in name else f"{name}_{{{index}}}"


def _adjoints(d):
    idx = next((components.indices(d, p) for p in d.spec.wrt if components.indices(d, p)), ())
    i = str(idx[0]) if idx else "i"
    rows = []
    for sym, at, c in d.delta_elementwise(i):
        lhs = Math(d.u(sym) + (f"[{at}]" if at != 0 else ""),
                   rf"\left({d.tex(sym)}\right)_{{{at}}}" if at != 0 else d.tex(sym))
        rows.append(Equation(lhs, (Math(d.u(c), d.tex(c)),)))
    if not rows:
        return None
    return Section(("Adjoints component by component",), (Equations(tuple(rows)),))


def _forward_mode(d):
    fm = d.sweep.sensitivities
    if fm is None:
        return None
    N = d.graph.nodes
    p = _node(d, fm.param)
    recursion = Equations(tuple(Equation(Math(d.u(sym), d.tex(sym)), (Math(d.u(e), d.tex(e)),))
                                for _, sym, e in fm.recursion), indent=4)
    terms = []
    for lname, site, local, contrib in fm.contributions:
        ln, sn = _node(d, lname), _node(d, site)
        terms.append(Equation(Math(f"∂{ln.text}/∂{sn.text}", rf"\frac{{\partial {ln.latex}}}{{\partial {sn.latex}}}"),
                              (Math(d.u(local), d.tex(local)),)))
        terms.append(Equation(Math(d.u(contrib), d.tex(contrib)), (), label=("contribution of ", ln, ": ")))
    sum_u = " + ".join(f"(∂{N[s].unicode}/∂{p.text})ᵀ ∂{N[lo].unicode}/∂{N[s].unicode}"
                       for lo, s, _, _ in fm.contributions)
    sum_t = " + ".join(rf"\left(\frac{{\partial {N[s].latex}}}{{\partial {p.latex}}}\right)^{{\top}} "
                       rf"\frac{{\partial {N[lo].latex}}}{{\partial {N[s].latex}}}" for lo, s, _, _ in fm.contributions)
    total = Equation(Math(f"∂L/∂{p.text}", rf"\frac{{\partial L}}{{\partial {p.latex}}}"),
                     (Math(f"Σ_t (∂a_t/∂{p.text})ᵀ ∂ℓ_t/∂a_t",
                           rf"\sum_t \left(\frac{{\partial a_t}}{{\partial {p.latex}}}\right)^{{\top}} "
                           r"\frac{\partial \ell_t}{\partial a_t}"), Math(sum_u, sum_t)))
    blocks = (Prose(("recursion (h = g(a) and pass-through maps inlined):",)), recursion,
              Prose(("each loss term through its own chain only, ∂ℓ_t/∂a_t, and its contribution:",)),
              Equations(tuple(terms), indent=4), Equations((total,)),
              Prose(("which equals the reverse-mode total (see the proof)",)))
    return Section(rich("Forward sensitivities of ", p, " (the same gradient, split by loss term)"), blocks)


def rule_in_words(rule: str, note: str = "") -> str:
    """A sweep step's rule as a sentence for typeset derivations."""
    words = rule
    if rule == "loss gradient":
        words = "gradient of the loss with respect to its prediction"
    elif rule.startswith("activation "):
        words = f"chain rule through the activation {rule.removeprefix('activation ')}, elementwise"
    elif rule.startswith("affine ") and rule.endswith(": input"):
        words = f"chain rule through the affine map {rule[7:-7]}: multiply by the transposed matrix"
    elif rule.startswith("affine ") and rule.endswith(": bias"):
        words = f"the bias enters {rule[7:-6]} directly: its occurrence takes that adjoint"
    elif rule.startswith("affine ") and rule.endswith(": matrix"):
        words = f"outer-product rule for the matrix in {rule[7:-8]}"
    elif rule == "sum over consumers":
        words = "multivariate chain rule: sum over every node this one feeds"
    if note.endswith(" path"):
        return f"{words} (chain rule along the {note})"
    return f"{words}; {note}" if note else words
