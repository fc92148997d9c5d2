"""A model file's derived gradient → generated NumPy/JAX source.

The generated function has three parts, each read off the derivation:

* the sizes, from the arrays passed in (``d_n = v_X.shape[0]``);
* the forward pass, one line per operator node, each emitted by its operator
  (:meth:`derive.ops.base.Operator.emit`: the operator's NumPy form run on code);
* the reverse sweep: every adjoint the sweep defined, in sweep order, then each
  gradient. These are the engine's matrix expressions, so vectors are columns
  (n × 1) here; an operator applied inside them (softmax(z) in a log-softmax
  adjoint, a sum, a loss) sees its operands in NumPy's shapes again.

The source names the array module ``numpy``; the JAX build binds that name to
``jax.numpy``. Generic functions (``function g``, ``loss l``) have no code and
are refused with the operator's own one-line error.
"""
from __future__ import annotations

import sympy as sp
from sympy import HadamardProduct, Identity, MatAdd, MatMul, MatPow, MatrixSymbol, OneMatrix, Transpose, ZeroMatrix
from sympy.matrices.expressions.diagonal import DiagMatrix

from derive.matexpr import Pointwise
from derive.ops.base import Apply, Block

from .generate import _Printer

__all__ = ["model_gradient_source", "compile_model_gradient"]


def _shape(e, rank):
    rows, cols = e.shape
    return () if rank == 0 else (rows,) if rank == 1 else (rows, cols)


class _Writer:
    """Lines of generated code and the names values have in them."""

    def __init__(self, sweep):
        self.sweep = sweep
        self.graph = sweep.graph
        self.lines: list[str] = []
        self.names: dict = {}  # symbol name -> code name (NumPy shapes)
        self.rank: dict = {}  # code name -> rank
        self.columns: dict = {}  # code name -> its column form, once bound
        self.count = 0
        self.temps: set = set()  # names this writer made up (never looked up as model names)
        self.scalars = _Scalars(self)

    def fresh(self, hint):
        self.count += 1
        name = f"{hint}_{self.count}"
        self.temps.add(name)
        return name

    def name_of(self, code):
        """``code`` itself when it is a name, else a new name bound to it."""
        return code if code.isidentifier() else self.bind(code)

    def bind(self, code, hint="t"):
        var = self.fresh(hint)
        self.lines.append(f"{var} = {code}")
        return var

    # -- the three parts ---------------------------------------------------------
    def leaves_and_sizes(self):
        spec = self.graph.spec
        for leaf in spec.leaves.values():
            var = f"v_{leaf.name}"
            self.lines.append(f"{var} = p[{leaf.name!r}]")
            self.names[leaf.name], self.rank[var] = var, len(leaf.shape)
        seen = set()
        for leaf in spec.leaves.values():
            for k, dim in enumerate(leaf.dims):
                if isinstance(dim, str) and dim not in seen:
                    seen.add(dim)
                    self.lines.append(f"d_{dim} = v_{leaf.name}.shape[{k}]")
                    self.names[dim] = f"d_{dim}"

    def forward(self):
        code = {}
        for n in self.graph.nodes:
            if n.kind == "number":
                code[n.id] = f"({float(n.value)!r})"  # bracketed: (-2.0) ** 2 is 4, -2.0 ** 2 is -4
            elif n.kind != "op":
                code[n.id] = f"v_{n.name}"
            else:
                var = f"v_{n.name}" if n.name is not None else self.fresh("f")
                self.lines.append(f"{var} = {n.op.emit([code[i] for i in n.inputs], bind=self.bind)}")
                code[n.id], self.rank[var] = var, len(n.shape)
                if n.name is not None:
                    self.names[n.name] = var
        return code[self.graph.node(self.graph.spec.loss).id]

    def reverse(self, wrt):
        for name, expr in self.sweep.definitions.items():
            var = f"a_{name}"
            self.lines.append(f"{var} = {self.value(expr)}")
            self.names[name] = var
            self.rank[var] = 2 if isinstance(expr, sp.MatrixExpr) else 0
            self.columns[var] = var
        out = {}
        for p in wrt:
            g = self.sweep.gradients[p].total
            out[p] = self.bind(f"numpy.reshape({self.value(g)}, numpy.shape(v_{p}))", "g")
        return out

    # -- matrix expressions, vectors as columns -----------------------------------
    def column(self, var):
        """A value's column form: a vector (n,) as n × 1, anything else as it is."""
        if var not in self.columns:
            self.columns[var] = self.bind(f"numpy.reshape({var}, (-1, 1))", "c") if self.rank[var] == 1 else var
        return self.columns[var]

    def symbol(self, e):
        if e.name not in self.names:
            raise NotImplementedError(f"no value for {e.name} in the generated code")
        return self.column(self.names[e.name])

    def value(self, e) -> str:
        if not isinstance(e, sp.MatrixExpr):
            return self.scalars.doprint(e)
        if isinstance(e, MatrixSymbol):
            return self.symbol(e)
        if isinstance(e, MatAdd):
            return "(" + " + ".join(self.value(a) for a in e.args) + ")"
        if isinstance(e, MatMul):
            coeff, mats = e.as_coeff_matrices()
            text = " @ ".join(self.value(m) for m in mats)
            return f"({text})" if coeff == 1 else f"(({self.scalars.doprint(coeff)}) * ({text}))"
        if isinstance(e, HadamardProduct):
            return "(" + " * ".join(self.value(a) for a in e.args) + ")"
        if isinstance(e, Transpose):
            return f"{self.value(e.arg)}.T"
        if isinstance(e, Pointwise):
            return self.pointwise(e)
        if isinstance(e, Apply):
            return self.apply(e)
        return self.structural(e)

    def structural(self, e) -> str:
        size = self.scalars.doprint
        if isinstance(e, OneMatrix):
            return f"numpy.ones(({size(e.rows)}, {size(e.cols)}))"
        if isinstance(e, ZeroMatrix):
            return f"numpy.zeros(({size(e.rows)}, {size(e.cols)}))"
        if isinstance(e, Identity):
            return f"numpy.eye({size(e.rows)})"
        if isinstance(e, DiagMatrix):
            return f"numpy.diagflat({self.value(e.args[0])})"
        if isinstance(e, MatPow):
            return f"numpy.linalg.matrix_power({self.value(e.base)}, {int(e.exp)})"
        if isinstance(e, Block):
            v, start, n = e.args
            return f"{self.value(v)}[{size(start)}:{size(start + n)}]"
        raise NotImplementedError(f"cannot generate code for {type(e).__name__}: {e}")

    def pointwise(self, e: Pointwise) -> str:
        """The elementwise body printed by SymPy's NumPy printer, its operands bound first."""
        vars_ = [sp.Symbol(self.name_of(self.value(a))) for a in e.operands]
        body = e.fn.expr.xreplace(dict(zip(e.fn.variables, vars_, strict=True)))
        if not body.free_symbols & set(vars_):
            return f"numpy.full_like({vars_[0]}, {self.scalars.doprint(body)})"
        return f"({self.scalars.doprint(body)})"

    def numpy_form(self, a, rank) -> str:
        """An operand in NumPy's shapes: a column back to a vector."""
        if not isinstance(a, sp.MatrixExpr):
            return self.scalars.doprint(a)
        code = self.value(a)
        return f"{code}[:, 0]" if rank == 1 else code

    def apply(self, e: Apply) -> str:
        shapes = [_shape(a, r) if isinstance(a, sp.MatrixExpr) else () for a, r in zip(e.operands, e.ranks,
                                                                                        strict=True)]
        printed = [self.numpy_form(a, r) for a, r in zip(e.operands, e.ranks, strict=True)]
        out = e.op.emit(printed)
        return f"numpy.reshape({out}, (-1, 1))" if len(e.op.shape(shapes)) == 1 else out


