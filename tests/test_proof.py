"""The engine's results are proved against sympy.diff, and the proof can fail."""
import pytest
import sympy as sp

from derive import derive
from derive.engine import Step
from derive.matexpr import Pointwise

COMBOS = [
    ("g", "g1", "l"),
    ("sigmoid", "sigmoid", "bce"),
    ("tanh", "softmax", "ce"),
    ("relu", "identity", "mse"),
    ("softplus", "tanh", "mse"),
]


@pytest.mark.parametrize("act,out,loss", COMBOS)
def test_shared_bias_proof_holds_per_occurrence_path_and_total(act, out, loss):
    d = derive("shared_bias", activation=act, output_activation=out, loss=loss)
    proof = d.proof
    kinds = sorted((c.what, c.label) for c in proof.checks)
    assert kinds == [("occurrence", "hidden"), ("occurrence", "output"), ("path", "hidden"),
                     ("path", "output"), ("total", "∂L/∂b")]
    assert proof.holds, [c for c in proof.checks if not c.holds]


def test_weight_gradients_are_proved_too():
    d = derive("shared_bias", activation="tanh", output_activation="sigmoid", loss="bce", wrt=["b", "W", "U"])
    assert d.proof.holds
    assert {c.param for c in d.proof.checks} == {"b", "W", "U"}
    assert d.formula("W") == "δ_hidden xᵀ"
    assert d.formula("U") == "δ_out h₁ᵀ"


def test_total_is_sum_of_the_two_occurrences():
    d = derive("shared_bias")
    g = d.sweep.gradients["b"]
    assert [c.path for c in g.contributions] == ["hidden", "output"]
    assert d.formula("b") == "δ_hidden + δ_out"
    assert d.formula("b", "expanded") == "g′(z₁) ⊙ (Uᵀ (g₁′(z₂) ⊙ ∇ŷℓ)) + g₁′(z₂) ⊙ ∇ŷℓ"
    assert [len(c.paths) for c in g.contributions] == [1, 1]
    assert g.contributions[0].paths[0] == ["z1", "h1", "z2", "yhat", "L"]
    assert g.contributions[1].paths[0] == ["z2", "yhat", "L"]


@pytest.mark.parametrize("out,loss", [("sigmoid", "bce"), ("softmax", "ce")])
def test_canonical_pairs_reduce_to_yhat_minus_y(out, loss):
    d = derive("shared_bias", activation="g", output_activation=out, loss=loss)
    step = next(s for s in d.sweep.steps if s.lhs.name == "delta_out")
    assert isinstance(step.simplified, Pointwise)
    s, t = step.simplified.fn.variables
    assert step.simplified.fn.expr == s - t
    assert d.u(step.simplified) == "ŷ − y"
    assert "SymPy cancels the product" in step.note


def test_no_canonical_simplification_when_nothing_cancels():
    d = derive("shared_bias", activation="g", output_activation="tanh", loss="mse")
    step = next(s for s in d.sweep.steps if s.lhs.name == "delta_out")
    assert step.simplified is None
    assert d.u(step.expanded) == "(1 − ŷ²) ⊙ (ŷ − y)"


def _plant(d, total):
    g = d.sweep.gradients["b"]
    g.total = total
    d._proof = None
    return d.proof


def test_proof_fails_when_the_hidden_path_is_dropped():
    d = derive("shared_bias", activation="sigmoid", output_activation="sigmoid", loss="bce")
    g = d.sweep.gradients["b"]
    proof = _plant(d, g.contributions[1].expr)  # δ_out only
    total = [c for c in proof.checks if c.what == "total"]
    assert not total[0].holds and not proof.holds


def test_proof_fails_when_a_sign_is_flipped():
    d = derive("shared_bias")
    g = d.sweep.gradients["b"]
    proof = _plant(d, sp.MatAdd(g.contributions[0].expr, -g.contributions[1].expr))
    assert not proof.holds


