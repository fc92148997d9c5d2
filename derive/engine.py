"""The reverse sweep: one rule per node kind, every step recorded.

Rules (z̄ is the adjoint ∂L/∂z, a column vector like z):

* loss ``ℓ(ŷ, y)``             ŷ̄ += ∇ŷℓ            (computed by SymPy from the loss)
* activation ``h = f(z)``      z̄ += f′(z) ⊙ h̄      (softmax: (diag(ŷ) − ŷŷᵀ) h̄)
* affine ``z = Σ A v + c``     v̄ += Aᵀ z̄,  Ā += z̄ vᵀ,  c̄ += z̄

A parameter used at several sites is untied into occurrences p₍₁₎…p₍ₖ₎; each
gets its own adjoint, and ∂L/∂p = Σᵢ p̄₍ᵢ₎ at p₍ᵢ₎ = p. The same untying gives
the computational paths from p to L.

Canonical pairs (sigmoid + bce, softmax + ce) are not special-cased: when an
output activation feeds a concrete loss, SymPy multiplies the activation's
local derivative into the loss gradient at explicit size and simplifies; if
the result is an elementwise function of (ŷ, y) simpler than the product, the
step records the simplification.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import sympy as sp
from sympy import MatAdd, MatrixSymbol, Transpose

from .cancel import composite_delta, needs_simplex
from .graph import Graph, Node, display
from .matexpr import Pointwise
from .ops.reductions import Softmax
from .symbols import SUB as _SUBS, tex_subscript

__all__ = ["Step", "Contribution", "Gradient", "Sweep", "ForwardMode", "backprop", "forward_mode"]

_s, _t = sp.symbols("s t")
_K0 = 3  # explicit size at which loss gradients are computed and lifted


@dataclass
class Step:
    """One recorded line of the reverse sweep: ``lhs = rhs [= expanded] [= simplified]``."""

    rule: str
    lhs: MatrixSymbol
    rhs: object
    expanded: object = None
    simplified: object = None
    note: str = ""
    alias: tuple = ()  # (unicode, latex) of the node adjoint z̄₂ that δ_out names

    @property
    def value(self):
        """The form later steps build on."""
        for v in (self.simplified, self.expanded, self.rhs):
            if v is not None:
                return v


@dataclass
class Contribution:
    """The adjoint of one occurrence of a parameter."""

    param: str
    index: int
    site: str
    slot: str
    path: str
    symbol: MatrixSymbol  # p̄₍ᵢ₎
    occurrence: MatrixSymbol  # p₍ᵢ₎
    expr: object  # in terms of named adjoints (δ)
    paths: list = field(default_factory=list)  # node chains site → loss
    chains: list = field(default_factory=list)  # per path: [(label, factor), ...]


@dataclass
class Gradient:
    param: str
    contributions: list
    total: object  # sum of contributions, in δ terms
    expanded: object  # in forward quantities only
    symbol: MatrixSymbol


@dataclass
class Sweep:
    graph: Graph
    wrt: list
    steps: list
    gradients: dict
    names: dict  # MatrixSymbol name -> (unicode, latex)
    definitions: dict  # adjoint symbol name -> defining expression (value)
    opaque: dict  # ∇ŷℓ symbol name -> (loss, prediction node name, target node name): a generic loss gradient
    sensitivities: ForwardMode | None = None  # forward-mode sensitivities ∂site/∂p, when the model asks for them

    def expand(self, expr):
        """Replace adjoint symbols by their definitions until only forward
        quantities remain (one pass: each definition only uses earlier ones)."""
        full = {}
        for name, e in self.definitions.items():
            full[MatrixSymbol(name, *e.shape)] = e.xreplace(full) if full else e
        return expr.xreplace(full)


def _bar(node: Node) -> tuple[str, str]:
    return bar(node.unicode, node.latex)


def bar(u: str, t: str) -> tuple[str, str]:
    """The adjoint's name: a macron over the base letter (h₁ → h̄₁, \\bar{h}_{1})."""
    n = 1
    while n < len(u) and unicodedata.combining(u[n]):
        n += 1
    if "_" in t:
        base, sub = t.split("_", 1)
        tex = rf"\bar{{{base}}}_{sub}"
    else:
        tex = rf"\bar{{{t}}}"
    return unicodedata.normalize("NFC", u[:n] + "\u0304" + u[n:]), tex


