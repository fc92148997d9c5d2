"""Symbolic proof: the engine's matrix-form gradient against brute force.

At small concrete sizes every matrix becomes explicit scalar symbols, the
forward pass is expanded to one scalar loss, and plain ``sympy.diff`` of that
loss is compared with the explicit expansion of the derived matrix form:

* per occurrence: each occurrence p₍ᵢ₎ gets its own symbols (the untied
  model), ∂L/∂p₍ᵢ₎ by ``sympy.diff`` must equal p̄₍ᵢ₎ at p₍ᵢ₎ = p;
* per path: the product of transposed local Jacobians along each path
  (summed over the paths of one occurrence) must equal that occurrence's adjoint;
* in total: ∂L/∂p of the tied model must equal Σᵢ p̄₍ᵢ₎.

A difference counts as zero when SymPy simplifies it to 0; a numeric probe
at random points runs first so that a wrong gradient fails fast.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import sympy as sp

from . import progress
from .engine import Sweep
from .functions import is_generic, unevaluated
from .matexpr import explicit
from .ops.linear import product

__all__ = ["ProofResult", "Check", "Identities", "prove", "proof_plan", "proof_assumptions", "is_zero",
           "explicit_model"]


@dataclass
class Check:
    """One proved identity: what was compared and whether it holds."""

    what: str  # "occurrence", "path", "total"
    param: str
    label: str
    holds: bool
    components: int
    false_pass: float = 0.0  # 0: proved exactly; else the bound of a randomized identity test


@dataclass
class ProofResult:
    sizes: dict
    checks: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)
    cached: bool = False  # read back from the on-disk cache (derive.cache), not proved in this run
    omitted: list = field(default_factory=list)  # checks left out, each with the reason
    notes: list = field(default_factory=list)  # how the brute force was computed, where it is not plain sympy.diff

    @property
    def holds(self) -> bool:
        return bool(self.checks) and all(c.holds for c in self.checks)

    def verdict(self, sizes: str, same: str) -> list[str]:
        """The proof's first line, and for a cached proof the line saying so (``same``: what an
        earlier run shared with this one besides the code)."""
        lines = [f"Proof against sympy.diff of the explicit scalar loss ({sizes}): "
                 + ("HOLDS" if self.holds else "FAILS") + (" (cached)" if self.cached else "")]
        if self.cached:
            lines.append(f"  (cached: proved by an earlier run of this same code {same}; --no-cache proves it again)")
        return lines

    def _repr_markdown_(self):  # Jupyter
        sizes = ", ".join(f"{k} = {v}" for k, v in self.sizes.items()) or "scalars"
        lines = [f"**Proof against sympy.diff ({sizes}): {'HOLDS' if self.holds else 'FAILS'}**"
                 + (" (cached)" if self.cached else ""), ""]
        for c in self.checks:
            how = f"; P(false pass) < {c.false_pass:.0e}" if c.false_pass else ""
            lines.append(f"- {'✓' if c.holds else '✗'} `{c.param}`: {c.what} check, {c.label} "
                         f"[{c.components} component{'s' if c.components != 1 else ''}{how}]")
        lines += [f"- assuming {a}" for a in self.assumptions] + [f"- ({x})" for x in self.omitted + self.notes]
        return "\n".join(lines) + "\n"


class Interned:
    """Hash-consing: equal subexpressions become one object, found by the identities of their
    (already interned) arguments, never by SymPy's structural ``==``. The derived form and the
    brute force are built apart; equal terms of theirs compared by ``==`` are walked as trees,
    not DAGs (rnn_bptt at T = 15: 31 s of a 45 s proof)."""

    def __init__(self):
        self.seen: dict = {}  # id(original) -> (original, interned): the original is kept alive
        self.table: dict = {}  # (type, ids of interned arguments) or an atom -> interned

    def __call__(self, expr):
        expr = sp.sympify(expr)
        hit = self.seen.get(id(expr))
        if hit is not None and hit[0] is expr:
            return hit[1]
        if expr.is_Atom or not expr.args:
            out = self.table.setdefault(("atom", expr), expr)  # symbols and numbers compare quickly
        else:
            args = tuple(self(a) for a in expr.args)
            key = (type(expr), tuple(map(id, args)))
            out = self.table.get(key)
            if out is None:
                out = expr if all(a is b for a, b in zip(args, expr.args, strict=True)) else _raw(expr, args)
                self.table[key] = out
        self.seen[id(expr)] = (expr, out)
        return out

    def substitute(self, expr, mapping: dict, memo: dict):
        """``expr.xreplace(mapping)`` (``mapping``: symbol -> expression), interned as it is rebuilt:
        every rebuilt node is looked up among the interned ones, so that SymPy's constructor cache
        meets the very objects it holds. ``memo`` (by identity) is kept across calls."""
        hit = memo.get(id(expr))
        if hit is not None and hit[0] is expr:
            return hit[1]
        if expr.is_Atom or not expr.args:
            out = mapping.get(expr, expr)
        else:
            args = [self.substitute(a, mapping, memo) for a in expr.args]
            out = expr if all(a is b for a, b in zip(args, expr.args, strict=True)) else _rebuild(expr, args)
        out = self(out)
        memo[id(expr)] = (expr, out)
        return out


def _raw(e, args):
    """``e`` with (equal) new arguments, built without evaluating or SymPy's constructor cache."""
    if isinstance(e, sp.core.operations.AssocOp):
        return e._new_rawargs(*args)
    try:
        return e.func(*args, evaluate=False)
    except TypeError:
        return e.func(*args)