def test_proof_fails_when_an_adjoint_rule_is_wrong():
    # plant U instead of Uᵀ in the hidden adjoint: the per-occurrence check must catch it
    d = derive("shared_bias", activation="tanh", output_activation="identity", loss="mse", wrt=["b"])
    d.spec.proof_sizes = {"d": 2, "m": 3}
    defs = d.sweep.definitions
    U = sp.MatrixSymbol("U", *d.graph.nodes["U"].shape)
    defs["delta_hidden"] = defs["delta_hidden"].xreplace({sp.Transpose(U): U})
    proof = d.proof
    assert not [c for c in proof.checks if c.label == "hidden" and c.what == "occurrence"][0].holds
    assert [c for c in proof.checks if c.label == "output" and c.what == "occurrence"][0].holds


def test_a_wrong_activation_identity_is_rejected_by_sympy():
    from derive.functions import Activation, _sigmoid

    wrong = Activation("sigmoid", "", _sigmoid, "σ", r"\sigma", output_identity=lambda h: h * (1 + h))
    right = Activation("sigmoid", "", _sigmoid, "σ", r"\sigma", output_identity=lambda h: h * (1 - h))
    assert right.check_identity() and not wrong.check_identity()


def test_path_chains_bracket_sums_and_quotients():
    d = derive("shared_bias", activation="tanh", output_activation="softmax", loss="mse")
    text = d.text(proof=False)
    assert "= I · diag(tanh′(z₁)) · Uᵀ · (diag(ŷ) − ŷ ŷᵀ) · (ŷ − y)" in text
    assert "δ_out[i] = (ŷ[i] + (Σ_j (y[j] − ŷ[j])·ŷ[j]) − y[i])·ŷ[i]" in text
    assert "Kronecker" not in text and "Piecewise" not in text and "otherwise" not in d.latex(proof=False)


def test_steps_are_recorded_in_reverse_order():
    d = derive("shared_bias")
    assert all(isinstance(s, Step) for s in d.sweep.steps)
    assert [s.rule for s in d.sweep.steps] == [
        "loss gradient", "activation g₁", "affine z₂: input", "activation g", "affine z₁: bias",
        "affine z₂: bias", "sum over occurrences of b"]


def test_large_rational_identities_use_a_randomized_test_that_still_rejects_errors():
    import sympy as sp

    from derive.proof import EXACT_LIMIT, is_zero

    x, y, z = sp.symbols("x y z")
    n = EXACT_LIMIT + 20  # past the exact reduction: tested at random points modulo a 62-bit prime
    lhs = ((x + y) / (1 + z)) ** n * sp.exp(x) / (1 + sp.exp(x))
    rhs = sp.expand((x + y) ** n) / sp.expand((1 + z) ** n) * sp.exp(x) / (1 + sp.exp(x))
    bounds = []
    assert is_zero(lhs - rhs, bounds=bounds)
    assert len(bounds) == 1 and 0 < bounds[0] < 1e-40
    # one coefficient off by one part in 10^30 is still caught
    wrong = rhs + sp.Rational(1, 10**30) * x ** 3 / sp.expand((1 + z) ** n)
    assert not is_zero(lhs - wrong)


def test_typed_rnn_loss_proof_reports_the_randomized_bound():
    from derive import derive

    d = derive("rnn_bptt", loss="(yhat_1-y_1)**2-y_2*log(yhat_2)", steps=3)
    assert d.proof.holds
    assert any(c.false_pass for c in d.proof.checks) and all(c.false_pass < 1e-40 for c in d.proof.checks)
    assert "randomized identity test, P(false pass) <" in "\n".join(d.proof_text())


def test_atoms_replace_every_function_even_when_rebuilding_pulls_out_a_sign():
    import sympy as sp

    from derive.proof import _atomize

    x, y = sp.symbols("x y")
    out = _atomize(sp.tanh(y - sp.exp(x)) + sp.sin(sp.tanh(x) - y))  # tanh(−u) → −tanh(u) on rebuilding
    assert not out.atoms(sp.Function)


