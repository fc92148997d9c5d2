"""Derived gradients → generated, vectorised NumPy and JAX source.

``compile_gradient(derivation, backend="numpy" | "jax")`` writes one Python
function from a derivation's matrix-form result and ``exec``s it: the forward
values, then the recorded adjoints once each in sweep order (only those the
requested gradients use), then the gradients. Every distinct matrix
subexpression is computed once (structural common-subexpression elimination
over the whole sweep), and the scalar body of each elementwise node is
reduced with ``sympy.cse``.

Samples are rows. A per-sample column vector v (m×1 in the derivation) is an
N×m array; a parameter is shared by all samples. The products of the engine's
rules map onto whole-batch array operations:

* ``A v`` (shared A, per-sample v) → ``V @ A.T`` (one matrix product for the batch);
* ``z̄ vᵀ`` (a weight gradient, per-sample outer product) → ``Z.T @ V``, which is
  already the sum over samples the gradient of the summed loss needs;
* ``g′(z) ⊙ h̄``, ``Pointwise`` bodies → elementwise array expressions printed by
  SymPy's NumPy printer (``lambdify`` cannot print these nodes itself);
* the softmax Jacobian ``(diag(ŷ) − ŷŷᵀ) h̄`` is distributed and applied
  per sample: ``ŷ ⊙ h̄ − ŷ · Σ(ŷ ⊙ h̄)``, never forming a k×k matrix.

The same source runs on NumPy or on ``jax.numpy`` (it names the array module
``numpy``; the JAX build binds that name to ``jax.numpy`` and jit-compiles).
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import sympy as sp
from sympy import HadamardProduct, Identity, MatAdd, MatMul, MatrixSymbol, Transpose, ZeroMatrix
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.numpy import NumPyPrinter

from derive.errors import UsageError
from derive.functions import is_generic
from derive.matexpr import Pointwise
from derive.ops.elementwise import Elementwise
from derive.ops.linear import Affine
from derive.ops.reductions import Softmax

__all__ = ["CompiledGradient", "compile_gradient", "gradient_source", "BACKENDS"]

BACKENDS = ("numpy", "jax")


class _Printer(NumPyPrinter):
    """NumPy printing with numerically kinder forms for a few functions that
    activations use (the same source also runs on jax.numpy)."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1:  # a division is cheaper than a float power
            return f"1/{self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE['Pow'])}"
        return super()._print_Pow(expr, rational=rational)

    def _print_Heaviside(self, expr):
        x = self._print(expr.args[0])
        h0 = self._print(expr.args[1]) if len(expr.args) > 1 else "0.5"
        return f"numpy.where({x} > 0, 1.0, numpy.where({x} < 0, 0.0, {h0}))"

    def _minmax(self, expr, fn):
        out = self._print(expr.args[0])
        for a in expr.args[1:]:
            out = f"numpy.{fn}({out}, {self._print(a)})"
        return out

    def _print_Max(self, expr):
        return self._minmax(expr, "maximum")

    def _print_Min(self, expr):
        return self._minmax(expr, "minimum")

    def _print_log(self, expr):
        # log(1 + exp(u)) (softplus) does not overflow as logaddexp(0, u)
        arg = expr.args[0]
        if isinstance(arg, sp.Add) and len(arg.args) == 2 and sp.S.One in arg.args:
            other = [a for a in arg.args if a != sp.S.One][0]
            if isinstance(other, sp.exp):
                return f"numpy.logaddexp(0, {self._print(other.args[0])})"
        return f"numpy.log({self._print(arg)})"


_PRINTER = _Printer()


def _generic_check(expr):
    if any(is_generic(f) for f in sp.sympify(expr).atoms(sp.Function)):
        raise UsageError("generated code needs concrete functions: give --activation, --output-activation "
                         "and --loss (generic g, g1, ℓ cannot be evaluated)")


@dataclass
class _Value:
    """An emitted array: its variable, how it is batched, and its per-sample shape.

    kinds: ``S`` shared (a parameter-only matrix, stored as is); ``B`` per-sample
    column (N×rows); ``R`` per-sample row, the transpose of a column (N×cols);
    ``D`` per-sample diagonal matrix diag(v) (stored as v, N×rows); ``M`` the sum
    over samples of a per-sample matrix (rows×cols; only valid as a gradient).
    """

    var: str
    kind: str
    shape: tuple
    T: str = ""  # for a shared value: code of its transpose, when cheaper than var.T

    @property
    def transposed(self) -> str:
        return self.T or f"{self.var}.T"