class Identities:
    """The zero tests of one proof: one atomization, one interning and one simplex substitution
    (y_k = 1 − Σ_{j<k} y_j) shared by all of them."""

    def __init__(self, simplex: dict | None = None):
        self.simplex, self.simplex_memo = simplex or {}, {}
        self.atoms = Atoms()
        self.interned, self.tie_memo = self.atoms.interned, {}

    def check(self, what, param, label, mine, theirs) -> Check:
        """One identity, component by component; a randomized test's bounds add up (union
        bound) into the check's false-pass bound."""
        bounds: list = []
        ok = all(is_zero(_replace(self.difference(a, b), self.simplex, self.simplex_memo), bounds=bounds,
                         atoms=self.atoms) for a, b in zip(mine, theirs, strict=True))
        return Check(what, param, label, ok, len(theirs), min(1.0, sum(bounds)))

    def tie_back(self, exprs, mapping: dict, forward) -> list:
        """``exprs`` with ``mapping`` (each occurrence's symbols -> the shared ones) substituted, through
        the interning, the tied ``forward`` pass interned first: a tied-back node is one of its own.
        One memo serves every call: the untied gradients share most of their DAG."""
        if not self.tie_memo:
            self.interned(forward)
        return [self.interned.substitute(e, mapping, self.tie_memo) for e in exprs]

    def difference(self, a, b):
        """a − b, left unevaluated (evaluating it looks for like terms between a and b)."""
        a, b = self.interned(a), self.interned(b)
        if a.is_Atom or b.is_Atom:
            return a - b
        return sp.Add(a, sp.Mul(sp.Integer(-1), b, evaluate=False), evaluate=False)


def _undefined(expr) -> bool:
    return any(is_generic(f) or isinstance(f, sp.core.function.AppliedUndef)
               for f in expr.atoms(sp.Function))


def is_zero(expr, probes: int = 3, seed: int = 0, bounds: list | None = None, atoms: Atoms | None = None) -> bool:
    """True when SymPy proves ``expr`` ≡ 0.

    First the fast proof (transcendental atoms → independent symbols, then the
    numerator of the rational function expands to 0); if that does not close,
    random numeric probes reject a non-zero expression before the slow
    ``simplify`` is tried. Rational functions too large to reduce quickly are
    tested at random points modulo a large prime instead; the bound on a false
    pass is appended to ``bounds``. ``atoms`` shares the atomization across the tests of one proof.
    """
    # the value of a step at exactly 0 is a convention (relu′(0)); identities are about z ≠ 0
    expr = _replace(sp.sympify(expr), _steps(expr))
    if expr == 0 or _atoms_cancel(expr, bounds, atoms) == 0:
        return True
    free = _free(expr)
    if not _undefined(expr):
        rng = random.Random(seed)
        for _ in range(probes):
            point = {s: sp.Float(rng.uniform(0.2, 0.8)) for s in free}
            val = complex(expr.xreplace(point).evalf(30))
            if abs(val) > 1e-12:
                return False
    return any(attempt(expr) == 0 for attempt in (sp.expand, lambda e: sp.cancel(sp.together(e)), sp.simplify))


