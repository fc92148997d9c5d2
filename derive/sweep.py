"""The reverse sweep over any model built from the operator registry.

A parsed model (:mod:`derive.model`) becomes a graph of operator nodes: each
assignment names its root node, every subexpression is an anonymous node. The
sweep walks the nodes in reverse and asks each node's operator for the
adjoint it sends to each operand (:meth:`Operator.vjp`); it contains no rule
of its own. What it records:

* a step for every named quantity: z̄ = the sum of what its consumers send
  back, in terms of the consumers' named adjoints; then the same with proved
  output identities (σ′ = σ(1 − σ)); then SymPy's simplification where it
  finds one (softmax + ce → ŷ − y);
* occurrence untying: a parameter or input used at k sites gets k adjoints
  p̄₍₁₎…p̄₍ₖ₎ and ∂L/∂p = Σᵢ p̄₍ᵢ₎ at p₍ᵢ₎ = p, with the computational paths
  from each site to the loss.

Canonical pairs are not listed anywhere: where an adjoint is a function of
same-shaped vectors or matrices, SymPy expands it at an explicit size,
cancels, and keeps the result when every entry is the same simpler function
of the operands' entries (with Σy = 1 for a cross-entropy target, stated).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sympy as sp
from sympy import MatAdd, MatrixExpr, MatrixSymbol

from .engine import bar
from .graph import display
from .matexpr import Pointwise
from .model_file import ModelSpec, Tree
from .ops import INFIX, TRANSPOSE, MissingRule, function_operator
from .ops.arithmetic import NEG, Pow
from .ops.base import Apply, ScalarApply, as_matrix_shape
from .ops.elementwise import ELEMENTWISE, Elementwise
from .ops.evaluate import explicit
from .ops.losses import LossOp
from .symbols import SUB as _SUB, tex_subscript

__all__ = ["GraphNode", "ModelGraph", "ModelStep", "Occurrence", "ModelGradient", "ModelSweep", "build_graph",
           "sweep"]

LIFT_SIZE = 3  # explicit size at which SymPy looks for a simpler elementwise form
MAX_PATHS = 12


@dataclass
class GraphNode:
    id: int
    kind: str  # input | target | param | const | number | op
    shape: tuple
    op: object = None
    inputs: tuple = ()
    name: str | None = None  # declared or assigned name; None for a subexpression
    equation: str | None = None  # the assignment this node belongs to
    col: int = 0
    value: object = None  # a number node's value
    symbol: object = None  # the symbolic value: a symbol for named nodes, an expression otherwise
    form: object = None  # an assignment's root: its right-hand side as an expression


@dataclass
class ModelGraph:
    spec: ModelSpec
    nodes: list
    by_name: dict  # name -> node id
    names: dict  # symbol name -> (unicode, latex)

    def node(self, name) -> GraphNode:
        return self.nodes[self.by_name[name]]


_GREEK = {"lam": ("λ", r"\lambda"), "lambda_": ("λ", r"\lambda"), "alpha": ("α", r"\alpha"),
          "beta": ("β", r"\beta"), "gamma": ("γ", r"\gamma"), "eta": ("η", r"\eta"), "mu": ("μ", r"\mu"),
          "tau": ("τ", r"\tau"), "rho": ("ρ", r"\rho"), "eps": ("ε", r"\varepsilon"),
          "theta": ("θ", r"\theta"), "sigma": ("σ", r"\sigma"), "delta": ("δ", r"\delta")}


def model_display(name: str) -> tuple:
    """Unicode and LaTeX of a name in a model file: Greek letters by name (lam → λ), else as
    :func:`derive.graph.display` (z1 → z₁, yhat → ŷ)."""
    import re

    m = re.fullmatch(r"([A-Za-z]+?)(\d*)", name)
    if m and m.group(1) in _GREEK:
        u, t = _GREEK[m.group(1)]
        digits = m.group(2)
        return u + digits.translate(_SUB), t + (f"_{{{digits}}}" if digits else "")
    return display(name)


def _symbol(name, shape):
    if not shape:
        return sp.Symbol(name)
    return MatrixSymbol(name, *as_matrix_shape(shape))


def build_graph(spec: ModelSpec) -> ModelGraph:
    """The operator graph of a parsed model (leaves first, then each assignment's nodes)."""
    nodes: list = []
    by_name: dict = {}
    names: dict = {}

    def add(**kw):
        n = GraphNode(id=len(nodes), **kw)
        nodes.append(n)
        return n

    for leaf in spec.leaves.values():
        n = add(kind=leaf.kind, shape=leaf.shape, name=leaf.name, symbol=_symbol(leaf.name, leaf.shape))
        by_name[leaf.name] = n.id
        names[leaf.name] = model_display(leaf.name)

    def operator(t: Tree):
        if t.kind == "neg":
            return NEG
        if t.kind == "T":
            return TRANSPOSE
        if t.kind == "pow":
            return Pow(exponent=sp.Rational(t.value.numerator, t.value.denominator))
        if t.kind == "infix":
            return INFIX[t.value]
        return spec.functions.get(t.value) or spec.losses.get(t.value) or function_operator(t.value, t.axis)

    def walk(t: Tree, eq):
        if t.kind == "var":
            return nodes[by_name[t.value]]
        if t.kind in ("num", "const"):
            v = sp.Rational(t.value.numerator, t.value.denominator) if t.kind == "num" else (
                sp.pi if t.value == "pi" else sp.E)
            return add(kind="number", shape=(), value=v, symbol=v, equation=eq, col=t.col)
        kids = [walk(c, eq) for c in t.children]
        op = operator(t)
        shapes = [k.shape for k in kids]
        shape = op.shape(shapes)
        n = add(kind="op", shape=shape, op=op, inputs=tuple(k.id for k in kids), equation=eq, col=t.col)
        n.symbol = op.symbolic([k.symbol for k in kids], shapes)
        return n

    for eq in spec.equations:
        root = walk(eq.tree, eq.name)
        if root.kind != "op" or root.name is not None:  # `h = x`: an identity node carries the name
            child = root
            root = add(kind="op", shape=root.shape, op=ELEMENTWISE["identity"], inputs=(root.id,),
                       equation=eq.name, col=eq.col, symbol=child.symbol)
        root.name = eq.name
        root.form = root.symbol
        root.symbol = _symbol(eq.name, root.shape)
        by_name[eq.name] = root.id
        names[eq.name] = model_display(eq.name)
    return ModelGraph(spec, nodes, by_name, names)


@dataclass
class ModelStep:
    """One line of the sweep: ``lhs = forms[0] = forms[1] …``; ``lhs`` is a
    symbol, or (for a subexpression) the expression whose adjoint it is."""

    rule: str
    lhs: object
    forms: list
    note: str = ""
    anonymous: bool = False


@dataclass
class Occurrence:
    param: str
    index: int
    node: int  # the consuming node
    slot: int
    equation: str
    symbol: object  # p̄₍ᵢ₎
    occurrence: object  # p₍ᵢ₎
    expr: object  # in terms of named adjoints
    paths: list = field(default_factory=list)  # [[equation names … loss]]


@dataclass
class ModelGradient:
    param: str
    occurrences: list
    total: object  # Σ of the occurrences, in terms of named adjoints
    expanded: object  # in forward quantities only
    symbol: object


@dataclass
class ModelSweep:
    graph: ModelGraph
    wrt: list
    steps: list
    gradients: dict
    definitions: dict  # adjoint symbol name -> value (in earlier adjoints and forward quantities)
    assumptions: list  # e.g. targets summing to 1, used by a simplification

    @property
    def names(self):
        return self.graph.names

    def expand(self, expr):
        """Replace adjoint symbols by their definitions until only forward quantities remain."""
        full: dict = {}
        for name, e in self.definitions.items():
            full[_symbol_like(name, e)] = e.xreplace(full) if full else e
        return expr.xreplace(full)


def _symbol_like(name, e):
    return MatrixSymbol(name, *e.shape) if isinstance(e, MatrixExpr) else sp.Symbol(name)


def _sum(parts):
    if len(parts) == 1:
        return parts[0]
    if any(isinstance(p, MatrixExpr) for p in parts):
        return MatAdd(*parts)
    return sp.Add(*parts)


class _Sweeper:
    def __init__(self, graph: ModelGraph, wrt):
        self.g, self.wrt = graph, list(wrt)
        self.nodes = graph.nodes
        self.parts = defaultdict(list)  # node id -> [(expr, consumer id, slot)]
        self.steps: list = []
        self.definitions: dict = {}
        self.identities: dict = {}
        self.assumptions: list = []
        self.needed = self._needed()

    def _needed(self) -> set:
        need = {self.g.by_name[p] for p in self.wrt}
        for n in self.nodes:
            if n.kind == "op" and any(i in need for i in n.inputs):
                need.add(n.id)
        return need

    def run(self) -> ModelSweep:
        loss = self.g.node(self.g.spec.loss)
        self.parts[loss.id].append((sp.Integer(1), None, None))
        for n in reversed(self.nodes):
            if n.kind == "op" and n.id in self.needed and self.parts[n.id]:
                self.visit(n)
        gradients = {p: self.gradient(p) for p in self.wrt}
        return ModelSweep(self.g, self.wrt, self.steps, gradients, self.definitions, self.assumptions)

    def label(self, n: GraphNode) -> str:
        return self.g.names[n.name][0] if n.name else ""

    def visit(self, n: GraphNode):
        parts = self.parts[n.id]
        rhs = _sum([p[0] for p in parts])
        adjoint = rhs
        if n.id == self.g.by_name[self.g.spec.loss]:
            adjoint = sp.Integer(1)
        elif n.name is not None:
            adjoint = self.named_step(n, parts, rhs)
        else:
            simpler = self.simplify(rhs)
            if simpler is not None:
                self.steps.append(ModelStep(self.rule(parts), n.symbol, [rhs, simpler],
                                            note="SymPy cancels the product" + self.assumed_note(), anonymous=True))
                adjoint = simpler
        args = [self.nodes[i].symbol for i in n.inputs]
        shapes = [self.nodes[i].shape for i in n.inputs]
        wanted = [i for i, k in enumerate(n.inputs) if k in self.needed]
        if not wanted:
            return
        for i in wanted:
            n.op.check_vjp(i, self.operand_text(self.nodes[n.inputs[i]]))
        if isinstance(n.op, Elementwise):
            self.identities.update({_key(k): v for k, v in n.op.identities(args, n.symbol, shapes).items()})
        vjps = n.op.vjp(adjoint, n.symbol, args, shapes)
        for i in wanted:
            if vjps[i] is None:
                raise MissingRule(f"operator {n.op.name!r} has no VJP rule for operand {i + 1}")
            self.parts[n.inputs[i]].append((vjps[i], n.id, i))

    def operand_text(self, node):
        return self.label(node) or "a subexpression"

    def rule(self, parts) -> str:
        ops = []
        for _, consumer, _ in parts:
            if consumer is None:
                continue
            c = self.nodes[consumer]
            where = self.g.names[c.equation][0] if c.equation else ""
            text = f"{c.op.name} in {where}" if where else c.op.name
            if text not in ops:
                ops.append(text)
        return ", ".join(ops) or "loss"

    def named_step(self, n: GraphNode, parts, rhs):
        sym = _symbol(f"bar_{n.name}", n.shape)
        u, t = self.g.names[n.name]
        self.g.names[sym.name] = bar(u, t)
        forms = [rhs]
        forms += self.with_identities(rhs)
        simpler = self.simplify(rhs)
        note = ""
        if simpler is not None and simpler not in forms:
            forms.append(simpler)
            note = "SymPy cancels the product" + self.assumed_note()
        if len(parts) > 1:
            rule = "sum over consumers"
            note = note or f"{u} feeds {len(parts)} sites"
        else:
            rule = self.rule(parts)
            c = self.nodes[parts[0][1]]
            note = note or (c.op.words if c.op is not None else "")
        self.steps.append(ModelStep(rule, sym, forms, note))
        self.definitions[sym.name] = forms[-1]
        return sym

    def assumed_note(self):
        return f"; assuming {self.assumptions[-1]}" if self._last_assumed else ""

    # -- SymPy's simplification of an adjoint ----------------------------------------
    _last_assumed = False

    def simplify(self, expr):
        """A simpler elementwise form of ``expr`` found by SymPy, or None. Operator
        results without an elementwise form (softmax(Z)) stand in as operands."""
        self._last_assumed = False
        if not isinstance(expr, MatrixExpr):
            return None
        full = self.expand_partial(expr)
        if not _has_loss_gradient(full):
            return None
        full = self.identity_forms(full)
        stand_in = {a: MatrixSymbol(f"_apply{i}", *a.shape) for i, a in enumerate(full.atoms(Apply))
                    if a.shape == full.shape}
        full = full.xreplace(stand_in) if stand_in else full
        atoms = sorted(full.atoms(MatrixSymbol), key=lambda s: s.name)
        if not atoms or any(a.shape != full.shape for a in atoms) or full.atoms(ScalarApply, Apply):
            return None
        dims = {sp.Symbol(d, integer=True, positive=True): LIFT_SIZE for d in self.g.spec.dims}
        rows, cols = (int(sp.sympify(d).xreplace(dims)) for d in full.shape)
        env = {a.name: sp.ImmutableMatrix(rows, cols, lambda i, j, a=a: sp.Symbol(f"{a.name}[{i},{j}]"))
               for a in atoms}
        try:
            value = explicit(full, env, dims, sizes_as_numbers=False)
        except (TypeError, KeyError):
            return None
        plain = sp.count_ops(value[0, 0])
        back = {v: k for k, v in stand_in.items()}
        for simplex in self.simplex_targets(atoms, env):
            lifted = _lift(value, atoms, env, simplex)
            if lifted is not None and sp.count_ops(lifted[0].expr) < plain:
                if simplex:
                    self._last_assumed = True
                    self.record_simplex(simplex)
                return Pointwise(lifted[0], *[back.get(a, a) for a in lifted[1:]])
        return None

    def expand_partial(self, expr):
        full: dict = {}
        for name, e in self.definitions.items():
            full[_symbol_like(name, e)] = e.xreplace(full) if full else e
        return expr.xreplace(full) if full else expr

    def simplex_targets(self, atoms, env):
        """No assumption first; then, for a cross-entropy target among the atoms, Σ y = 1 (per row)."""
        yield None
        for n in self.nodes:
            if n.kind == "op" and isinstance(n.op, LossOp) and n.op.loss.simplex_targets:
                target = self.nodes[n.inputs[1]]
                if target.kind == "target" and target.symbol in atoms:
                    yield target.name

    def record_simplex(self, name):
        text = f"each row of {self.g.names[name][0]} sums to 1 (cross-entropy targets)" \
            if len(self.g.node(name).shape) == 2 else f"{self.g.names[name][0]} sums to 1 (cross-entropy targets)"
        if text not in self.assumptions:
            self.assumptions.append(text)

    # -- the result for one parameter ------------------------------------------------
    def gradient(self, p) -> ModelGradient:
        leaf = self.g.node(p)
        parts = sorted(self.parts[leaf.id], key=lambda q: (self._order(q[1]), q[2]))
        many = len(parts) > 1
        u, t = self.g.names[p]
        occs = []
        for i, (expr, consumer, slot) in enumerate(parts, 1):
            occ_name = f"{p}_occ{i}" if many else p
            ou = u + (f"₍{str(i).translate(_SUB)}₎" if many else "")
            ot = tex_subscript(t, f"({i})") if many else t
            self.g.names[occ_name] = (ou, ot)
            bar_sym = _symbol(f"bar_{occ_name}", leaf.shape)
            self.g.names[bar_sym.name] = bar(ou, ot)
            c = self.nodes[consumer]
            o = Occurrence(p, i, consumer, slot, c.equation, bar_sym, _symbol(occ_name, leaf.shape), expr,
                           paths=self.paths(c.equation))
            occs.append(o)
            forms = [expr] + self.with_identities(expr)
            self.steps.append(ModelStep(f"{c.op.name} in {self.g.names[c.equation][0]}", bar_sym, forms,
                                        note=c.op.words))
        total = _tidy(_sum([o.expr for o in occs]))
        gsym = _symbol(f"grad_{p}", leaf.shape)
        self.g.names[gsym.name] = (f"∂L/∂{u}", rf"\frac{{\partial L}}{{\partial {t}}}")
        if many:
            at = " = ".join(self.g.names[o.occurrence.name][0] for o in occs)
            self.steps.append(ModelStep(f"sum over occurrences of {u}", gsym, [_sum([o.symbol for o in occs]), total],
                                        note=f"evaluated at {at} = {u}"))
        sweep = ModelSweep(self.g, self.wrt, self.steps, {}, self.definitions, self.assumptions)
        expanded = sweep.expand(total)
        return ModelGradient(p, occs, total, _tidy(self.identity_forms(expanded)), gsym)

    def identity_forms(self, expr):
        """``expr`` with each f′(z) written through the output where a proved identity
        says how (σ′(z) = h ⊙ (1 − h), tanh′(z) = 1 − h²)."""
        if not self.identities:
            return expr

        def walk(e):
            if isinstance(e, Pointwise) and _key(e) in self.identities:
                return self.identities[_key(e)]
            if not e.args or isinstance(e, sp.Lambda):
                return e
            args = [walk(a) for a in e.args]
            return e.func(*args) if any(a is not b for a, b in zip(args, e.args, strict=True)) else e

        return walk(expr)

    def with_identities(self, expr) -> list:
        """[the identity form of expr], or [] when it is the same."""
        ident = self.identity_forms(expr)
        return [ident] if ident != expr else []

    def _order(self, node_id):
        """Occurrences in reading order: the assignment's line, then the column."""
        n = self.nodes[node_id]
        lines = {e.name: k for k, e in enumerate(self.g.spec.equations)}
        return (lines.get(n.equation, -1), n.col)

    def paths(self, equation) -> list:
        """Every chain of assignments from ``equation`` to the loss (at most MAX_PATHS + 1)."""
        uses = _uses(self.g.spec)
        out: list = []

        def walk(name, path):
            if len(out) > MAX_PATHS:
                return
            if name == self.g.spec.loss:
                out.append(path)
                return
            for nxt in uses.get(name, []):
                walk(nxt, path + [nxt])

        walk(equation, [equation])
        return out


def _uses(spec: ModelSpec) -> dict:
    from .model_file import _names

    uses = defaultdict(list)
    for e in spec.equations:
        for n in sorted(_names(e.tree)):
            uses[n].append(e.name)
    return uses


_UNORDERED = (MatAdd, sp.HadamardProduct, sp.Add, sp.Mul)


def _key(e):
    """A structural key of an expression that ignores the order of sums and elementwise products
    (SymPy reorders them when an expression is rebuilt)."""
    if not e.args:
        return (type(e).__name__, str(e))
    if isinstance(e, _UNORDERED):  # flattened and sorted: (a + b) + c is a + b + c
        terms = [a for a in _flatten(e)]
        return (type(e).__name__, tuple(sorted((_key(a) for a in terms), key=repr)))
    return (type(e).__name__, tuple(_key(a) for a in e.args))


def _flatten(e):
    for a in e.args:
        if type(a) is type(e):
            yield from _flatten(a)
        else:
            yield a


def _tidy(expr):
    """Collect like terms (λ/2 W + λ/2 W = λ W) without rewriting the structure."""
    try:
        return expr.doit(deep=False) if isinstance(expr, MatAdd) else expr
    except Exception:  # noqa: BLE001 - a canonicalisation that fails leaves the sum as it was
        return expr


def _has_loss_gradient(expr) -> bool:
    """Does ``expr`` contain an elementwise function of two or more operands (a loss gradient)?"""
    return any(len(p.operands) > 1 for p in expr.atoms(Pointwise)) or bool(expr.atoms(Apply))


def _lift(value, atoms, env, simplex):
    """If every entry of the explicit ``value`` is the same function of the
    atoms' entries at that position: (that function as a Lambda, the atoms it
    uses); else None.
    ``simplex`` names a target whose entries (per row) sum to one."""
    rows, cols = value.shape
    subs = {}
    if simplex is not None:
        Y = env[simplex]
        if cols > 1:
            subs = {Y[i, cols - 1]: 1 - sum(Y[i, j] for j in range(cols - 1)) for i in range(rows)}
        else:
            subs = {Y[rows - 1, 0]: 1 - sum(Y[i, 0] for i in range(rows - 1))}
    slots = sp.symbols(f"_s0:{len(atoms)}")
    first = sp.cancel(sp.together(value[0, 0].xreplace(subs)))
    cand = first.xreplace({env[a.name][0, 0]: s for a, s in zip(atoms, slots, strict=True)})
    if any(str(s).endswith("]") for s in cand.free_symbols):
        return None
    cand = sp.factor(cand)
    for i in range(rows):
        for j in range(cols):
            want = cand.xreplace({s: env[a.name][i, j] for a, s in zip(atoms, slots, strict=True)}).xreplace(subs)
            if sp.cancel(sp.together(value[i, j].xreplace(subs) - want)) != 0:
                return None
    used = [(s, a) for s, a in zip(slots, atoms, strict=True) if s in cand.free_symbols]
    if not used:
        return None
    return sp.Lambda(tuple(s for s, _ in used), cand), *[a for _, a in used]


def sweep(graph: ModelGraph, wrt=None) -> ModelSweep:
    """Run the reverse sweep of ``graph`` for ``wrt`` (default: the model's)."""
    return _Sweeper(graph, wrt or graph.spec.wrt).run()