class _Vectorise(Exception):
    """An expression the batched layout cannot represent (a bug in the engine's
    output or an unsupported node); reported with the expression."""


class _Emitter:
    def __init__(self, sweep):
        self.sweep = sweep
        self.graph = sweep.graph
        self.lines: list[str] = []
        self.memo: dict = {}
        self.count = 0
        self.nodes = {n.symbol: n for n in self.graph.nodes.values()}
        self.defs = {name: e for name, e in sweep.definitions.items()}

    # -- bookkeeping ----------------------------------------------------------
    def fresh(self, hint="v"):
        self.count += 1
        return f"{hint}_{self.count}"

    def emit(self, code, kind, shape, hint="v") -> _Value:
        var = self.fresh(hint)
        self.lines.append(f"{var} = {code}")
        return _Value(var, kind, tuple(shape))

    def bind(self, expr, value: _Value) -> _Value:
        self.memo[expr] = value
        return value

    # -- leaves and named values ----------------------------------------------
    def leaf(self, node) -> _Value:
        kind = "S" if node.kind == "param" else "B"
        return _Value(f"p_{node.name}", kind, node.shape)

    def symbol(self, e: MatrixSymbol) -> _Value:
        if e in self.nodes:
            node = self.nodes[e]
            if node.kind in ("param", "input", "target"):
                return self.leaf(node)
            return self.node(node)
        if e.name in self.sweep.opaque:
            return self.opaque(e)
        if e.name in self.defs:
            v = self.value(self.defs[e.name])
            self.lines.append(f"# {e.name} = {v.var}")
            return v
        raise _Vectorise(f"unknown symbol {e.name}")

    def node(self, node) -> _Value:
        """The forward value of a graph node (affine, activation or loss)."""
        sym = node.symbol
        if sym in self.memo:
            return self.memo[sym]
        nodes = self.graph.nodes
        ins = [nodes[i] for i in node.inputs()]
        op = node.op
        if isinstance(op, Affine):  # its symbolic form, W x + b, is what the batched layout knows how to emit
            v = self.value(op.symbolic([n.symbol for n in ins], [n.value_shape for n in ins]))
        elif isinstance(op, Softmax):
            z = self.value(ins[0].symbol)
            if z.kind != "B":
                raise _Vectorise("softmax of a value that is not per sample")
            # samples are rows here, and the operator's NumPy form acts along the last axis: it is the code
            v = self.emit(op.emit([z.var], bind=lambda code: self.emit(code, "B", z.shape, "e").var), "B", z.shape)
        elif isinstance(op, Elementwise):
            z = self.value(ins[0].symbol)
            t = sp.Symbol("t")
            _generic_check(op.f.f(t))
            v = z if op.name == "identity" else self.elementwise(sp.Lambda(t, op.f.f(t)), [z])
        else:
            raise _Vectorise(f"node {node.name} applies {op!r}")
        self.lines.append(f"# {node.name} = {v.var}")
        return self.bind(sym, v)

    def loss_value(self, node) -> str:
        """Code for the loss node's value summed over the batch (a scalar)."""
        yh, y = self.value(self.graph.nodes[node.arg].symbol), self.value(self.graph.nodes[node.target].symbol)
        loss = node.loss
        if loss.generic:
            _generic_check(loss.explicit(sp.symbols("a0:1"), sp.symbols("b0:1")))
        if loss.separable:
            s, t = sp.symbols("s t")
            term = self.elementwise(sp.Lambda((s, t), loss.explicit([s], [t])), [yh, y])
            return f"numpy.sum({term.var})"
        yhs, ys, comps = self._components(loss, yh, y)
        body = self._scalar(loss.explicit(yhs, ys), "l")
        return f"numpy.sum({body})"

    def _components(self, loss, yh, y):
        """Columns ŷᵢ, yᵢ (i ≤ the highest the typed loss names) as named arrays, once per pair."""
        key = ("components", yh.var, y.var)
        k = loss.outputs
        if key not in self.memo:
            n = self.fresh("k")
            yhs, ys = sp.symbols(f"yh{n[2:]}_0:{k}"), sp.symbols(f"yt{n[2:]}_0:{k}")
            for i in range(k):
                self.lines.append(f"{yhs[i]}, {ys[i]} = {yh.var}[:, {i}], {y.var}[:, {i}]")
            self.memo[key] = (yhs, ys, k)
        return self.memo[key]

    def opaque(self, e: MatrixSymbol) -> _Value:
        """∇ŷℓ of a typed (non-separable) loss, component by component as SymPy differentiated it."""
        if e in self.memo:
            return self.memo[e]
        loss, pred, target = self.sweep.opaque[e.name]
        nodes = self.graph.nodes
        yh, y = self.value(nodes[pred].symbol), self.value(nodes[target].symbol)
        yhs, ys, k = self._components(loss, yh, y)
        ell = loss.explicit(yhs, ys)
        cols = []
        for a in yhs:
            d = sp.diff(ell, a)
            cols.append(self._scalar(d, "dl") if d.free_symbols else f"numpy.full_like({yh.var}[:, 0], {float(d)!r})")
        rest = f"numpy.zeros_like({yh.var}[:, {k}:])"
        code = f"numpy.concatenate([numpy.stack([{', '.join(cols)}], axis=-1), {rest}], axis=-1)"
        return self.bind(e, self.emit(code, "B", e.shape, "grad"))

    def _scalar(self, expr, hint) -> str:
        """Print a scalar expression of already-bound names, its common parts first."""
        _generic_check(expr)
        reps, (red,) = sp.cse(expr, symbols=sp.numbered_symbols(f"c{self.count}_"))
        for s, r in reps:
            self.lines.append(f"{s} = {_PRINTER.doprint(r)}")
        return _PRINTER.doprint(red)

    def elementwise(self, lam: sp.Lambda, operands) -> _Value:
        """Apply a Lambda's body entrywise to the operand arrays."""
        _generic_check(lam.expr)
        kinds = {o.kind for o in operands}
        kind = "B" if "B" in kinds else "R" if "R" in kinds else "S"
        if kinds - {kind, "S"}:
            raise _Vectorise(f"elementwise function of {sorted(kinds)} values")
        names = []
        for o in operands:
            if o.kind == "S" and kind != "S":
                o = self.emit(self.as_kind(o, kind), kind, o.shape, "b")
            names.append(o.var)
        body = lam.expr
        if not (body.free_symbols & set(lam.variables)):
            code = f"numpy.full_like({names[0]}, {float(body)!r})"
            return self.emit(code, kind, operands[0].shape)
        syms = [sp.Symbol(n) for n in names]
        body = body.xreplace(dict(zip(lam.variables, syms, strict=True)))
        return self.emit(self._scalar(body, "c"), kind, operands[0].shape)

    def as_kind(self, v: _Value, kind) -> str:
        """A shared vector used beside per-sample ones: broadcast as a row."""
        if kind == "B":
            if v.shape[1] != 1:
                raise _Vectorise("shared matrix added to a per-sample vector")
            return v.transposed
        if kind == "R":
            return v.var
        raise _Vectorise(f"shared value as {kind}")

    # -- matrix expressions ---------------------------------------------------
    def value(self, e) -> _Value:
        if e in self.memo:
            return self.memo[e]
        if isinstance(e, MatrixSymbol):
            v = self.symbol(e)
        elif isinstance(e, Transpose):
            a = self.value(e.arg)
            kind = {"S": "S", "B": "R", "R": "B", "D": "D", "M": "M"}[a.kind]
            v = _Value(f"{a.var}.T", kind, e.shape, T=a.var) if kind in ("S", "M") else _Value(a.var, kind, e.shape)
        elif isinstance(e, MatAdd):
            v = self.add([self.value(a) for a in e.args if not isinstance(a, ZeroMatrix)], e.shape)
        elif isinstance(e, HadamardProduct):
            vals = [self.value(a) for a in e.args]
            s = sp.symbols(f"s0:{len(vals)}")
            v = self.elementwise(sp.Lambda(s, sp.Mul(*s)), vals)
        elif isinstance(e, Pointwise):
            v = self.elementwise(e.fn, [self.value(a) for a in e.operands])
        elif isinstance(e, MatMul):
            v = self.matmul(e)
        elif isinstance(e, DiagMatrix):
            a = self.value(e.args[0])
            v = _Value(a.var, "D", e.shape) if a.kind == "B" else self.emit(f"numpy.diagflat({a.var})", "S", e.shape)
        else:
            raise _Vectorise(f"cannot generate code for {type(e).__name__}: {e}")
        return self.bind(e, v)

    def add(self, vals, shape) -> _Value:
        kinds = {v.kind for v in vals}
        if "D" in kinds and len(vals) > 1:
            raise _Vectorise("sum with a per-sample diagonal matrix")
        if len(vals) == 1:
            return vals[0]
        if "M" in kinds:
            parts = [self.as_sum(v) for v in vals]
            return self.emit(" + ".join(parts), "M", shape)
        kind = "B" if "B" in kinds else "R" if "R" in kinds else "S"
        parts = [v.var if v.kind == kind else self.as_kind(v, kind) for v in vals]
        return self.emit(" + ".join(parts), kind, shape)

    def as_sum(self, v: _Value) -> str:
        """Σ over samples of a per-sample value, as a rows×cols matrix."""
        if v.kind == "M":
            return v.var
        if v.kind == "B":
            return f"numpy.sum({v.var}, axis=0)[:, None]"
        if v.kind == "R":
            return f"numpy.sum({v.var}, axis=0)[None, :]"
        if v.kind == "S":
            return f"(n_samples * {v.var})"
        raise _Vectorise("sum over samples of a diagonal matrix")

    def matmul(self, e: MatMul) -> _Value:
        scalars = [a for a in e.args if not isinstance(a, sp.MatrixExpr)]
        mats = [a for a in e.args if isinstance(a, sp.MatrixExpr) and not isinstance(a, Identity)]
        coeff = sp.Mul(*scalars)
        for i, a in enumerate(mats):
            # a sum holding a per-sample matrix (the softmax Jacobian): distribute over it
            if isinstance(a, MatAdd) and not _representable(a, self):
                terms = [_flat_mul(coeff, *mats[:i], t, *mats[i + 1:]) for t in a.args]
                return self.value(MatAdd(*terms))
        if not mats:
            raise _Vectorise(f"scalar product {e}")
        acc = self.value(mats[-1])
        for a in reversed(mats[:-1]):
            acc = self.product(self.value(a), acc)
        if coeff != 1:
            acc = self.emit(f"{float(coeff)!r} * {acc.var}", acc.kind, e.shape)
        return acc

    def product(self, x: _Value, y: _Value) -> _Value:
        """x · y for one sample, written for the whole batch."""
        shape = (x.shape[0], y.shape[1])
        k = (x.kind, y.kind)
        one = (sp.Integer(1), sp.Integer(1))
        if k == ("S", "S"):
            return self.emit(f"{x.var} @ {y.var}", "S", shape)
        if k == ("S", "B"):
            return self.emit(f"{y.var} @ {x.transposed}", "B", shape)
        if k in (("S", "M"), ("M", "S")):
            return self.emit(f"{x.var} @ {y.var}", "M", shape)
        if k == ("R", "S"):
            return self.emit(f"{x.var} @ {y.var}", "R", shape)
        if y.kind in "BR" and y.shape == one:  # times a per-sample scalar
            if x.kind in "BR":
                return self.emit(f"{x.var} * {y.var}", x.kind, shape)
            if x.kind == "S":
                return self.emit(f"{self.as_kind(x, 'B')} * {y.var}", "B", shape)
        if x.kind in "BR" and x.shape == one:
            if y.kind in "BR":
                return self.emit(f"{x.var} * {y.var}", y.kind, shape)
            if y.kind == "S" and y.shape[0] == 1:
                return self.emit(f"{x.var} * {y.var}", "R", shape)
        if k == ("R", "B"):
            return self.emit(f"numpy.sum({x.var} * {y.var}, axis=-1, keepdims=True)", "B", shape)
        if k == ("B", "R"):  # per-sample outer products, summed over the batch
            return self.emit(f"{x.var}.T @ {y.var}", "M", shape)
        if k == ("S", "R") and x.shape[1] == 1:
            return self.emit(f"{x.var} @ numpy.sum({y.var}, axis=0, keepdims=True)", "M", shape)
        if k == ("D", "B"):
            return self.emit(f"{x.var} * {y.var}", "B", shape)
        if k == ("R", "D"):
            return self.emit(f"{x.var} * {y.var}", "R", shape)
        raise _Vectorise(f"product of {x.kind} and {y.kind} values")