def backprop(graph: Graph, wrt, sensitivities: str | None = None) -> Sweep:
    """Run the reverse sweep of ``graph`` for the parameters in ``wrt``; with
    ``sensitivities`` (a parameter's name), also derive that parameter's forward-mode sensitivities."""
    rev = _Reverse(graph, list(wrt))
    for node in reversed(list(graph.nodes.values())):
        rev.visit(node)
    gradients = {p: rev.gradient(p) for p in rev.wrt}
    sweep = Sweep(graph, rev.wrt, rev.steps, gradients, rev.names, rev.definitions, rev.opaque)
    if sensitivities:
        sweep.sensitivities = forward_mode(graph, sensitivities, rev.names)
    return sweep


def _dependents(nodes: dict, roots) -> set:
    """The roots and every node downstream of them (``nodes`` is in topological order)."""
    found = set(roots)
    for n in nodes.values():
        if any(i in found for i in n.inputs()):
            found.add(n.name)
    return found


class _Reverse:
    """The state of one reverse sweep: one method per node rule, every step recorded."""

    def __init__(self, graph: Graph, wrt: list):
        self.graph, self.nodes, self.wrt = graph, graph.nodes, wrt
        self.names = {n.name: (n.unicode, n.latex) for n in self.nodes.values()}
        # nodes that depend on some parameter in wrt: only their adjoints are needed
        self.needed = _dependents(self.nodes, wrt)
        self.occ = {p: graph.occurrences(p) for p in wrt}
        self.contribs = defaultdict(list)  # node -> [_Part]
        self.steps, self.definitions, self.opaque = [], {}, {}
        self.param_parts = defaultdict(list)  # param -> [(site node, slot, adjoint)]
        self.jacobians = {}  # (u, v) -> (∂v/∂u)ᵀ: an RNN's paths share their edges (T² paths, 5T edges)

    def visit(self, node: Node) -> None:
        """Apply the rule of one node (nodes are visited in reverse topological order)."""
        if node.name not in self.needed or node.kind in ("param", "input", "target"):
            return
        if node.kind == "loss":
            self._loss(node)
            return
        sym, parts = self._adjoint(node)
        if node.kind == "activation":
            self._activation(node, sym, parts)
        else:
            self._affine(node, sym)

    def _loss(self, node: Node) -> None:
        """Send ∇ŷℓ back to the loss's prediction ŷ."""
        pred = self.nodes[node.arg]
        grad = _loss_gradient(self.graph, node, self.names, self.opaque)
        self.contribs[pred.name].append(_Part(grad, "loss gradient", node.loss.description, loss=node))

    def _adjoint(self, node: Node):
        """Record the node's adjoint, the sum of what its consumers sent back; return (symbol, parts)."""
        parts = self.contribs[node.name]
        sym_name = node.adjoint or f"bar_{node.name}"
        alias = _bar(node) if node.adjoint else ()
        sym = MatrixSymbol(sym_name, *node.shape)
        step = _consumer_sum(node, sym, parts, alias)
        _set_forms(step, parts, self.definitions)
        self.names[sym_name] = display(node.adjoint) if node.adjoint else _bar(node)
        self.steps.append(step)
        self.definitions[sym_name] = step.value
        return sym, parts

    def _activation(self, node: Node, sym, parts) -> None:
        """h = f(z): send z̄ += f′(z) ⊙ h̄ back to z when z's adjoint is needed."""
        z = self.nodes[node.arg]
        if z.name in self.needed:
            self.contribs[z.name].append(_activation_rule(node, z, sym, parts, self.nodes, self.definitions))

    def _affine(self, node: Node, sym) -> None:
        """z = Σ A v + c: the operator sends the adjoint to every operand; parameters' shares are kept per site."""
        grads = node.op.vjp(sym, node.symbol, *_operands(self.graph, node))
        for pos, (name, g) in enumerate(zip(node.inputs(), grads, strict=True)):
            slot = node.slot(pos)
            if slot == "vector" and name in self.needed and self.nodes[name].kind != "param":
                self.contribs[name].append(_Part(g, f"affine {node.unicode}: input"))
            if name in self.wrt:
                self.param_parts[name].append((node, slot, g))

    def gradient(self, p: str) -> Gradient:
        """∂L/∂p: one adjoint per occurrence of p, recorded, and (for several) the step summing them."""
        pnode = self.nodes[p]
        order = {s: i for i, s in enumerate(self.occ[p])}
        parts = sorted(self.param_parts[p], key=lambda t: order[(t[0].name, t[1])])
        many = len(parts) > 1
        cs = [self._occurrence(p, pnode, i, many, *part) for i, part in enumerate(parts, start=1)]
        total = cs[0].expr if len(cs) == 1 else MatAdd(*[c.expr for c in cs])
        gsym = MatrixSymbol(f"grad_{p}", *pnode.shape)
        self.names[gsym.name] = (f"∂L/∂{pnode.unicode}", rf"\frac{{\partial L}}{{\partial {pnode.latex}}}")
        sweep_tmp = Sweep(self.graph, self.wrt, self.steps, {}, self.names, self.definitions, self.opaque)
        gradient = Gradient(p, cs, total, sweep_tmp.expand(total), gsym)
        if many:
            self.steps.append(self._occurrence_sum(pnode, gsym, cs, total))
        return gradient

    def _occurrence(self, p: str, pnode: Node, i: int, many: bool, site: Node, slot: str, expr) -> Contribution:
        """The adjoint p̄₍ᵢ₎ of the i-th occurrence of p: its names, paths and chains, and its step."""
        occ_name, bar_name, u, t = _occurrence_names(p, pnode, i, many)
        self.names[occ_name] = (u, t)
        self.names[bar_name] = bar(u, t)
        symb = MatrixSymbol(bar_name, *pnode.shape)
        label = site.path or site.unicode
        c = Contribution(p, i, site.name, slot, label, symb, MatrixSymbol(occ_name, *pnode.shape), expr)
        if slot != "matrix":
            c.paths = self.graph.paths(site.name)
            c.chains = [_chain(self.graph, c, path, self.names, self.jacobians) for path in c.paths]
        self.steps.append(Step(f"affine {site.unicode}: {'input' if slot == 'vector' else slot}", symb, expr,
                               note=f"{label} path" if site.path else ""))
        return c

    def _occurrence_sum(self, pnode: Node, gsym, cs: list, total) -> Step:
        """The step ∂L/∂p = Σᵢ p̄₍ᵢ₎, evaluated at p₍ᵢ₎ = p."""
        at = " = ".join(self.names[c.occurrence.name][0] for c in cs)
        return Step(f"sum over occurrences of {pnode.unicode}", gsym, MatAdd(*[c.symbol for c in cs]),
                    expanded=total, note=f"evaluated at {at} = {pnode.unicode}")