EXACT_LIMIT = 80  # numerator degree bound up to which the rational function is reduced exactly
# ... and (degree bound × variables) up to which exact reduction over ℚ stays quick: multivariate gcds
# grow with both (an RNN's W at T = 3: 24 variables, degree 57, 20 s exact; 0.1 s at random points mod p;
# eight tanh layers: 21 variables, degree 24, 5 s exact; 19 × 21, 1.1 s; 17 × 18, 0.3 s)
EXACT_COST = 320
RANDOM_POINTS = 3


class _Singular(Exception):
    pass


def _zero_mod_p(expr, symbols, seed):
    """Schwartz–Zippel: evaluate the rational function at random points of
    GF(p), p a random 62-bit prime. Returns (is zero, bound on a false pass)
    or None when a node is not rational. A nonzero numerator of degree D
    vanishes at a random point with probability at most D/p."""
    rng = random.Random(seed)
    p = _prime(rng)
    top = _degree_bound(expr)
    if top is None:
        return None
    tried = 0
    for _ in range(4 * RANDOM_POINTS):
        point = {s: rng.randrange(1, p) for s in symbols}
        cache: dict = {}

        def ev(e, cache=cache, point=point):
            if e in cache:
                return cache[e]
            if e.is_Symbol:
                v = point[e]
            elif e.is_Rational:
                if e.q % p == 0:
                    raise _Singular
                v = e.p * pow(e.q, -1, p) % p
            elif e.is_Add:
                v = sum(ev(a) for a in e.args) % p
            elif e.is_Mul:
                v = 1
                for a in e.args:
                    v = v * ev(a) % p
            else:  # an integer power, as deg() checked
                b, k = ev(e.base), int(e.exp)
                if k < 0:
                    if b == 0:
                        raise _Singular
                    b, k = pow(b, -1, p), -k
                v = pow(b, k, p)
            cache[e] = v
            return v

        try:
            value = ev(expr)
        except _Singular:  # a denominator vanishes at this point: draw another
            continue
        except RecursionError:
            return None
        if value != 0:
            return False, 0.0
        tried += 1
        if tried == RANDOM_POINTS:
            return True, float(min(1.0, top / p) ** RANDOM_POINTS)
    return None


def _degree_bound(expr):
    """An upper bound on the degree of the numerator of ``expr`` written as
    one fraction (None if ``expr`` is not a rational function)."""
    degrees: dict = {}

    def deg(e):  # (numerator, denominator) degree bounds
        if e in degrees:
            return degrees[e]
        if e.is_Symbol:
            d = (1, 0)
        elif e.is_Rational:
            d = (0, 0)
        elif e.is_Add:
            parts = [deg(a) for a in e.args]
            den = sum(q for _, q in parts)
            d = (max(n + den - q for n, q in parts), den)
        elif e.is_Mul:
            parts = [deg(a) for a in e.args]
            d = (sum(n for n, _ in parts), sum(q for _, q in parts))
        elif e.is_Pow and e.exp.is_Integer:
            n, q = deg(e.base)
            k = int(e.exp)
            d = (k * n, k * q) if k >= 0 else (-k * q, -k * n)
        else:
            raise _NotRational(type(e).__name__)
        degrees[e] = d
        return d

    try:
        return deg(expr)[0]
    except (_NotRational, RecursionError):
        return None


def _prime(rng) -> int:
    """A random prime in [2⁶¹, 2⁶²)."""
    while True:
        n = rng.randrange(2**61, 2**62) | 1
        if sp.isprime(n):
            return n


def _atoms_cancel(expr, bounds=None, atoms=None):
    """Replace every function application (exp(…), tanh(…), g′(…), max(0, …)), innermost
    first, by an independent symbol, then cancel the rational function. A zero
    here proves the identity for all values of those atoms, hence for the
    original; a non-zero result proves nothing and the caller tries harder."""
    expr = _atomize(expr, atoms)
    symbols = _free(expr)
    if not symbols:
        return sp.nsimplify(expr)
    top = _degree_bound(expr)
    if top is not None and (top > EXACT_LIMIT or top * len(symbols) > EXACT_COST):
        # fresh randomness for the prime and the points: the bound is a probability over this draw
        verdict = _zero_mod_p(expr, symbols, random.SystemRandom().getrandbits(64))
        if verdict is not None:
            zero, bound = verdict
            if zero and bounds is not None:
                bounds.append(bound)
            return sp.Integer(0) if zero else sp.Integer(1)
    try:  # sparse rational functions over ℚ: far faster than together/expand
        field, *gens = sp.field(symbols, sp.QQ)
        value = _rational(field, dict(zip(symbols, gens, strict=True)), expr)
        return sp.Integer(0) if value == 0 else sp.Integer(1)
    except _NotRational:
        numerator, _ = sp.fraction(sp.together(expr))
        return sp.expand(numerator)