def test_an_m_by_1_matrix_parameter_is_a_matrix_not_a_vector():
    from derive.engine import backprop
    from derive.functions import LOSSES
    from derive.graph import Graph

    g = Graph("column")
    g.input("x", 1)
    g.target("y", "m")
    g.param("W", "m", 1)
    g.affine("z", ("W", "x"))
    g.loss("L", LOSSES["mse"], "z", "y")
    sw = backprop(g, ["x", "W"])
    assert str(sw.gradients["x"].total) == "W.T*bar_z" and str(sw.gradients["W"].total) == "bar_z*x.T"


def _random_expression(rng, symbols, depth):
    import sympy as sp

    if depth == 0:
        return rng.choice(symbols + [sp.Rational(rng.randint(-3, 3), rng.randint(1, 3))])
    kind = rng.choice(["add", "mul", "pow", "fn", "div"])
    a = _random_expression(rng, symbols, depth - 1)
    b = _random_expression(rng, symbols, depth - 1)
    if kind == "add":
        return a + b
    if kind == "mul":
        return a * b
    if kind == "div":
        return a / (b ** 2 + 1)
    if kind == "pow":
        return a ** rng.randint(2, 3)
    return rng.choice([sp.tanh, sp.exp, sp.sin, lambda u: sp.log(1 + u ** 2), sp.Heaviside])(a)


def test_reverse_accumulation_is_sympy_diff():
    """The brute force the proof uses for large unrolled losses, against plain sympy.diff on 60 random
    expressions with shared subexpressions (each one reused, as an unrolled network reuses a layer)."""
    import random

    import sympy as sp

    from derive.proof import reverse_gradient

    rng = random.Random(4)
    xs = list(sp.symbols("x0:4"))
    for _ in range(60):
        shared = _random_expression(rng, xs, 2)
        L = _random_expression(rng, xs + [shared, shared ** 2], 3) * _random_expression(rng, xs + [shared], 2)
        ours = reverse_gradient(L, xs)
        for s, d in zip(xs, ours, strict=True):
            point = {x: sp.Rational(rng.randint(1, 9), 7) for x in xs}
            want = sp.diff(L, s).xreplace(point)
            assert abs(complex(sp.N(d.xreplace(point) - want, 30))) < 1e-20, (L, s)


def test_a_large_unrolled_loss_is_differentiated_over_its_dag_and_says_so():
    from derive import derive

    d = derive("rnn_bptt", wrt=["W", "U", "V", "c"], steps=4)
    assert d.proof.holds
    assert any("reverse accumulation over its expression DAG" in n for n in d.proof.notes)
    assert any("reverse accumulation" in line for line in d.proof_text())


def test_interning_makes_equal_terms_built_apart_one_object_and_keeps_their_value():
    from sympy.core.cache import clear_cache

    from derive.proof import Interned

    x, y, w = sp.symbols("x y w")
    a = sp.tanh(x * y + 1) ** 2 + x
    clear_cache()  # otherwise SymPy's constructor cache hands back the same objects
    b = sp.tanh(x * y + 1) ** 2 + x
    assert a == b and a is not b and a.args[1] is not b.args[1]
    intern = Interned()
    assert intern(a) is intern(b) and intern(a) == a
    tied = intern.substitute(sp.tanh(w * y + 1) ** 2 + w, {w: x}, {})
    assert tied is intern(a)
    assert intern.substitute(sp.tanh(w * y) + w, {w: x}, {}) == sp.tanh(x * y) + x


def test_relus_unevaluated_max_is_sympys_own():
    from derive.functions import unevaluated

    x, y = sp.symbols("x y")
    for z in (x, x * y + sp.tanh(x), -x):
        mine, theirs = unevaluated(sp.Max, 0, z), sp.Max(0, z, evaluate=False)
        assert mine == theirs and mine.args == theirs.args and hash(mine) == hash(theirs)
        assert mine.subs(x, 2) == theirs.subs(x, 2)