def _consumer_sum(node: Node, sym, parts: list, alias: tuple) -> Step:
    """The step z̄ = Σ (what each consumer sent back), with its rule and note."""
    rhs = parts[0].expr if len(parts) == 1 else MatAdd(*[p.expr for p in parts])
    rules = sorted({p.rule for p in parts})
    return Step(rules[0] if len(rules) == 1 else "sum over consumers", sym, rhs, alias=alias,
                note=parts[0].note if len(parts) == 1 else f"{node.unicode} feeds {len(parts)} nodes")


def _set_forms(step: Step, parts: list, definitions: dict) -> None:
    """Set a step's later forms: a single part's own, else the sum with plain adjoints inlined."""
    if len(parts) == 1 and (parts[0].expanded is not None or parts[0].simplified is not None):
        step.expanded, step.simplified = parts[0].expanded, parts[0].simplified
    else:
        inl = _inline_bars(step.rhs, definitions)
        step.expanded = inl if inl != step.rhs else None


def _occurrence_names(p: str, pnode: Node, i: int, many: bool) -> tuple[str, str, str, str]:
    """(symbol name, adjoint name, unicode, latex) of p₍ᵢ₎; plain p when it occurs once."""
    occ_name = f"{p}_occ{i}" if many else p
    u = pnode.unicode + (f"₍{str(i).translate(_SUBS)}₎" if many else "")
    t = tex_subscript(pnode.latex, f"({i})") if many else pnode.latex
    return occ_name, f"bar_{occ_name}", u, t