def _flat_mul(*factors):
    """A MatMul of the factors with nested products spliced in (so that the
    per-sample products inside are evaluated right to left)."""
    args = []
    for f in factors:
        args.extend(f.args if isinstance(f, MatMul) else [f])
    return MatMul(*args)


def _representable(e, em: _Emitter) -> bool:
    """Can ``e`` be held as one batched array (not a per-sample matrix)?"""
    def kind(x):
        if isinstance(x, MatrixSymbol):
            node = em.nodes.get(x)
            return "S" if node is not None and node.kind == "param" else "B"
        if isinstance(x, DiagMatrix):
            return "P"
        if isinstance(x, Transpose):
            return kind(x.arg)
        if isinstance(x, MatMul):
            ks = [kind(a) for a in x.args if isinstance(a, sp.MatrixExpr)]
            if "P" in ks:
                return "P"
            mats = [a for a in x.args if isinstance(a, sp.MatrixExpr)]
            # a per-sample column times a per-sample row (not a scalar) is a per-sample matrix
            for a, b in itertools.pairwise(mats):
                if kind(a) == "B" and kind(b) == "B" and a.shape[1] == 1 and b.shape[0] == 1 and \
                        not (a.shape == (1, 1) or b.shape == (1, 1)):
                    return "P"
            return "B" if "B" in ks else "S"
        if isinstance(x, (MatAdd, HadamardProduct)):
            ks = [kind(a) for a in x.args]
            return "P" if "P" in ks else "B" if "B" in ks else "S"
        return "B"

    return kind(e) != "P"


