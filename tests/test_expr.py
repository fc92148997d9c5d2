"""The safe expression parser: what it accepts, what it refuses (with the
column), and that nothing a user types is ever executed."""
import builtins

import numpy as np
import pytest
import sympy as sp

from derive.errors import UsageError
from derive.expr import ExprError, parse
from derive.functions import activation, custom_loss, loss
from numeric.expression import evaluate

LOSS_VARS = r"(yhat|y)_[1-9][0-9]?"


@pytest.mark.parametrize("text,expected", [
    ("(yhat_1 - 1/2)**2 - log(yhat_2)", "(a - 1/2)**2 - log(b)"),
    ("yhat_1^2", "a**2"),
    ("yhat_1^2 + 1", "a**2 + 1"),  # ^ binds like **, not like Python's XOR
    ("-yhat_1^2 / 2", "-a**2/2"),
    ("2^yhat_1^2", "2**(a**2)"),
    ("−yhat_1 × 2", "-2*a"),  # typographic minus and times
    ("0.1*yhat_1", "a/10"),  # exact: 0.1 is 1/10
    ("ln(yhat_1) + sigmoid(yhat_2)", "log(a) + 1/(1 + exp(-b))"),
    ("max(yhat_1, yhat_2, 0)", "Max(0, a, b)"),
    ("pi*E*yhat_1", "E*pi*a"),
])
def test_accepted_expressions_become_the_expected_sympy(text, expected):
    a, b = sp.symbols("a b")
    e = parse(text, variables=LOSS_VARS, what="loss")
    got = e.sympy({"yhat_1": a, "yhat_2": b})
    assert sp.simplify(got - sp.sympify(expected, locals={"a": a, "b": b})) == 0


@pytest.mark.parametrize("text,message", [
    ("__import__('os').system('true')", "attribute access ('.') not allowed at column 1"),
    ("yhat_1.__class__", "attribute access ('.') not allowed at column 1"),
    ("yhat[1]", "subscripts"),
    ("open('f')", "'open' is not an allowed function at column 1"),
    ("yhat_1 if y_1 else 0", "'if'/'else' not allowed"),
    ("lambda: 1", "lambda not allowed"),
    ("[yhat_1 for _ in ()]", "comprehensions not allowed"),
    ("yhat_1 % 2", "operator '%' is not allowed"),
    ("yhat_1 @ y_1", "operator '@' is not allowed"),
    ("'text'", "strings are not allowed"),
    ("True", "True is not allowed"),
    ("1j*yhat_1", "1j is not allowed"),
    ("yhat_1 +", "is not a valid expression"),
    ("", "is empty"),
    ("yhat_1 + zeta", "unknown name 'zeta' at column 10"),
    ("yhat_1 + __x", "name '__x' is not allowed at column 10"),
    ("exp", "function 'exp' needs an argument"),
    ("exp(yhat_1, y_1)", "exp() takes 1 argument, got 2"),
    ("exp(x=yhat_1)", "exp() takes plain arguments only"),
    ("yhat_1**1000", "exponent 1000 is too large"),
    ("2**10**10", "constant part that is too large"),
    ("1e400*yhat_1", "out of range"),
    ("10**400 + yhat_1", "too large"),
    ("log(-1) + yhat_1", "undefined"),
    ("yhat_1/0", "divides by zero"),
    ("yhat_1 + 1" + " + 1" * 200, "longer than 500 characters"),
    ("(" * 40 + "yhat_1" + ")" * 40 + "+" + "-" * 40 + "yhat_1", "nested more than 32 levels"),
    ("yhat_1\x00", "control character"),
    ("yhat_1 # }\\input{/etc/hostname}", "comments ('#') are not allowed at column 8"),
    ("yhat_1*1e-5000", "out of range"),
    ("yhat_1 + 1e-99999999", "out of range"),
])
def test_refused_expressions_say_what_and_where(text, message):
    with pytest.raises(ExprError) as info:
        parse(text, variables=LOSS_VARS, what="loss")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, UsageError)  # the CLI turns it into one line and exit 2


