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

The plain source runs on NumPy or on ``jax.numpy`` (it names the array module
``numpy``; the JAX build binds that name to ``jax.numpy`` and jit-compiles, and
XLA fuses it). The NumPy build (``gradient_source(sweep, "numpy")``, what
``compile_gradient(d, "numpy")`` runs) does by hand what XLA does: each chain of
elementwise work (bias add → tanh, 1 − h² ⊙ h̄, softmax − y) becomes one
kernel run over blocks of rows that fit in cache, on the cores
(:func:`by_rows`); results go into arrays no longer needed (``out=``), so few
N×m arrays are allocated; and small products run on one BLAS thread.
"""
from __future__ import annotations

import ast
import collections
import contextlib
import ctypes
import dataclasses
import functools
import glob
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
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


def _cols(kind, shape):
    """Columns of the N×columns array holding a per-sample value of this kind and shape."""
    return shape[1] if kind == "R" else shape[0]


@dataclass
class _Kernel:
    """An elementwise statement ``var = body``, acting row by row: ``rows`` are
    its per-sample operands (N×·, cut into row blocks by the NumPy build); any
    other name in ``body`` is shared (a parameter broadcast as a row). ``body``
    is a SymPy expression in Symbols named after the arrays, or the code of the
    result after the statements ``pre`` (a row-wise operator such as softmax,
    and what is fused with one)."""

    var: str
    body: object
    rows: list
    cols: object  # the result is N × cols
    prefix: str = "c"  # of the names sympy.cse gives common parts
    pre: tuple = ()


@dataclass
class _Product:
    """``var = left @ right``: a per-sample value (N × cols) times a parameter."""

    var: str
    left: str
    right: str
    cols: object


@dataclass
class _Note:
    """The comment ``# name = var`` naming a value after the derivation."""

    name: str
    var: str


class _Vectorise(Exception):
    """An expression the batched layout cannot represent (a bug in the engine's
    output or an unsupported node); reported with the expression."""


