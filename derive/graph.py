"""Model graphs: small DAGs of named matrix nodes, declared, never differentiated here.

A derivation module builds a :class:`Graph` with one call per node::

    g = Graph("shared_bias", dims={"d": "d", "m": "m", "k": "m"})
    x = g.input("x", "d");  y = g.target("y", "k")
    W = g.param("W", "m", "d");  U = g.param("U", "k", "m");  b = g.param("b", "m")
    g.affine("z1", (W, x), bias=b, path="hidden", adjoint="delta_hidden")
    ...

Dimensions are named; ``dims`` maps each name to a SymPy symbol name, so
``k: "m"`` makes k and m the same size (the shared bias needs m = k).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import sympy as sp

from .errors import UsageError
from .functions import ACTIVATIONS, Activation, Loss
from .ops import MissingRule, Operator
from .ops.elementwise import ELEMENTWISE, Elementwise
from .ops.linear import Affine
from .ops.losses import LOSS_OPS, LossOp
from .ops.reductions import SOFTMAX
from .symbols import SUB as _SUB

__all__ = ["Graph", "Node", "display", "activation_operator", "loss_operator"]

_GREEK = {"delta": ("δ", r"\delta"), "sigma": ("σ", r"\sigma"), "ell": ("ℓ", r"\ell")}


def display(name: str) -> tuple[str, str]:
    """Unicode and LaTeX renderings of a node name.

    >>> display("z1")
    ('z₁', 'z_{1}')
    >>> display("delta_out")
    ('δ_out', '\\\\delta_{\\\\text{out}}')
    >>> display("yhat")
    ('ŷ', '\\\\hat{y}')
    >>> display("a_b_c")[1]
    'a_{\\\\text{b\\\\_c}}'
    """
    m = re.fullmatch(r"([A-Za-z]+)(\d*)(?:_(\w+))?", name)
    if not m:
        return name, name
    base, digits, sub = m.groups()
    uni, tex = base, base
    if base in _GREEK:
        uni, tex = _GREEK[base]
    elif base.endswith("hat") and len(base) > 3:
        uni, tex = base[:-3] + "\u0302", rf"\hat{{{base[:-3]}}}"
    uni += digits.translate(_SUB)
    subs = [s for s in (digits, sub) if s]
    if sub:
        uni += "_" + sub
    if subs:
        parts = [digits] if digits else []
        if sub:
            parts.append(rf"\text{{{sub.replace('_', chr(92) + '_')}}}" if not sub.isdigit() else sub)
        tex += "_{" + ",".join(parts) + "}"
    return unicodedata.normalize("NFC", uni), tex


@dataclass
class Node:
    name: str
    kind: str  # input | target | param | affine | activation | loss
    shape: tuple
    terms: tuple = ()  # affine: ((matrix name, vector name), ...)
    bias: str | None = None
    arg: str | None = None  # activation input, or loss prediction
    target: str | None = None  # loss target
    activation: Activation | None = None
    loss: Loss | None = None
    adjoint: str | None = None  # name for this node's adjoint (delta_out)
    path: str | None = None  # path label for occurrences at this node
    role: str = ""
    unicode: str = ""
    latex: str = ""
    op: Operator | None = None  # the registry operator this node applies to its inputs()
    rank: int = 1  # 0 a scalar, 1 a vector, 2 a matrix (an m × 1 matrix is not a vector)

    @property
    def symbol(self) -> sp.MatrixSymbol:
        return sp.MatrixSymbol(self.name, *self.shape)

    @property
    def value_shape(self) -> tuple:
        """The shape as the operators see it: () a scalar, (n,) a vector, (m, n) a matrix."""
        if self.kind == "loss":
            return ()
        rows, cols = self.shape
        return (rows, cols) if self.rank == 2 else (rows,)

    def slot(self, position: int) -> str:
        """What operand ``position`` of the operator is: matrix, vector or bias (affine), input, prediction, target."""
        if self.kind == "affine":
            return "bias" if position == 2 * len(self.terms) else ("vector" if position % 2 else "matrix")
        if self.kind == "loss":
            return "prediction" if position == 0 else "target"
        return "input"

    def inputs(self) -> list[str]:
        if self.kind == "affine":
            out = [n for t in self.terms for n in t]
            return out + ([self.bias] if self.bias else [])
        if self.kind == "activation":
            return [self.arg]
        if self.kind == "loss":
            return [self.arg, self.target]
        return []


@dataclass
class Graph:
    """A model: nodes in declaration (= topological) order."""

    name: str
    dims: dict = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)

    def dim(self, name) -> sp.Symbol:
        if isinstance(name, int):
            return sp.Integer(name)
        return sp.Symbol(self.dims.get(name, name), integer=True, positive=True)

    def _add(self, node: Node) -> str:
        if node.name in self.nodes:
            raise ValueError(f"node {node.name!r} declared twice in graph {self.name!r}")
        for i in node.inputs():
            if i not in self.nodes:
                raise ValueError(f"node {node.name!r} uses undeclared {i!r}")
        u, t = display(node.name)
        node.unicode = node.unicode or u
        node.latex = node.latex or t
        self.nodes[node.name] = node
        return node.name

    def input(self, name, rows, role="input"):
        return self._add(Node(name, "input", (self.dim(rows), sp.Integer(1)), role=role))

    def target(self, name, rows):
        return self._add(Node(name, "target", (self.dim(rows), sp.Integer(1)), role="target"))

    def param(self, name, rows, cols=None):
        """A matrix parameter rows × cols, or (no ``cols``) a vector of ``rows``."""
        shape = (self.dim(rows), self.dim(1 if cols is None else cols))
        return self._add(Node(name, "param", shape, role="parameter", rank=1 if cols is None else 2))

    def affine(self, name, *terms, bias=None, adjoint=None, path=None):
        """``name = Σ A v (+ bias)`` over the (matrix, vector) pairs in ``terms``."""
        A, _ = terms[0]
        shape = (self.nodes[A].shape[0], sp.Integer(1))
        for a, v in terms:
            if self.nodes[a].shape[1] != self.nodes[v].shape[0] or self.nodes[a].shape[0] != shape[0]:
                raise ValueError(f"shape mismatch in affine {name}: {a} {self.nodes[a].shape} @ {v}")
        if bias and self.nodes[bias].shape != shape:
            raise UsageError(
                f"bias {bias!r} has shape {self.nodes[bias].shape} but {name} has {shape}")
        return self._add(Node(name, "affine", shape, terms=tuple(terms), bias=bias,
                              adjoint=adjoint, path=path, op=Affine(terms=len(terms), bias=bias is not None)))

    def activation(self, name, act: Activation, arg, adjoint=None):
        return self._add(Node(name, "activation", self.nodes[arg].shape, arg=arg,
                              activation=act, adjoint=adjoint, op=activation_operator(act)))

    def loss(self, name, loss: Loss, prediction, target):
        return self._add(Node(name, "loss", (sp.Integer(1), sp.Integer(1)), arg=prediction,
                              target=target, loss=loss, op=loss_operator(loss)))

    # -- queries -------------------------------------------------------------
    def consumers(self, name) -> list[str]:
        return [n.name for n in self.nodes.values() if name in n.inputs()]

    def losses(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "loss"]

    def occurrences(self, param) -> list[tuple[str, str]]:
        """Every use of ``param``: (consumer node, slot) in declaration order,
        slot being ``"bias"`` or ``"matrix"`` or ``"vector"``."""
        out = []
        for n in self.nodes.values():
            if n.kind == "affine":
                for a, v in n.terms:
                    if a == param:
                        out.append((n.name, "matrix"))
                    if v == param:
                        out.append((n.name, "vector"))
                if n.bias == param:
                    out.append((n.name, "bias"))
        return out

    def paths(self, start) -> list[list[str]]:
        """All node chains from ``start`` to a loss node."""
        if self.nodes[start].kind == "loss":
            return [[start]]
        out = []
        for c in self.consumers(start):
            if self.nodes[c].kind == "loss" and self.nodes[c].target == start:
                continue
            out += [[start] + p for p in self.paths(c)]
        return out


def activation_operator(act: Activation) -> Operator:
    """The registry operator of an activation: softmax carries its own Jacobian; any other
    activation is elementwise. An activation marked ``vector`` that is not softmax has no rule."""
    if act.vector:
        if act is not ACTIVATIONS["softmax"]:
            raise MissingRule(f"activation {act.name!r} is marked vector=True but carries no Jacobian; only "
                              "softmax has one (a vector function of its own needs an operator class)")
        return SOFTMAX
    known = ELEMENTWISE.get(act.name)
    return known if known is not None and known.f is act else Elementwise(act)


def loss_operator(loss: Loss) -> LossOp:
    known = LOSS_OPS.get(loss.name)
    return known if known is not None and known.loss is loss else LossOp(loss)