@dataclass
class _Part:
    """One adjoint contribution sent back to a node by one of its consumers."""

    expr: object
    rule: str
    note: str = ""
    loss: Node | None = None  # set when the contribution is a loss gradient
    expanded: object = None
    simplified: object = None


def _operands(graph: Graph, node: Node):
    """(operand symbols, operand shapes) of a node's operator."""
    ins = [graph.nodes[n] for n in node.inputs()]
    return [n.symbol for n in ins], [n.value_shape for n in ins]


def _loss_gradient(graph: Graph, node: Node, names: dict, opaque: dict):
    """∇ŷℓ from the loss operator; a gradient with no elementwise form (a generic or typed
    loss) is named ∇ŷℓ and recorded in ``opaque`` for the proof and the evaluator."""
    pred = graph.nodes[node.arg]
    grad = node.op.jacobian_T(0, node.symbol, *_operands(graph, node))
    if isinstance(grad, Pointwise):
        return grad
    gname = f"grad_{pred.name}_{node.name}"
    names.setdefault(gname, ("∇" + pred.unicode + node.loss.label, rf"\nabla_{{{pred.latex}}}{node.loss.latex}"))
    opaque[gname] = (node.loss, pred.name, node.target)
    return MatrixSymbol(gname, *pred.shape)


def _activation_rule(node: Node, z: Node, sym, parts, nodes, definitions) -> _Part:
    """z̄ += f′(z) ⊙ h̄ (softmax: (diag(ŷ) − ŷŷᵀ) h̄), as the node's operator gives it, with
    the named identity for f′ and, when h feeds a concrete loss directly, SymPy's
    simplification of the composite."""
    act, op = node.activation, node.op
    args, shapes = [z.symbol], [z.value_shape]
    loss_fed = len(parts) == 1 and parts[0].loss is not None
    incoming = parts[0].expr if loss_fed else _inline_bars(sym, definitions)
    (rhs,) = op.vjp(sym, node.symbol, args, shapes)
    if isinstance(op, Softmax):
        part = _Part(rhs, f"activation {act.label}", "softmax Jacobian diag(ŷ) − ŷŷᵀ")
        part.expanded = op.vjp(incoming, node.symbol, args, shapes)[0]
    elif act.name == "identity":
        part = _Part(rhs, "activation id", "identity: f′ = 1")
    else:
        part = _Part(rhs, f"activation {act.label}")
        through = op.identities(args, node.symbol, shapes)
        if through:
            part.expanded = op.vjp(incoming, node.symbol, args, shapes)[0].xreplace(through)
            part.note = act.identity_name
        elif incoming != sym:
            part.expanded = op.vjp(incoming, node.symbol, args, shapes)[0]
    if loss_fed:
        lnode = parts[0].loss
        lam = composite_delta(act, lnode.loss)
        if lam is not None:
            part.simplified = Pointwise(lam, node.symbol, nodes[lnode.target].symbol)
            assumption = ", targets summing to 1" if needs_simplex(act, lnode.loss) else ""
            part.note = f"{act.name} output + {lnode.loss.name} loss: SymPy cancels the product{assumption}"
    return part