class _Emitter:
    def __init__(self, sweep, rowwise=False):
        self.sweep = sweep
        self.rowwise = rowwise  # row-wise operators (softmax) as kernels, for the NumPy build
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

    def kernel(self, body, rows, kind, shape, hint="v") -> _Value:
        """An elementwise statement over per-sample ``rows`` (see :class:`_Kernel`)."""
        prefix = f"c{self.count}_"
        var = self.fresh(hint)
        self.lines.append(_Kernel(var, body, list(dict.fromkeys(rows)), _cols(kind, shape), prefix))
        return _Value(var, kind, tuple(shape))

    def times(self, a: str, b: str, rows, kind, shape) -> _Value:
        """The entrywise (broadcast) product of two arrays."""
        return self.kernel(sp.Mul(sp.Symbol(a), sp.Symbol(b)), rows, kind, shape)

    def product_of(self, left: str, right: str, kind, shape) -> _Value:
        var = self.fresh()
        self.lines.append(_Product(var, left, right, _cols(kind, shape)))
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
            self.lines.append(_Note(e.name, v.var))
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
            v = self.rowwise_op(op, z)
        elif isinstance(op, Elementwise):
            z = self.value(ins[0].symbol)
            t = sp.Symbol("t")
            _generic_check(op.f.f(t))
            v = z if op.name == "identity" else self.elementwise(sp.Lambda(t, op.f.f(t)), [z])
        else:
            raise _Vectorise(f"node {node.name} applies {op!r}")
        self.lines.append(_Note(node.name, v.var))
        return self.bind(sym, v)

    def rowwise_op(self, op, z: _Value) -> _Value:
        """A row-wise operator: samples are rows here, and the operator's NumPy
        form acts along the last axis, so it is the code (for the NumPy build, a
        kernel whose statements run on each block of rows)."""
        if not self.rowwise:
            return self.emit(op.emit([z.var], bind=lambda code: self.emit(code, "B", z.shape, "e").var), "B", z.shape)
        pre = []

        def bind(code):
            name = self.fresh("e")
            pre.append(f"{name} = {code}")
            return name

        result = op.emit([z.var], bind=bind)
        var = self.fresh()
        self.lines.append(_Kernel(var, result, [z.var], _cols(z.kind, z.shape), "", tuple(pre)))
        return _Value(var, z.kind, z.shape)

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
        # shared operands stay in the code as broadcast rows (p_b.T); per-sample ones are rows
        names = [self.as_kind(o, kind) if o.kind == "S" and kind != "S" else o.var for o in operands]
        rows = [o.var for o in operands if o.kind != "S"]
        body = lam.expr
        if not (body.free_symbols & set(lam.variables)):
            code = f"numpy.full_like({rows[0] if rows else names[0]}, {float(body)!r})"
            return self.emit(code, kind, operands[0].shape)
        syms = [sp.Symbol(n) for n in names]
        body = body.xreplace(dict(zip(lam.variables, syms, strict=True)))
        if kind == "S":
            return self.emit(self._scalar(body, "c"), kind, operands[0].shape)
        return self.kernel(body, rows, kind, operands[0].shape)

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
        if kind == "S":
            return self.emit(" + ".join(parts), kind, shape)
        rows = [v.var for v in vals if v.kind == kind]
        return self.kernel(sp.Add(*(sp.Symbol(c) for c in parts)), rows, kind, shape)

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
        if coeff != 1 and acc.kind in "BR":
            acc = self.kernel(sp.Float(float(coeff)) * sp.Symbol(acc.var), [acc.var], acc.kind, e.shape)
        elif coeff != 1:
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
            return self.product_of(y.var, x.transposed, "B", shape)
        if k in (("S", "M"), ("M", "S")):
            return self.emit(f"{x.var} @ {y.var}", "M", shape)
        if k == ("R", "S"):
            return self.product_of(x.var, y.var, "R", shape)
        if y.kind in "BR" and y.shape == one:  # times a per-sample scalar
            if x.kind in "BR":
                return self.times(x.var, y.var, [x.var, y.var], x.kind, shape)
            if x.kind == "S":
                return self.times(self.as_kind(x, "B"), y.var, [y.var], "B", shape)
        if x.kind in "BR" and x.shape == one:
            if y.kind in "BR":
                return self.times(x.var, y.var, [x.var, y.var], y.kind, shape)
            if y.kind == "S" and y.shape[0] == 1:
                return self.times(x.var, y.var, [x.var], "R", shape)
        if k == ("R", "B"):
            return self.emit(f"numpy.sum({x.var} * {y.var}, axis=-1, keepdims=True)", "B", shape)
        if k == ("B", "R"):  # per-sample outer products, summed over the batch
            return self.emit(f"{x.var}.T @ {y.var}", "M", shape)
        if k == ("S", "R") and x.shape[1] == 1:
            return self.emit(f"{x.var} @ numpy.sum({y.var}, axis=0, keepdims=True)", "M", shape)
        if k in (("D", "B"), ("R", "D")):
            return self.times(x.var, y.var, [x.var, y.var], y.kind if k == ("D", "B") else "R", shape)
        raise _Vectorise(f"product of {x.kind} and {y.kind} values")


# -- the NumPy build's runtime --------------------------------------------------------------------------

BLOCK = 1 << 14  # entries in a block of rows: 128 KiB of float64, well inside one core's L2 cache
_WORKERS = max(1, min(8, os.cpu_count() or 1)) - 1  # threads beside the caller's
_pool = (None, None)  # (process id, executor): a forked child makes its own
_pool_lock = threading.Lock()


def _threads():
    global _pool
    with _pool_lock:
        if _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(_WORKERS, thread_name_prefix="gradproof-rows"))
    return _pool[1]


def _check(block, out):
    if block.shape[1:] != out.shape[1:]:  # pragma: no cover - would be broadcast: a bug in the generator
        raise ValueError(f"by_rows: a block of shape {block.shape} for an output of shape {out.shape}")


