"""Component (index) forms of matrix results: ∂L/∂W[i,j] in forward quantities,
with finite sums written out and Kronecker deltas summed by substitution.

Large expressions are indexed structurally (:mod:`derive.index`), without
SymPy's summation algorithms.
"""
from __future__ import annotations

from functools import cache

import sympy as sp

from .index import entry

__all__ = ["component", "delta_elementwise", "elementwise", "finite_sums", "indices", "rename_dummies", "too_big"]

INDEX = ("i", "j")
SUMS = ("j", "l", "p", "q", "r", "s")


def too_big(expr) -> bool:
    """Too long to be worth reading written out (long RNN unrollings)."""
    return sp.count_ops(expr) > 120


def finite_sums(expr):
    """Write out sums whose range is a number (a sum over one output unit is
    that unit's term) and sums over a Kronecker delta (from diag(ŷ));
    leave other symbolic ranges as Σ."""
    def concrete(e):
        return isinstance(e, sp.Sum) and (all(lim[1].is_number and lim[2].is_number for lim in e.limits)
                                           or e.function.has(sp.KroneckerDelta))

    expr = expr.replace(concrete, lambda e: sp.expand(e.function).has(sp.KroneckerDelta)
                        and _sum_delta(e) or e.doit())
    # what remains of a delta outside any sum, and SymPy's "index in range" guards (always true here)
    expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)
    return expr


def _sum_delta(e):
    """Σ_j over a sum of terms, doing the delta terms by substitution."""
    if len(e.limits) > 1:  # SymPy merges nested sums into one with several limits
        return _sum_deltas(e)
    (j, lo, hi), = e.limits
    out, rest = [], []
    for term in sp.Add.make_args(sp.expand(e.function)):
        deltas = [d for d in term.atoms(sp.KroneckerDelta) if j in d.free_symbols]
        if deltas:
            d = deltas[0]
            other = d.args[1] if d.args[0] == j else d.args[0]
            out.append(term.subs(d, 1).subs(j, other))
        else:
            rest.append(term)
    if rest:
        body = sp.factor_terms(sp.Add(*rest))
        outside, inside = [], []
        for f in sp.Mul.make_args(body):
            (inside if f.has(j) else outside).append(f)
        out.append(sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), (j, lo, hi)))
    return sp.factor_terms(sp.Add(*out))


def _sum_deltas(e):
    """Σ over several indices: each term's Kronecker deltas are done by substitution, index by index."""
    out = []
    for term in sp.Add.make_args(sp.expand(e.function)):
        limits = list(e.limits)
        for lim in list(limits):
            deltas = [d for d in term.atoms(sp.KroneckerDelta) if lim[0] in d.free_symbols]
            if deltas:
                d = deltas[0]
                other = d.args[1] if d.args[0] == lim[0] else d.args[0]
                term = term.subs(d, 1).subs(lim[0], other)
                limits.remove(lim)
        out.append(sp.Sum(term, *limits) if limits else term)
    return sp.factor_terms(sp.Add(*out))


def rename_dummies(expr):
    """Name SymPy's summation dummies j, l, p, … avoiding the free indices: one name
    each while there are enough; past that (a long unrolling), a sum's index is named
    by how many sums enclose it, so a nested sum never captures its parent's index
    (sibling sums share a name; past the sixth level: j1, l1, …)."""
    taken = {s.name for s in expr.free_symbols}
    free = [n for n in SUMS if n not in taken]
    dummies = sorted(expr.atoms(sp.Dummy), key=lambda d: d.dummy_index)
    if len(dummies) <= len(free):
        return expr.xreplace({d: sp.Symbol(name) for d, name in zip(dummies, free, strict=False)})

    def name(depth):
        base, lap = free[depth % len(free)], depth // len(free)
        return sp.Symbol(f"{base}{lap}" if lap else base)

    @cache
    def walk(e, depth):
        if isinstance(e, sp.Sum):
            body, limits = e.function, []
            for v, lo, hi in e.limits:
                new = name(depth) if isinstance(v, sp.Dummy) else v
                body, depth = body.xreplace({v: new}), depth + 1
                limits.append((new, lo, hi))
            return sp.Sum(walk(body, depth), *limits)
        if not e.args or not e.has(sp.Sum):
            return e
        return e.func(*[walk(a, depth) for a in e.args])

    return walk(expr, 0)


def elementwise(d, param, expanded=True):
    """(index symbols, component expression) of ∂L/∂param; a dimension of
    size 1 takes no index (W₂ ∈ ℝ^{1×H} has components W₂[h])."""
    g = d.sweep.gradients[param]
    return component(d, param, g.expanded if expanded else g.total)

def indices(d, param) -> tuple:
    """The index symbols of ``param``'s components (none for a scalar; one for a vector)."""
    rows, cols = d.graph.nodes[param].shape
    n_free = (rows != 1) + (cols != 1)
    names = d.spec.indices.get(param) or INDEX[:n_free]
    return tuple(sp.Symbol(n) for n in names[:n_free])


def component(d, param, expr):
    """Index ``expr`` (shaped like ``param``) at the param's named indices."""
    rows, cols = d.graph.nodes[param].shape
    idx = indices(d, param)
    n_free = len(idx)
    if n_free == 0:
        at = (0, 0)
    elif n_free == 2:
        at = idx
    else:
        at = (idx[0], 0) if cols == 1 else (0, idx[0])
    # indexed structurally (derive.index), without SymPy's summation algorithms or its index checks
    element = entry(expr, *at)
    return idx, rename_dummies(finite_sums(element))

def delta_elementwise(d, index="i"):
    """Component ``index`` of each named adjoint (δ), in terms of later δ's."""
    out = []
    i = sp.Symbol(index)
    for st in d.sweep.steps:
        if not st.lhs.name.startswith(("bar_", "grad_")) and st.lhs.name in d.sweep.definitions:
            at = 0 if st.lhs.shape[0] == 1 else i
            out.append((st.lhs, at, rename_dummies(finite_sums(st.value[at, 0]))))
    return out
