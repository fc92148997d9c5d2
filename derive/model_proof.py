"""The proof of a model's derivation against ``sympy.diff``.

At small concrete sizes every leaf becomes a matrix of scalar symbols and the
forward pass is expanded, operator by operator (:meth:`Operator.explicit`),
into one scalar loss. Then, for every parameter:

* per occurrence: each occurrence p₍ᵢ₎ gets its own symbols (the untied
  model); ``sympy.diff`` of the untied loss by p₍ᵢ₎, at p₍ᵢ₎ = p, must equal the
  explicit expansion of the derived p̄₍ᵢ₎;
* per path: the products of the operators' transposed local Jacobians
  (:meth:`Operator.jacobian_T`) along every path of operator nodes from the
  occurrence to the loss, summed, must equal the derived p̄₍ᵢ₎ — where every
  node on the way is a scalar or a vector (a matrix-valued node has no
  Jacobian matrix; the occurrence and total checks still cover it);
* in total: ``sympy.diff`` of the loss by p must equal the derived ∂L/∂p.

Differences are decided by :func:`derive.proof.is_zero` (exact where it can,
a randomized identity test with a stated bound where exact reduction is slow).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from math import prod

import sympy as sp

from . import progress
from .ops import MissingRule
from .ops.evaluate import explicit
from .ops.linear import product
from .proof import Identities, ProofResult, gradient
from .sweep import ModelSweep

__all__ = ["prove_model", "model_proof_plan", "default_sizes", "explicit_forward", "derived_env"]

PROOF_SIZES = (2, 3)
MAX_PATHS = 64  # operator-level paths per occurrence beyond which the path check is left out


def default_sizes(dims: list) -> dict:
    """Small distinct sizes for the named dims, alternating 2 and 3 (so a
    transposed matrix cannot pass for the matrix)."""
    return {d: PROOF_SIZES[i % len(PROOF_SIZES)] for i, d in enumerate(dims)}


def _entries(name, shape):
    if not shape:
        return sp.Symbol(name)
    if len(shape) == 1:
        return sp.ImmutableMatrix(shape[0], 1, [sp.Symbol(f"{name}[{i + 1}]") for i in range(shape[0])])
    rows, cols = shape
    return sp.ImmutableMatrix(rows, cols, [sp.Symbol(f"{name}[{i + 1},{j + 1}]") for i in range(rows)
                                           for j in range(cols)])


def _flat(value):
    return list(value) if isinstance(value, sp.MatrixBase) else [value]


def concrete(shape, dims) -> tuple:
    return tuple(int(sp.sympify(s).xreplace(dims)) for s in shape)


def explicit_forward(sw: ModelSweep, dims: dict, leaves: dict, sites: dict | None = None):
    """Explicit values of every node, given explicit ``leaves`` by name; ``sites``
    maps (node id, operand slot) to an occurrence's own explicit value."""
    sites = sites or {}
    values = {}
    for n in sw.graph.nodes:
        if n.kind == "number":
            values[n.id] = n.value
        elif n.kind != "op":
            values[n.id] = leaves[n.name]
        else:
            args = [sites.get((n.id, k), values[i]) for k, i in enumerate(n.inputs)]
            shapes = [concrete(sw.graph.nodes[i].shape, dims) for i in n.inputs]
            values[n.id] = n.op.explicit(args, shapes)
    return values


def derived_env(sw: ModelSweep, leaves: dict, values: dict, dims: dict) -> dict:
    """Explicit values by symbol name: the leaves, every named node (from ``values``,
    by node id) and every adjoint the sweep defined, in sweep order."""
    env = dict(leaves)
    for n in sw.graph.nodes:
        if n.kind == "op" and n.name is not None:
            env[n.name] = values[n.id]
    for name, expr in sw.definitions.items():
        env[name] = explicit(expr, env, dims)
    return env