def test_injection_strings_never_execute(tmp_path, monkeypatch):
    """Strings that would write a file if evaluated are refused, and no
    evaluation primitive is reached while parsing or deriving."""
    marker = tmp_path / "pwned"
    attacks = [
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w').write('x')",
        f"[c for c in ().__class__.__base__.__subclasses__()][0]('{marker}')",
        f"exec(\"open('{marker}','w')\")",
        f"eval(\"open('{marker}','w')\")",
        f"yhat_1 + __builtins__.open('{marker}', 'w')",
        f"Symbol('x').__class__.__init__.__globals__['os'].system('touch {marker}')",
    ]

    def forbidden(*args, **kwargs):
        raise AssertionError("an evaluation primitive was called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sp, "sympify", forbidden)
    monkeypatch.setattr(sp, "parse_expr", forbidden, raising=False)
    for text in attacks:
        for build in (lambda t: loss(t), lambda t: activation(t, hidden=True)):
            with pytest.raises(UsageError):
                build(text)
    custom_loss.cache_clear()
    custom_loss("(yhat_1 - 1/2)**2 - log(yhat_2)")  # a good one still parses with the primitives gone
    assert not marker.exists()


def test_the_parser_source_calls_no_evaluation_primitive():
    import inspect
    import re

    import derive.expr
    import derive.functions
    import derive.trace

    for module in (derive.expr, derive.trace, derive.functions):
        src = inspect.getsource(module)
        builtins_called = re.findall(r"(?<!def )(?<![\w.])(eval|exec|compile)\(", src)
        sympy_parsers = re.findall(r"(?<!\w)(sympify|parse_expr|S)\(", src)
        assert builtins_called == [] and sympy_parsers == [], module.__name__


def test_numeric_evaluation_agrees_with_sympy_on_the_same_tree(rng):
    e = parse("x*exp(y) + log(sin(x)) - abs(y)**3 + max(x, y) + softplus(x) / sigmoid(y)")
    x, y = sp.symbols("x y")
    s = e.sympy({"x": x, "y": y})
    for _ in range(5):
        px, py = rng.uniform(0.1, 3.0), rng.uniform(-2, 2)
        want = float(s.subs({x: px, y: py}))
        got = float(evaluate(e.tree, {"x": px, "y": py}))
        assert abs(got - want) <= 1e-12 * max(1.0, abs(want))


def test_abs_differentiates_as_a_real_function():
    x = sp.Symbol("x")
    d = sp.diff(parse("abs(x)**3").sympy({"x": x}), x)
    assert d.subs(x, -2) == -12 and d.subs(x, 2) == 12
    assert not d.has(sp.re, sp.im)


def test_typed_loss_needs_outputs_and_typed_activation_needs_z():
    with pytest.raises(UsageError, match="does not depend on the outputs"):
        loss("y_1**2")
    with pytest.raises(UsageError, match="does not depend on z"):
        activation("2 + 3")
    with pytest.raises(UsageError, match="unknown loss 'hinge'.*or an expression"):
        loss("hinge")


def test_numeric_typed_loss_reads_components_one_based():
    from numeric.functions import loss as numeric_loss

    f = numeric_loss("(yhat_1 - 1/2)**2 - log(yhat_2) + y_2")
    got = f(np.array([0.25, 0.5, 9.0]), np.array([0.0, 3.0, 0.0]))
    assert got == pytest.approx(0.0625 - np.log(0.5) + 3.0, rel=1e-15)


def test_component_sum_indices_are_named_by_nesting_depth():
    """A T = 10 RNN's ∂L/∂W[i,j] nests more sums than there are index names: a nested
    sum's index must never reuse an enclosing one's (that would read V[p, p])."""
    import re

    from derive import derive
    from derive.components import elementwise

    idx, comp = elementwise(derive("rnn_bptt", wrt=["W"], steps=10), "W")
    text = str(comp)
    assert not re.findall(r"V\[(\w+), \1\]", text)
    assert "V[l, i]" in text and "V[p, l]" in text  # the first two levels: l, then p inside it
    assert re.search(r"\bl1\b", text)  # past six levels the names carry a number