def _rewrite(expr, leaf=None, node=None, memo=None):
    """Rebuild ``expr`` bottom-up, each distinct subexpression once (an unrolled network's loss is
    a small DAG whose tree is exponentially larger): ``leaf(e)`` may replace a subexpression
    outright (None: keep going), ``node(rebuilt)`` may replace one after its arguments are rebuilt.
    A ``memo`` kept across calls rebuilds what several expressions share only once."""
    memo = {} if memo is None else memo

    def go(e):
        if e in memo:
            return memo[e]
        out = leaf(e) if leaf else None
        if out is None:
            if not e.args or e.is_Atom:
                out = e
            else:
                args = [go(a) for a in e.args]
                out = _rebuild(e, args) if any(a is not b for a, b in zip(args, e.args, strict=True)) else e
                out = node(out, e, go) if node else out
        memo[e] = out
        return out

    return go(sp.sympify(expr))


def _rebuild(e, args):
    """``e`` with new arguments. A Max or Min is not re-evaluated: SymPy's search for arguments
    that dominate each other factors them all (relu of a T = 10 RNN: 30 s of a 39 s proof)."""
    if isinstance(e, (sp.Max, sp.Min)):
        return unevaluated(e.func, *args)
    return e.func(*args)


_APPLIED = (sp.Function, sp.Max, sp.Min)  # applications the zero test replaces by atoms


class Atoms:
    """The atoms of one proof: every zero test of a proof shares them, so the forward pass's
    nested tanh(…) and exp(…), common to all of its differences, are atomized once."""

    def __init__(self):
        self.table: dict = {}  # application (its arguments atomized) -> its atom
        self.memo: dict = {}  # subexpression -> atomized
        self.interned = Interned()  # what is atomized is interned first: the memo then meets equal terms as one


def _atomize(expr, atoms: Atoms | None = None):
    """``expr`` with every function application replaced by an atom, innermost first: an
    application is keyed by its arguments with their own atoms in place."""
    atoms = atoms or Atoms()
    table = atoms.table
    expr = atoms.interned(expr)

    def atom(key):
        if key not in table:
            table[key] = sp.Symbol(f"_atom{len(table)}")
        return table[key]

    def node(rebuilt, original, go):
        if isinstance(rebuilt, _APPLIED):
            return _as_atom(rebuilt, atom)
        if rebuilt is not original and any(isinstance(a, _APPLIED) for a in rebuilt.args):
            return go(rebuilt)  # rebuilding pulled a sign out of an odd function: tanh(−u) → −tanh(u)
        return rebuilt

    return _rewrite(expr, node=node, memo=atoms.memo)


def _replace(expr, mapping: dict, memo: dict | None = None):
    """``expr.xreplace(mapping)``, visiting each distinct subexpression once (``memo``: across calls)."""
    return _rewrite(expr, leaf=mapping.get, memo=memo) if mapping else expr


def _free(expr) -> list:
    """The free symbols of ``expr``, sorted, found on its DAG (``free_symbols`` walks the tree)."""
    return sorted({e for e in _dag(expr) if e.is_Symbol}, key=str)


# a loss with more distinct subexpressions than this, whose tree is REVERSE_RATIO times larger, is differentiated
# by reverse accumulation over its DAG: sympy.diff's product rule builds derivatives as large as the tree, once per
# variable (rnn_bptt --wrt W,U,V,c proof: T = 3 8.0 s → 1.7 s, T = 5 23 s → 3.0 s; the P1–P3 defaults stay below)
REVERSE_DAG = 60
REVERSE_RATIO = 5


def _dag(expr):
    """Distinct subexpressions of ``expr``, every argument before the node that uses it."""
    order, seen, stack = [], set(), [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if ready:
            order.append(e)
        elif e not in seen:
            seen.add(e)
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in seen)
    return order