@dataclass
class CompiledGradient:
    """A derivation's gradient as generated code.

    ``grad(values) -> (loss, gradients)``: ``values`` maps every input, target
    and parameter of the graph to an array (inputs and targets with samples as
    rows, N×dim, or one sample as a vector); ``loss`` is the loss summed over
    the samples, ``gradients[p]`` has the shape of ``values[p]`` for a
    parameter (the gradient of the summed loss) and is per sample for an input.
    ``grad.gradient(values)`` returns the gradients alone (without forming the
    loss value, like ``jax.grad``); ``grad.loss(values)`` runs the forward pass
    only. ``source`` is the generated code.
    """

    backend: str
    wrt: list
    source: str
    both_fn: Callable
    gradient_fn: Callable
    loss_fn: Callable

    def __call__(self, values):
        return self.both_fn(values)

    def gradient(self, values):
        return self.gradient_fn(values)

    def loss(self, values):
        return self.loss_fn(values)


def _gradient_lines(sweep, with_loss: bool):
    """The body of a generated gradient function and its return statement."""
    graph = sweep.graph
    em = _Emitter(sweep)
    total = [em.loss_value(n) for n in graph.losses()] if with_loss else []
    grads = {}
    for p, g in sweep.gradients.items():
        v = em.value(g.total)
        node = graph.nodes[p]
        if node.kind == "param":
            grads[p] = em.as_sum(v)
        elif v.kind == "B":
            grads[p] = v.var
        else:
            raise _Vectorise(f"gradient with respect to input {p} is not per sample")
    out = "{" + ", ".join(f"{p!r}: {c}" for p, c in grads.items()) + "}"
    lines = ["    " + line for line in em.lines]
    if with_loss:
        return lines + [f"    return {' + '.join(total)}, {out}"]
    return lines + [f"    return {out}"]