class _Scalars(_Printer):
    """Scalars: SymPy's NumPy printer, with the generated names and scalar operators."""

    def __init__(self, writer: _Writer):
        super().__init__()
        self.writer = writer

    def _print_Symbol(self, e):
        w = self.writer
        if e.name in w.temps:
            return e.name
        if e.name in w.names:
            return w.names[e.name]
        return super()._print_Symbol(e)

    def _print_ScalarApply(self, e):
        w = self.writer
        printed = [w.numpy_form(a, 1 if isinstance(a, sp.MatrixExpr) and a.shape[1] == 1 else 2)
                   for a in e.operands]
        return f"({e.op.emit(printed)})"

    def _print_MatrixElement(self, e):
        return f"{self.writer.value(e.parent)}[{self._print(e.i)}, {self._print(e.j)}]"


def model_gradient_source(d) -> tuple[str, list]:
    """Source of ``loss_and_gradient(p)`` for a model derivation ``d`` (p: leaf name → array),
    returning ``(loss, {param: gradient})``; and the names it differentiates."""
    w = _Writer(d.sweep)
    w.leaves_and_sizes()
    w.lines.append("# forward pass: one line per operator")
    loss = w.forward()
    w.lines.append("# reverse sweep: each adjoint in sweep order, then the gradients")
    grads = w.reverse(d.wrt)
    body = ["    " + line for line in w.lines]
    ret = "{" + ", ".join(f"{p!r}: {v}" for p, v in grads.items()) + "}"
    head = [f"# generated from the model {d.name}: vectors are 1-D arrays; numpy is NumPy or jax.numpy", "",
            "def loss_and_gradient(p):"]
    return "\n".join(head + body + [f"    return {loss}, {ret}"]) + "\n", list(d.wrt)


def compile_model_gradient(d, backend: str, jit: bool):
    """(source, both, gradient, loss, wrt) for a model derivation; see :func:`numeric.compile_gradient`."""
    import numpy as np

    from derive.errors import UsageError

    source, wrt = model_gradient_source(d)
    if backend == "jax":
        from .autodiff import jax, jnp

        xp = jnp
    else:
        jax, xp = None, np
    namespace = {"numpy": xp}
    exec(compile(source, f"<gradient of {d.name}>", "exec"), namespace)
    core = namespace["loss_and_gradient"]
    leaves = list(d.spec.leaves)

    def prepare(values):
        missing = [n for n in leaves if n not in values]
        if missing:
            raise UsageError(f"missing value for {missing[0]!r}; {d.name} needs: {', '.join(leaves)}")
        return {n: xp.asarray(values[n], dtype=xp.float64) for n in leaves}

    def both(values):
        return core(prepare(values))

    if jax is not None and jit:
        both = jax.jit(both)
    if backend == "numpy":
        return source, (lambda v: (lambda r: (float(r[0]), r[1]))(both(v))), (lambda v: both(v)[1]), (
            lambda v: float(both(v)[0])), wrt
    return source, both, (lambda v: both(v)[1]), (lambda v: both(v)[0]), wrt