def _tree_size(order) -> int:
    size: dict = {}
    for e in order:
        size[e] = 1 + sum(size[a] for a in e.args)
    return size[order[-1]]


class _Unevaluated(Exception):
    """A local derivative SymPy leaves unevaluated (a generic g′): plain sympy.diff handles those."""


def _local_partials(e, needed) -> list:
    """∂e/∂(each needed argument of e), None for the others: of a sum 1, of a product the product
    of its other factors (SymPy's factors are distinct); of any other operation sympy.diff at
    dummies, then the arguments put back."""
    if e.is_Add:
        return [sp.Integer(1) if need else None for need in needed]
    if e.is_Mul:
        return [sp.Mul(*e.args[:k], *e.args[k + 1:]) if need else None for k, need in enumerate(needed)]
    dummies = [sp.Dummy() for _ in e.args]
    node = e.func(*dummies)
    back = dict(zip(dummies, e.args, strict=True))
    out = []
    for d, need in zip(dummies, needed, strict=True):
        if not need:
            out.append(None)
            continue
        local = sp.diff(node, d)
        if local.has(sp.Derivative, sp.Subs):
            raise _Unevaluated(str(e.func))
        out.append(local.xreplace(back))
    return out


def reverse_gradient(L, wrt: list, order=None) -> list:
    """∂L/∂s for each symbol s of ``wrt``, by reverse accumulation over L's expression DAG: every
    distinct subexpression once, its partial derivatives in its own arguments by ``sympy.diff``.
    The same derivative as ``sympy.diff(L, s)``, which walks L as a tree: an unrolled network's loss
    is a small DAG whose tree is exponentially large (an RNN at T = 10: minutes per entry).
    ``order`` is L's :func:`_dag`, when the caller has it."""
    order = _dag(L) if order is None else order
    targets = set(wrt)
    depends = {}
    for e in order:
        depends[e] = e in targets or any(depends[a] for a in e.args)
    parts: dict = {L: [sp.Integer(1)]}
    adjoint: dict = {}
    for e in reversed(order):
        if e not in parts or not depends[e]:
            continue
        g = sp.Add(*parts.pop(e))
        adjoint[e] = g
        if e in targets or not e.args:
            continue
        needed = [depends[a] for a in e.args]
        for a, local in zip(e.args, _local_partials(e, needed), strict=True):
            if local is not None:
                parts.setdefault(a, []).append(g * local)
    return [adjoint.get(s, sp.Integer(0)) for s in wrt]


def gradient(L, wrt: list, notes: list | None = None, what: str = "the loss") -> list:
    """∂L/∂s for each s of ``wrt``: ``sympy.diff``, or :func:`reverse_gradient` when L's tree is
    much larger than its DAG (then ``notes`` says so)."""
    L = sp.sympify(L)
    order = _dag(L)
    tree = _tree_size(order)
    if len(order) > REVERSE_DAG and tree > REVERSE_RATIO * len(order):
        try:
            out = reverse_gradient(L, list(wrt), order)
        except _Unevaluated:
            return [sp.diff(L, s) for s in wrt]
        note = (f"∂/∂ of {what} by reverse accumulation over its expression DAG ({len(order)} distinct "
                f"subexpressions, {tree:.2g} as a tree), each node's partials by sympy.diff (a sum's and a "
                f"product's directly: 1 and the other factors)")
        if notes is not None and note not in notes:
            notes.append(note)
        return out
    return [sp.diff(L, s) for s in wrt]


def _steps(expr) -> dict:
    """{Heaviside(x, h₀): Heaviside(x)} for the steps in ``expr``."""
    return {e: sp.Heaviside(e.args[0]) for e in _dag(sp.sympify(expr))
            if isinstance(e, sp.Heaviside) and len(e.args) > 1}


def _as_atom(f, atom):
    if isinstance(f, sp.exp):
        # exp(−u) = exp(u)⁻¹ and exp(2u) = exp(u)²: one atom per u, not three (the rational
        # content and sign of a sum come off its terms' coefficients, without factoring it)
        u = f.args[0]
        coeff, base = u.primitive() if u.is_Add else u.as_coeff_Mul()
        if base.could_extract_minus_sign():
            coeff, base = -coeff, -base
        if coeff.is_Integer:
            return atom(("exp", base)) ** int(coeff)
        return atom(("exp", f.args[0]))
    return atom(f)