def gradient_source(sweep) -> str:
    """The generated Python source of ``sweep``'s loss and gradient: functions
    ``loss``, ``gradient`` (the gradients only: the loss value itself is never
    formed) and ``loss_and_gradient``, each of ``(p, n_samples)`` with ``p`` a
    dict of prepared arrays; see :func:`compile_gradient`."""
    graph = sweep.graph
    leaves = [n for n in graph.nodes.values() if n.kind in ("input", "target", "param")]

    def header(name):
        out = [f"def {name}(p, n_samples):"]
        out += [f"    p_{n.name} = p[{n.name!r}]" for n in leaves]
        return out

    try:
        fwd = _Emitter(sweep)
        total = [fwd.loss_value(n) for n in graph.losses()]
        loss_lines = header("loss") + ["    " + line for line in fwd.lines]
        loss_lines.append(f"    return {' + '.join(total)}")
        grad_lines = header("gradient") + _gradient_lines(sweep, False)
        both_lines = header("loss_and_gradient") + _gradient_lines(sweep, True)
    except _Vectorise as e:  # pragma: no cover - an engine output the layout does not cover
        raise NotImplementedError(f"cannot vectorise the derivation of {graph.name}: {e}") from None
    doc = [f"# generated from the {graph.name} derivation: samples are rows; numpy is NumPy or jax.numpy",
           "import functools  # noqa: F401", ""]
    return "\n".join(doc + loss_lines + [""] + grad_lines + [""] + both_lines) + "\n"