def by_rows(fn, *arrays, out=None):
    """``fn(*arrays)`` computed by blocks of rows, into ``out`` if given (it may
    be one of ``arrays``: each block is read before it is written).

    ``fn`` must act row by row (elementwise, or along the last axis) on the
    N-row ``arrays``; anything it broadcasts is its own business. Blocks hold
    about :data:`BLOCK` entries, so a chain of NumPy operations on one stays
    in cache; they are shared out between the calling thread and a small pool
    (NumPy releases the GIL inside its loops, so the cores all work)."""
    n = arrays[0].shape[0]
    step = max(1, BLOCK // max(1, max(a.shape[-1] for a in arrays)))
    if n <= step:  # one block: no threads
        r = fn(*arrays)
        if out is None:
            return r.copy() if r.base is not None or any(r is a for a in arrays) else r
        _check(r, out)
        out[...] = r
        return out
    blocks = collections.deque(slice(i, i + step) for i in range(0, n, step))
    if out is None:
        first = blocks.popleft()
        r = fn(*(a[first] for a in arrays))
        out = np.empty((n, *r.shape[1:]), r.dtype)
        out[first] = r

    def drain():
        while True:
            try:
                s = blocks.popleft()
            except IndexError:
                return
            r = fn(*(a[s] for a in arrays))
            _check(r, out)
            out[s] = r

    helpers = [_threads().submit(drain) for _ in range(min(_WORKERS, len(blocks) - 1))]
    try:
        drain()
    finally:
        for h in helpers:
            h.result()
    return out


# Small matrix products (a batch of 64 at width 256) are faster on one BLAS thread
# than on OpenBLAS's two once the machine is busy: its threads hand work over by
# spinning and yielding, and a hand-off can wait for a whole time slice (an RNN's
# 250 products took 7× as long as on one thread). Below this many multiply-adds
# per product the NumPy build runs on one BLAS thread (its row blocks still use
# the cores), as threadpoolctl would set it, for the duration of the call.
SMALL_PRODUCT = 1 << 23
_blas_lock = threading.Lock()
_blas_limit = {"calls": 0, "before": None}


@functools.cache
def _openblas():
    """(get, set) the thread count of the OpenBLAS in NumPy's wheel, or None (another BLAS)."""
    for path in glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover
            continue
        for get, put in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                         ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                         ("openblas_get_num_threads", "openblas_set_num_threads")):
            if hasattr(lib, get) and hasattr(lib, put):
                get, put = getattr(lib, get), getattr(lib, put)
                get.restype, put.argtypes, put.restype = ctypes.c_int, [ctypes.c_int], None
                return get, put
    return None  # pragma: no cover