class _NotRational(Exception):
    pass


def _rational(field, gens, e, memo=None):
    """``e`` as an element of the field ℚ(gens); terms of a sum that share a
    denominator are added as polynomials first, so fewer gcds are taken."""
    memo = {} if memo is None else memo
    if e not in memo:
        memo[e] = _rational_node(field, gens, e, memo)
    return memo[e]


def _rational_node(field, gens, e, memo):
    if e.is_Symbol:
        return gens[e]
    if e.is_Rational:
        return field(e)
    if e.is_Add:
        by_den = {}
        for a in e.args:
            v = _rational(field, gens, a, memo)
            by_den[v.denom] = by_den.get(v.denom, field.ring.zero) + v.numer
        total = field.zero
        for den, num in by_den.items():
            total += field.new(num, den)
        return total
    if e.is_Mul:
        out = field.one
        for a in e.args:
            out *= _rational(field, gens, a, memo)
        return out
    if e.is_Pow and e.exp.is_Integer:
        return _rational(field, gens, e.base, memo) ** int(e.exp)
    raise _NotRational(type(e).__name__)


def _matrix(name, rows, cols):
    if cols == 1:
        return sp.ImmutableMatrix(rows, 1, [sp.Symbol(f"{name}_{i + 1}") for i in range(rows)])
    return sp.ImmutableMatrix(rows, cols, [sp.Symbol(f"{name}_{i + 1}{j + 1}") for i in range(rows)
                                           for j in range(cols)])


def explicit_model(sweep: Sweep, sizes: dict, untie: bool):
    """Explicit forward pass at ``sizes``: (env of node values, loss, leaves).

    With ``untie`` every occurrence of a parameter in ``sweep.wrt`` gets its
    own symbol matrix (named ``b(1)`` …); ``leaves`` maps names to the symbol
    matrices so the caller can differentiate and substitute.
    """
    graph = sweep.graph
    dims = {graph.dim(k): v for k, v in sizes.items()}

    def shape(node):
        return tuple(int(sp.sympify(s).subs(dims)) for s in node.shape)

    env, leaves = {}, {}
    for node in graph.nodes.values():
        if node.kind in ("input", "target", "param"):
            env[node.name] = leaves[node.name] = _matrix(node.name, *shape(node))
    occ_of = {}
    if untie:
        for p in sweep.wrt:
            for c in sweep.gradients[p].contributions:
                if len(sweep.gradients[p].contributions) > 1:
                    m = _matrix(f"{p}({c.index})", *shape(graph.nodes[p]))
                    leaves[c.occurrence.name] = m
                    occ_of[(c.site, c.slot, p)] = m  # W and U both sit in a_t as matrices: the param is part of the key
    L = sp.Integer(0)
    for node in graph.nodes.values():
        if node.op is None:
            continue
        ins = [graph.nodes[n] for n in node.inputs()]
        args = [occ_of.get((node.name, node.slot(i), n.name), env[n.name]) for i, n in enumerate(ins)]
        value = node.op.explicit(args, [n.value_shape for n in ins])
        env[node.name] = value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])
        if node.kind == "loss":
            L = L + value
    return env, L, leaves, dims


def _derived_env(sweep: Sweep, env, dims):
    """Explicit values of every adjoint symbol, in sweep order."""
    full = dict(env)
    for name, (loss, pred, target) in sweep.opaque.items():
        k = len(env[pred])
        yh = sp.symbols(f"_yh0:{k}")
        yy = sp.symbols(f"_y0:{k}")
        ell = loss.explicit(yh, yy)
        point = dict(zip(yh, env[pred], strict=True)) | dict(zip(yy, env[target], strict=True))
        full[name] = sp.ImmutableMatrix([sp.diff(ell, a).xreplace(point) for a in yh])
    for name, expr in sweep.definitions.items():
        full[name] = explicit(expr, full, dims)
    return full


def proof_plan(sweep: Sweep) -> list:
    """The checks a proof of ``sweep`` makes, in order: (what, param, label, contribution or None).

    Occurrences (when a parameter is used more than once), paths (products of local
    derivatives), the total against ``sympy.diff``, and forward mode's total.
    """
    plan = []
    for p in sweep.wrt:
        cs = sweep.gradients[p].contributions
        if len(cs) > 1:
            plan += [("occurrence", p, c.path, c) for c in cs]
        plan += [("path", p, c.path, c) for c in cs if c.chains]
        plan.append(("total", p, f"∂L/∂{p}", None))
        if sweep.sensitivities is not None and sweep.sensitivities.param == p:
            plan.append(("forward", p, f"∂L/∂{p}", None))
    return plan