def _inline_bars(expr, definitions):
    """Inline plain adjoint symbols (bar_*) but keep named ones (δ)."""
    subs = {}
    for s in expr.atoms(MatrixSymbol):
        if s.name.startswith("bar_") and s.name in definitions:
            subs[s] = definitions[s.name]
    return expr.xreplace(subs) if subs else expr


class Factor(NamedTuple):
    """One transposed local Jacobian on a path: its label and its value."""

    label: str
    value: object
    latex: str


def _jac_label(num, den, num_t, den_t, transpose=True):
    u = f"∂{num}/∂{den}"
    t = rf"\frac{{\partial {num_t}}}{{\partial {den_t}}}"
    if transpose:
        return f"({u})ᵀ", rf"\left({t}\right)^{{\top}}"
    return u, t


def _chain(graph: Graph, c: Contribution, path, names, jacobians=None):
    """The chain rule along one path, as transposed local Jacobians, read left
    to right as a matrix product; ``jacobians`` memoises them by edge."""
    jacobians = {} if jacobians is None else jacobians
    nodes = graph.nodes
    occ_u, occ_t = names[c.occurrence.name]
    first = nodes[path[0]]
    pos = next(i for i, n in enumerate(first.inputs()) if n == c.param and first.slot(i) == c.slot)
    label = _jac_label(first.unicode, occ_u, first.latex, occ_t)
    factors = [Factor(label[0], first.op.jacobian_T(pos, first.symbol, *_operands(graph, first)), label[1])]
    for u, v in zip(path, path[1:], strict=False):
        un, vn = nodes[u], nodes[v]
        lab = _jac_label(vn.unicode, un.unicode, vn.latex, un.latex, transpose=vn.kind != "loss")
        if (u, v) not in jacobians:
            jacobians[u, v] = local_jacobian_T(graph, u, v)
        factors.append(Factor(lab[0], jacobians[u, v], lab[1]))
    return factors


def local_jacobian_T(graph: Graph, u: str, v: str):
    """(∂v/∂u)ᵀ for an edge u → v of the graph; for a loss node, ∂ℓ/∂u."""
    vn = graph.nodes[v]
    if vn.kind == "loss":
        return _loss_gradient(graph, vn, {}, {})
    return vn.op.jacobian_T(vn.inputs().index(u), vn.symbol, *_operands(graph, vn))


@dataclass
class ForwardMode:
    """Forward sensitivities of one vector parameter p (P5's worked-solution route).

    ``recursion``: [(site node, S symbol, expression)] with S = ∂site/∂p, each in
    terms of earlier S's (activations and pass-through affine maps inlined);
    ``contributions``: [(loss node, site node, local adjoint, contribution)],
    contribution = (∂site/∂p)ᵀ · ∂ℓ/∂site computed along ℓ's own chain only;
    ``total`` = Σ contributions.
    """

    param: str
    recursion: list
    contributions: list
    total: object
    definitions: dict
    chains: dict = field(default_factory=dict)  # loss → [(node, ∂ℓ/∂node along ℓ's own chain)]


def forward_mode(graph: Graph, param: str, names: dict) -> ForwardMode | None:
    """Forward sensitivities of ``param``; None when the graph does not reduce
    to one chain per loss term (then reverse mode alone is shown)."""
    nodes = graph.nodes
    p = nodes[param]
    if p.shape[1] != 1:
        return None
    depends = _dependents(nodes, {param})
    sites = _sites(nodes, param)
    tangent, recursion, definitions = _tangents(graph, param, depends, sites, names)
    found = _forward_contributions(graph, sites, depends, tangent)
    if found is None or not found[0]:
        return None
    contributions, chains = found
    total = contributions[0][3] if len(contributions) == 1 else MatAdd(*[c[3] for c in contributions])
    return ForwardMode(param, recursion, contributions, total, definitions, chains)