@contextlib.contextmanager
def one_blas_thread():
    """OpenBLAS on one thread inside the block (process-wide: BLAS has no other
    setting), restored when the last block using it ends; a no-op elsewhere."""
    blas = _openblas()
    if blas is None:  # pragma: no cover
        yield
        return
    with _blas_lock:
        if _blas_limit["calls"] == 0:
            _blas_limit["before"] = blas[0]()
            blas[1](1)
        _blas_limit["calls"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_limit["calls"] -= 1
            if _blas_limit["calls"] == 0:
                blas[1](_blas_limit["before"])


def _small_products(fn, params):
    """``fn(p, n)`` on one BLAS thread when its products are small (see :data:`SMALL_PRODUCT`)."""
    def run(p, n):
        if n * max((p[k].size for k in params), default=0) >= SMALL_PRODUCT:
            return fn(p, n)
        with one_blas_thread():
            return fn(p, n)

    return functools.wraps(fn)(run)


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


def _gradient_lines(sweep, with_loss: bool, rowwise: bool):
    """The statements of a generated gradient function and its return expression."""
    graph = sweep.graph
    em = _Emitter(sweep, rowwise)
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
    return em.lines, (f"{' + '.join(total)}, {out}" if with_loss else out)


# -- rendering: the plain source (JAX, or NumPy as printed) and the NumPy build ----------------------------

def _names(code: str) -> set:
    """The variables a line of code reads (none for a comment)."""
    code = code.strip()
    if not code or code.startswith("#"):
        return set()
    tree = ast.parse(code)
    stores = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - stores


def _reads(stmt) -> set:
    if isinstance(stmt, str):
        return _names(stmt)
    if isinstance(stmt, _Product):
        return _names(stmt.left) | _names(stmt.right)
    if isinstance(stmt, _Kernel):
        shared = set() if isinstance(stmt.body, str) else {n for s in stmt.body.free_symbols for n in _names(s.name)}
        return set(stmt.rows) | shared
    return set()


def _kernel_code(k: _Kernel):
    """(statements, result) of a kernel's body: common parts first (``sympy.cse``)."""
    if isinstance(k.body, str):
        return list(k.pre), k.body
    reps, (red,) = sp.cse(k.body, symbols=sp.numbered_symbols(k.prefix))
    return [f"{s} = {_PRINTER.doprint(r)}" for s, r in reps], _PRINTER.doprint(red)


def _plain(stmt) -> list:
    """Lines of one statement for the whole batch at once (what XLA fuses by itself)."""
    if isinstance(stmt, str):
        return [stmt]
    if isinstance(stmt, _Note):
        return [f"# {stmt.name} = {stmt.var}"]
    if isinstance(stmt, _Product):
        return [f"{stmt.var} = {stmt.left} @ {stmt.right}"]
    pre, code = _kernel_code(stmt)
    return pre + [f"{stmt.var} = {code}"]


def _fuse(stmts, ret: str):
    """Each elementwise value used once, by another elementwise statement, is
    inlined into it (z = x Wᵀ + b into tanh(z), 1 − h² into δ = (1 − h²) ⊙ h̄):
    the chain then runs once over each block of rows, in cache, with no N×m
    array in between. Returns the statements and {inlined var: its user}."""
    uses = collections.Counter(n for s in stmts for n in _reads(s))
    uses.update(_names(ret))
    producers, out, inlined = {}, [], {}
    for s in stmts:
        if isinstance(s, _Kernel):
            for u in [u for u in s.rows if u in producers and uses[u] == 1]:
                k = producers.pop(u)
                s = _inline(k, s)
                inlined[u] = s.var
                out.remove(k)
            producers[s.var] = s
        out.append(s)
    return out, inlined


def _inline(k: _Kernel, s: _Kernel) -> _Kernel:
    """Kernel ``s`` with the value of kernel ``k`` (one of its operands) computed inside it."""
    rows = list(dict.fromkeys([r for r in s.rows if r != k.var] + k.rows))
    if not isinstance(k.body, str) and not isinstance(s.body, str):
        return dataclasses.replace(s, body=s.body.xreplace({sp.Symbol(k.var): k.body}), rows=rows)
    k_pre, k_code = _kernel_code(k)
    s_pre, s_code = _kernel_code(s)
    return dataclasses.replace(s, body=s_code, rows=rows, pre=(*k_pre, f"{k.var} = {k_code}", *s_pre))


def _buffers(stmts, ret: str) -> dict:
    """{statement index: the dead array its result is written into}: an array
    is reused once its last reader has run (a kernel may write over its own
    operand, block by block), so that few N×m arrays are ever allocated. Arrays
    read by other code (views, sums, the returned values) are never reused."""
    reads, last, owned = _liveness(stmts, ret)
    free, outs = collections.defaultdict(list), {}
    for i, s in enumerate(stmts):
        dying = [n for n in sorted(reads[i]) if n in owned and last[n] == i]
        if isinstance(s, (_Kernel, _Product)) and s.var in owned:
            out = _reusable(s, [n for n in dying if owned[n] == s.cols], free[s.cols])
            if out:
                outs[i] = out
        free_now = [n for n in dying if n != outs.get(i)]
        for n in free_now:
            free[owned[n]].append(n)
    return outs


def _liveness(stmts, ret: str):
    """What each statement reads, the last reader of each name, and the arrays
    the function may reuse: {name: columns} of the results of kernels and
    products that no other code reads."""
    reads = [_reads(s) for s in stmts] + [_names(ret)]
    last = {n: i for i, r in enumerate(reads) for n in r}
    others = set().union(*(r for s, r in zip(stmts + [ret], reads, strict=True) if isinstance(s, str)))
    arrays = [s for s in stmts if isinstance(s, _Product) or (isinstance(s, _Kernel) and s.rows)]
    return reads, last, {s.var: s.cols for s in arrays if s.var not in others}


def _reusable(s, dying, free):
    """The array statement ``s`` writes into: an operand of a kernel it reads for
    the last time, else any dead array of its shape (or None: a new one)."""
    over = [n for n in dying if isinstance(s, _Kernel) and n in s.rows]
    if over:
        return over[0]
    return free.pop() if free else None


def _numpy(stmt, out, inlined) -> list:
    """Lines of one statement of the NumPy build: results written into ``out``
    when given, elementwise work by row blocks (:func:`by_rows`)."""
    if isinstance(stmt, _Note) and stmt.var in inlined:
        user = stmt.var
        while user in inlined:
            user = inlined[user]
        return [f"# {stmt.name}: inside {user}"]
    into = f", out={out}" if out else ""
    if isinstance(stmt, _Product) and out:
        return [f"{stmt.var} = numpy.matmul({stmt.left}, {stmt.right}{into})"]
    if not isinstance(stmt, _Kernel) or not stmt.rows:
        return _plain(stmt)
    pre, code = _kernel_code(stmt)
    args = ", ".join(stmt.rows)
    if not pre:
        return [f"{stmt.var} = by_rows(lambda {args}: {code}, {args}{into})"]
    fn = f"rows_{stmt.var}"
    return [f"def {fn}({args}):", *("    " + line for line in pre), f"    return {code}",
            f"{stmt.var} = by_rows({fn}, {args}{into})"]


def _render(stmts, ret: str, numpy_build: bool) -> list:
    """The body of a generated function, indented, ending with ``return ret``."""
    if not numpy_build:
        lines = [line for s in stmts for line in _plain(s)]
    else:
        stmts, inlined = _fuse(stmts, ret)
        outs = _buffers(stmts, ret)
        lines = [line for i, s in enumerate(stmts) for line in _numpy(s, outs.get(i), inlined)]
    return ["    " + line for line in lines] + [f"    return {ret}"]


def gradient_source(sweep, backend: str = "numpy") -> str:
    """The generated Python source of ``sweep``'s loss and gradient: functions
    ``loss``, ``gradient`` (the gradients only: the loss value itself is never
    formed) and ``loss_and_gradient``, each of ``(p, n_samples)`` with ``p`` a
    dict of prepared arrays; see :func:`compile_gradient`.

    ``backend="jax"`` gives the plain source, one whole-batch array expression
    a statement (it runs on NumPy too); ``"numpy"`` the NumPy build of it:
    chains of elementwise work fused into one pass over blocks of rows, run
    on the machine's cores by :func:`by_rows`, and dead arrays reused."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    graph = sweep.graph
    leaves = [n for n in graph.nodes.values() if n.kind in ("input", "target", "param")]
    build = backend == "numpy"

    def function(name, stmts, ret):
        out = [f"def {name}(p, n_samples):"]
        out += [f"    p_{n.name} = p[{n.name!r}]" for n in leaves]
        return out + _render(stmts, ret, build)

    try:
        fwd = _Emitter(sweep, build)
        total = [fwd.loss_value(n) for n in graph.losses()]
        loss_lines = function("loss", fwd.lines, " + ".join(total))
        grad_lines = function("gradient", *_gradient_lines(sweep, False, build))
        both_lines = function("loss_and_gradient", *_gradient_lines(sweep, True, build))
    except _Vectorise as e:  # pragma: no cover - an engine output the layout does not cover
        raise NotImplementedError(f"cannot vectorise the derivation of {graph.name}: {e}") from None
    if build:
        doc = [f"# generated from the {graph.name} derivation: samples are rows; NumPy, elementwise chains "
               "fused and run by blocks of rows", "from numeric.generate import by_rows  # noqa: F401", ""]
    else:
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
    source = gradient_source(sweep, backend)
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
    if backend == "numpy":
        params = [n.name for n in leaves if n.kind == "param"]
        core_both, core_grad, core_loss = (_small_products(f, params) for f in (core_both, core_grad, core_loss))
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