def _simplex_targets(sw: ModelSweep) -> list:
    """The targets a simplification assumed to sum to 1 (per row)."""
    return [n.name for n in sw.graph.nodes
            if n.kind == "target" and any(text.startswith(sw.names[n.name][0] + " ") or
                                          text.startswith(f"each row of {sw.names[n.name][0]} ")
                                          for text in sw.assumptions)]


def _simplex(sw: ModelSweep, leaves):
    """y_k = 1 − Σ_{j<k} y_j (per row) for each target a simplification assumed to sum to 1."""
    subs = {}
    for name in _simplex_targets(sw):
        Y = leaves[name]
        rows, cols = Y.shape
        if cols == 1:
            subs[Y[rows - 1, 0]] = 1 - sum(Y[i, 0] for i in range(rows - 1))
        else:
            for i in range(rows):
                subs[Y[i, cols - 1]] = 1 - sum(Y[i, j] for j in range(cols - 1))
    return subs


def _untie(sw: ModelSweep, dims: dict, leaves: dict):
    """Own symbols for each occurrence of a parameter used more than once: (the sites they
    take in the forward pass, occurrence -> its symbols, each symbol -> the shared one)."""
    sites, untie, back = {}, {}, {}
    for p in sw.wrt:
        occs = sw.gradients[p].occurrences
        if len(occs) > 1:
            for o in occs:
                own = _entries(f"{p}({o.index})", concrete(sw.graph.node(p).shape, dims))
                sites[(o.node, o.slot)] = own
                untie[o.occurrence.name] = own
                back.update(zip(_flat(own), _flat(leaves[p]), strict=True))
    return sites, untie, back


@dataclass(frozen=True)
class Planned:
    """One check of a model's proof, known before any of it is computed."""

    what: str  # "occurrence", "path" or "total"
    param: str
    label: str
    components: int
    occurrence: object = None  # the occurrence an occurrence or path check is about
    paths: tuple = ()  # a path check's operator paths, each [(node id, operand position), …]


@dataclass
class ModelPlan:
    checks: list
    omitted: list
    assumptions: list


def model_proof_plan(sw: ModelSweep, sizes: dict) -> ModelPlan:
    """The checks :func:`prove_model` makes at ``sizes``, in order, the checks it leaves out
    (with the reason) and what it assumes: everything but the verdicts."""
    graph, dims = sw.graph, {sp.Symbol(d, integer=True, positive=True): v for d, v in sizes.items()}
    plan = ModelPlan([], [], list(sw.assumptions) if _simplex_targets(sw) else [])
    for p in sw.wrt:
        grad, shape = sw.gradients[p], graph.node(p).shape
        size = prod(concrete(shape, dims))
        for o in grad.occurrences:
            label = f"{sw.names[o.occurrence.name][0]} in {sw.names[o.equation][0]}"
            if len(grad.occurrences) > 1:
                plan.checks.append(Planned("occurrence", p, label, size, o))
            if len(shape) == 2:
                continue  # a matrix has no Jacobian matrix in this notation: no chain-rule check to make
            paths, why = _checkable_paths(graph, o)
            if paths is None:
                plan.omitted.append(f"no chain-rule check for {label}: {why}")
            else:
                n = len(paths)
                plan.checks.append(Planned("path", p, f"{label}, {n} operator path{'s' if n > 1 else ''}",
                                           size, o, tuple(paths)))
        plan.checks.append(Planned("total", p, f"∂L/∂{sw.names[p][0]}", size))
    return plan


def _checkable_paths(graph, o):
    """(the operator paths from occurrence ``o`` to the loss, None) when every local Jacobian on
    them exists; else (None, the reason)."""
    paths = operator_paths(graph, o.node)
    if paths is None:
        return None, f"more than {MAX_PATHS} operator paths"
    try:
        for edges in paths:
            for node_id, position in [(o.node, o.slot), *edges]:
                _local(graph, node_id, position)
    except MissingRule as e:
        return None, f"{e}; the sympy.diff checks cover it"
    return paths, None


