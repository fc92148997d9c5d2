"""Golden strings for the printers."""
import pytest
import sympy as sp

from derive import derive
from derive.graph import display
from derive.matexpr import Pointwise
from derive.printing import latex, unicode

s, t = sp.symbols("s t")
m = sp.Symbol("m")
z1 = sp.MatrixSymbol("z1", m, 1)
h1 = sp.MatrixSymbol("h1", m, 1)
U = sp.MatrixSymbol("U", m, m)
d_out = sp.MatrixSymbol("delta_out", m, 1)
NAMES = {n: display(n) for n in ("z1", "h1", "U", "delta_out", "yhat", "y")}


def test_display_names():
    assert display("z1") == ("z₁", "z_{1}")
    assert display("delta_hidden") == ("δ_hidden", r"\delta_{\text{hidden}}")
    assert display("yhat")[0] == "ŷ"


def test_generic_derivative_and_hadamard():
    d = derive("shared_bias")
    gp = next(st for st in d.sweep.steps if st.lhs.name == "delta_hidden").expanded
    assert d.u(gp) == "g′(z₁) ⊙ (Uᵀ δ_out)"
    assert d.tex(gp) == r"g'\left(z_{1}\right) \odot \left(U^{\top} \delta_{\text{out}}\right)"


def test_elementwise_body_uses_vector_names():
    e = Pointwise(sp.Lambda(t, t * (1 - t)), h1)
    assert unicode(e, NAMES) == "h₁ ⊙ (1 − h₁)"
    assert latex(e, NAMES) == r"h_{1} \odot \left(1 - h_{1}\right)"


def test_quotients_print_with_oslash_and_sign_normalised():
    yhat = sp.MatrixSymbol("yhat", m, 1)
    y = sp.MatrixSymbol("y", m, 1)
    e = Pointwise(sp.Lambda((s, t), -(s - t) / (s * (s - 1))), yhat, y)
    assert unicode(e, NAMES) == "(ŷ − y) ⊘ (ŷ ⊙ (1 − ŷ))"


def test_adjoint_bars_and_sums():
    d = derive("shared_bias")
    names = d.names
    assert names["bar_h1"] == ("h̄₁", r"\bar{h}_{1}")
    assert names["bar_b_occ1"][0] == "b̄₍₁₎"
    _, comp = d.elementwise("b")
    # factors read in reverse-sweep order: the loss gradient first, the input side last
    assert d.u(comp) == "(Σ_j (∇ŷℓ)[j]·g₁′(z₂[j])·U[j,i])·g′(z₁[i]) + (∇ŷℓ)[i]·g₁′(z₂[i])"
    assert d.tex(comp).count(r"\sum_{j}") == 1


def test_transpose_and_product():
    assert unicode(U.T * d_out, NAMES) == "Uᵀ δ_out"
    assert latex(U.T * d_out, NAMES) == r"U^{\top} \delta_{\text{out}}"


CONCRETE = [("input_gradient", {"layers": 3, "activation": "tanh"}),
            ("shared_bias", {"activation": "tanh", "output_activation": "softmax", "loss": "mse"}),
            ("shared_bias", {"activation": "sigmoid", "output_activation": "sigmoid", "loss": "bce",
                             "wrt": ["b", "W", "U"]}),
            ("sigmoid_mlp", {"wrt": ["b2", "W2", "b1", "W1", "x"]}), ("rnn_bptt", {}),
            ("rnn_bptt", {"wrt": ["W", "U", "V", "c"], "steps": 2})]
PSEUDOCODE = [("input_gradient", {}), ("shared_bias", {}), *CONCRETE]


@pytest.mark.parametrize("name,opts", PSEUDOCODE)
def test_every_pseudocode_line_is_python(name, opts):
    """Printed from structure, never by string replacement: the whole listing parses."""
    import ast

    from derive import derive

    lines = derive(name, **opts).pseudocode()
    ast.parse("\n".join(lines))
    assert not any("@ @" in ln or "- @" in ln or "+ @" in ln for ln in lines)


def test_pseudocode_of_a_softmax_jacobian():
    from derive import derive

    lines = derive("shared_bias", activation="tanh", output_activation="softmax", loss="mse").pseudocode()
    assert "    delta_out = (-yhat @ yhat.T + diag(yhat)) @ (yhat - y)" in lines


@pytest.mark.parametrize("name,opts", CONCRETE)
def test_generated_gradient_code_is_python(name, opts):
    import ast

    from derive import derive
    from numeric import compile_gradient

    ast.parse(compile_gradient(derive(name, **opts), "numpy").source)