def proof_assumptions(sweep: Sweep) -> list[str]:
    """What the proof assumes of the inputs (targets of cross-entropy sum to 1)."""
    return [f"{node.target} sums to 1 (used by {node.loss.name})"
            for node in sweep.graph.losses() if node.loss.simplex_targets]


def prove(sweep: Sweep, sizes: dict) -> ProofResult:
    """Prove every gradient in ``sweep`` at the concrete ``sizes``
    (e.g. ``{"d": 2, "m": 2}``) against ``sympy.diff``."""
    result = ProofResult(dict(sizes))
    env_u, L_u, leaves_u, dims = explicit_model(sweep, sizes, untie=True)
    env_t, L_t, leaves_t, _ = explicit_model(sweep, sizes, untie=False)
    derived = _derived_env(sweep, env_t, dims)
    # every untied occurrence of every parameter, back to the shared symbols
    everything_tied = {}
    for q in sweep.wrt:
        for c in sweep.gradients[q].contributions:
            if c.occurrence.name in leaves_u and c.occurrence.name != q:
                everything_tied.update(zip(list(leaves_u[c.occurrence.name]), list(leaves_t[q]), strict=True))
    # a loss that assumes targets on the simplex (cross-entropy): y_k = 1 − Σ_{j<k} y_j
    simplex = {}
    for node in sweep.graph.losses():
        if node.loss.simplex_targets:
            Y = list(leaves_t[node.target])
            simplex[Y[-1]] = 1 - sum(Y[:-1])
    result.assumptions.extend(proof_assumptions(sweep))

    cache: dict = {}
    identities = Identities(simplex)  # shared by every zero test and tie-back of this proof

    def untied(symbols):
        """∂L/∂(occurrence symbols) of the untied loss, every occurrence at once (one reverse pass)."""
        if not cache:
            every = [s for q in sweep.wrt for c in sweep.gradients[q].contributions
                     if c.occurrence.name in leaves_u and c.occurrence.name != q
                     for s in list(leaves_u[c.occurrence.name])]
            cache.update(zip(every, gradient(L_u, every, result.notes, "the untied loss"), strict=True))
        return [cache[s] for s in symbols]

    def check(what, param, label, mine, theirs):
        result.checks.append(identities.check(what, param, label, mine, theirs))
    brutes: dict = {}

    def tied(p):
        """∂L/∂p of the tied loss, every parameter at once (one reverse pass)."""
        if not brutes:
            every = [s for q in sweep.wrt for s in list(leaves_t[q])]
            by_symbol = dict(zip(every, gradient(L_t, every, result.notes, "the tied loss"), strict=True))
            brutes.update({q: [by_symbol[s] for s in list(leaves_t[q])] for q in sweep.wrt})
        return brutes[p]

    plan = proof_plan(sweep)
    for k, (what, p, label, c) in enumerate(plan, 1):
        progress.update(f"proving ∂L/∂{p}: {what} check", k, len(plan))
        grad = sweep.gradients[p]
        if what == "occurrence":
            brute = identities.tie_back(untied(list(leaves_u[c.occurrence.name])), everything_tied, L_t)
            check(what, p, label, list(explicit(c.expr, derived, dims)), brute)
        elif what == "path":
            total = None
            for chain in c.chains:
                prod = None
                for factor in chain:
                    v = explicit(factor.value, derived, dims)
                    prod = v if prod is None else product(prod, v)  # not SymPy's: it queries every entry
                total = prod if total is None else total + prod
            check(what, p, label, list(explicit(c.expr, derived, dims)), list(total))
        elif what == "total":
            check(what, p, label, list(explicit(grad.total, derived, dims)), tied(p))
        else:  # forward mode's sensitivities against the same brute force
            env = dict(derived)
            for name, expr in sweep.sensitivities.definitions.items():
                env[name] = explicit(expr, env, dims)
            check(what, p, label, list(explicit(sweep.sensitivities.total, env, dims)), tied(p))
    return result