def _sites(nodes: dict, param: str) -> list:
    """The affine nodes that take ``param`` directly, as a term's operand or as the bias."""
    return [n.name for n in nodes.values() if n.kind == "affine" and
            (n.bias == param or any(v == param for _, v in n.terms))]


def _tangents(graph: Graph, param: str, depends: set, sites: list, names: dict):
    """(tangent, recursion, definitions): ∂node/∂p for every dependent node, each site named S = ∂site/∂p."""
    p = graph.nodes[param]
    tangent = {}  # node -> expression of ∂node/∂p in terms of site symbols
    recursion, definitions = [], {}
    for n in graph.nodes.values():
        if n.name not in depends or n.kind in ("param", "input", "target", "loss"):
            continue
        expr = _tangent(graph, n, param, depends, tangent)
        if n.kind == "activation" or n.name not in sites:
            tangent[n.name] = expr
            continue
        sym = MatrixSymbol(f"S_{n.name}", n.shape[0], p.shape[0])
        names[sym.name] = (f"∂{n.unicode}/∂{p.unicode}", rf"\frac{{\partial {n.latex}}}{{\partial {p.latex}}}")
        recursion.append((n.name, sym, expr))
        definitions[sym.name] = expr
        tangent[n.name] = sym
    return tangent, recursion, definitions


def _tangent(graph: Graph, n: Node, param: str, depends: set, tangent: dict):
    """∂n/∂p for one node, from the tangents of its inputs."""
    args = _operands(graph, n)
    if n.kind == "activation":
        return n.op.jacobian(0, n.symbol, *args, through_output=True) * tangent[n.arg]
    ins = list(enumerate(n.inputs()))
    parts = [n.op.jacobian(i, n.symbol, *args) * tangent[v] for i, v in ins
             if n.slot(i) == "vector" and v in depends and v != param]
    parts += [n.op.jacobian(i, n.symbol, *args) for i, v in ins if v == param and n.slot(i) == "vector"]
    if n.bias == param:
        parts.append(n.op.jacobian(len(ins) - 1, n.symbol, *args))
    return parts[0] if len(parts) == 1 else MatAdd(*parts)


def _forward_contributions(graph: Graph, sites: list, depends: set, tangent: dict):
    """(contributions, chains) for the losses that depend on p; None when a loss's chain branches."""
    contributions, chains = [], {}
    for lnode in graph.losses():
        if lnode.arg not in depends:
            continue
        local = _local_adjoint(graph, lnode, sites, depends)
        if local is None:
            return None
        site, e, chain = local
        S = tangent[site]
        contributions.append((lnode.name, site, e, Transpose(S) * e))
        chains[lnode.name] = chain
    return contributions, chains


def _local_adjoint(graph, lnode, sites, depends):
    """∂ℓ/∂site along ℓ's own chain back to the nearest site, or None when
    that chain branches."""
    nodes = graph.nodes
    pred = nodes[lnode.arg]
    e = _loss_gradient(graph, lnode, {}, {})
    node, first = pred, True
    chain = [(pred.name, e)]
    while node.name not in sites:
        if node.kind not in ("activation", "affine"):
            return None
        args = _operands(graph, node)
        lam = composite_delta(node.activation, lnode.loss) if first and node.kind == "activation" else None
        ins = [(i, v) for i, v in enumerate(node.inputs()) if node.slot(i) in ("vector", "input") and v in depends]
        if len(ins) != 1:
            return None
        i, v = ins[0]
        if lam is not None:
            e = Pointwise(lam, node.symbol, nodes[lnode.target].symbol)
        else:
            e = node.op.vjp(e, node.symbol, *args)[i].xreplace(node.op.identities(args[0], node.symbol, args[1]))
        node = nodes[v]
        first = False
        chain.append((node.name, e))
    return node.name, e, chain