def prove_model(sw: ModelSweep, sizes: dict, plan: ModelPlan | None = None) -> ProofResult:
    """Prove every gradient of ``sw`` at the concrete ``sizes`` (named dim → int), check by
    check as :func:`model_proof_plan` lists them."""
    graph = sw.graph
    plan = plan or model_proof_plan(sw, sizes)
    dims = {sp.Symbol(d, integer=True, positive=True): v for d, v in sizes.items()}
    result = ProofResult(dict(sizes), assumptions=list(plan.assumptions), omitted=list(plan.omitted))
    leaves = {n.name: _entries(n.name, concrete(n.shape, dims)) for n in graph.nodes
              if n.kind in ("input", "target", "param", "const")}
    tied = explicit_forward(sw, dims, leaves)
    L_t = tied[graph.by_name[graph.spec.loss]]
    sites, untie, back = _untie(sw, dims, leaves)
    L_u = explicit_forward(sw, dims, leaves, sites)[graph.by_name[graph.spec.loss]] if sites else L_t
    env = derived_env(sw, leaves, tied, dims)
    every = [s for own in untie.values() for s in _flat(own)]  # all occurrences at once: one reverse pass
    untied = dict(zip(every, gradient(L_u, every, result.notes, "the untied loss"), strict=True)) if every else {}
    every_p = [s for p in sw.wrt for s in _flat(leaves[p])]  # every parameter at once: one reverse pass
    by_symbol = dict(zip(every_p, gradient(L_t, every_p, result.notes, "the loss"), strict=True))
    simplex = _simplex(sw, leaves)
    identities = Identities(simplex)  # shared by every zero test and tie-back of this proof

    def check(c: Planned, mine, theirs):
        result.checks.append(identities.check(c.what, c.param, c.label, mine, theirs))

    for k, c in enumerate(plan.checks, 1):
        progress.update(f"proving ∂L/∂{c.param}: {c.what} check", k, len(plan.checks))
        if c.what == "occurrence":
            brute = identities.tie_back([untied[s] for s in _flat(untie[c.occurrence.occurrence.name])], back, L_t)
            check(c, _flat(explicit(c.occurrence.expr, env, dims)), brute)
        elif c.what == "path":
            check(c, _flat(explicit(c.occurrence.expr, env, dims)), _flat(path_sum(sw, c, env, dims)))
        else:
            mine = _flat(explicit(sw.gradients[c.param].total, env, dims))
            check(c, mine, [by_symbol[s] for s in _flat(leaves[c.param])])
    return result


def operator_paths(graph, start: int, limit: int = MAX_PATHS):
    """Every chain of operator nodes from node ``start`` to the loss, as [(node id, operand
    position), …] edges; None past ``limit`` paths."""
    consumers = defaultdict(list)
    for n in graph.nodes:
        for k, i in enumerate(n.inputs):
            consumers[i].append((n.id, k))
    loss = graph.by_name[graph.spec.loss]
    paths: list = []

    def walk(node, edges):
        if len(paths) > limit:
            return
        if node == loss:
            paths.append(edges)
            return
        for c, k in consumers[node]:
            walk(c, [*edges, (c, k)])

    walk(start, [])
    return paths if len(paths) <= limit else None


def _local(graph, node_id: int, position: int):
    n = graph.nodes[node_id]
    ins = [graph.nodes[i] for i in n.inputs]
    return n.op.jacobian_T(position, n.symbol, [i.symbol for i in ins], [i.shape for i in ins])


def path_sum(sw: ModelSweep, c: Planned, env: dict, dims: dict):
    """Σ over the planned check ``c``'s paths of Π (∂next/∂this)ᵀ, explicit."""
    graph, o = sw.graph, c.occurrence
    total = None
    for edges in c.paths:
        value = explicit(_local(graph, o.node, o.slot), env, dims)
        for node_id, position in edges:
            value = product(value, explicit(_local(graph, node_id, position), env, dims))
        total = value if total is None else total + value
    return total