def compile_gradient(derivation, backend: str = "numpy", *, jit: bool = True) -> CompiledGradient:
    """Generate and compile the gradient of a derivation (or a ``Sweep``).

    ``backend="numpy"`` gives plain NumPy; ``backend="jax"`` the same source on
    ``jax.numpy`` in float64, wrapped in ``jax.jit`` unless ``jit=False``.
    Generic functions (g, g1, ℓ) cannot be evaluated and are refused.

    >>> from derive import derive
    >>> import numpy as np
    >>> d = derive("sigmoid_mlp")
    >>> grad = compile_gradient(d)
    >>> v = {"W1": np.ones((2, 3)), "b1": np.zeros(2), "W2": np.ones((1, 2)), "b2": np.zeros(1),
    ...      "x": np.zeros((4, 3)), "y": np.ones((4, 1))}
    >>> loss, g = grad(v)
    >>> round(loss, 6), g["b2"]                      # 4 samples: ŷ = σ(1) each, ∂L/∂b₂ = Σ(ŷ − y)
    (1.253047, array([-1.07576569]))
    """
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    sweep = derivation.sweep if hasattr(derivation, "sweep") else derivation
    if not hasattr(sweep, "opaque"):  # a model file's derivation (derive.model_doc.ModelDerivation)
        from .generate_model import compile_model_gradient

        if sweep is derivation:
            raise UsageError("compile_gradient of a model file takes its derivation (derive.model(text)), "
                             "not its sweep")
        source, *fns, wrt = compile_model_gradient(derivation, backend, jit)
        return CompiledGradient(backend, wrt, source, *fns)
    source = gradient_source(sweep)
    if backend == "jax":
        from .autodiff import jax, jnp

        xp, asarray = jnp, (lambda a: jnp.asarray(a, dtype=jnp.float64))
    else:
        xp, asarray = np, (lambda a: np.asarray(a, dtype=np.float64))
    namespace = {"numpy": xp, "functools": functools}
    exec(compile(source, f"<gradient of {sweep.graph.name}>", "exec"), namespace)
    core_both, core_grad, core_loss = namespace["loss_and_gradient"], namespace["gradient"], namespace["loss"]
    graph = sweep.graph
    leaves = [n for n in graph.nodes.values() if n.kind in ("input", "target", "param")]
    first_input = next(n.name for n in leaves if n.kind == "input")

    def prepare(values):
        missing = [n.name for n in leaves if n.name not in values]
        if missing:
            raise UsageError(f"missing value for {missing[0]!r}; {graph.name} needs: "
                             f"{', '.join(n.name for n in leaves)}")
        single = np.ndim(values[first_input]) < 2
        n = 1 if single else int(np.shape(values[first_input])[0])
        p = {}
        for node in leaves:
            a = asarray(values[node.name])
            if node.kind == "param":
                rows = node.shape[0]
                if node.shape[1] == 1:
                    a = xp.reshape(a, (-1, 1))
                elif rows.is_number:
                    a = xp.reshape(a, (int(rows), -1))
            else:
                a = xp.reshape(a, (n, -1))
            p[node.name] = a
        return p, n, single

    def shaped(values, raw, single):
        out = {}
        for name, g in raw.items():
            shape = np.shape(values[name])
            if graph.nodes[name].kind == "param":
                out[name] = xp.reshape(g, shape)
            else:
                out[name] = xp.reshape(g, shape if not single else (-1,))
        return out

    def both(values):
        p, n, single = prepare(values)
        loss, raw = core_both(p, n)
        return loss, shaped(values, raw, single)

    def gradient(values):
        p, n, single = prepare(values)
        return shaped(values, core_grad(p, n), single)

    def loss(values):
        p, n, _ = prepare(values)
        return core_loss(p, n)

    if backend == "numpy":
        fns = (lambda values: (lambda r: (float(r[0]), r[1]))(both(values)), gradient,
               lambda values: float(loss(values)))
    elif jit:
        fns = (jax.jit(both), jax.jit(gradient), jax.jit(loss))
    else:
        fns = (both, gradient, loss)
    return CompiledGradient(backend, list(sweep.gradients), source, *fns)
