"""P4: evaluation traces, checked against sympy.diff and JAX."""
import json
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive.cli import main
from derive.errors import UsageError
from derive.trace import trace
from numeric.expression import evaluate

P4 = "ln(sin(x1)) + x1*exp(x2)"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_p4_is_answered_exactly():
    t = trace(P4, {"x1": "pi/6", "x2": "1"}, wrt="x1")
    s = t.steps
    assert [x.definition_text for x in s] == ["x1", "sin(v1)", "ln(v2)", "x2", "exp(v4)", "v1·v5", "v3 + v6"]
    exact = [sp.pi / 6, sp.Rational(1, 2), -sp.log(2), 1, sp.E, sp.E * sp.pi / 6, sp.E * sp.pi / 6 - sp.log(2)]
    tangents = [1, sp.sqrt(3) / 2, sp.sqrt(3), 0, 0, sp.E, sp.E + sp.sqrt(3)]
    for step, v, d in zip(s, exact, tangents, strict=True):
        assert sp.simplify(step.value - v) == 0, step.index
        assert sp.simplify(step.tangent - d) == 0, step.index
    assert t.proof


def test_p4_derivative_equals_sympy_diff_and_jax():
    from numeric.autodiff import jax_grad

    t = trace(P4, {"x1": "pi/6", "x2": "1"}, wrt="x1", reverse=True)
    x1, x2 = sp.symbols("x1 x2")
    f = sp.log(sp.sin(x1)) + x1 * sp.exp(x2)
    at = {x1: sp.pi / 6, x2: 1}
    assert sp.simplify(t.tangent_value - sp.diff(f, x1).subs(at)) == 0
    assert sp.simplify(t.gradient["x2"] - sp.diff(f, x2).subs(at)) == 0

    def f_np(p, xp):  # written from the problem statement
        return xp.log(xp.sin(p["x1"])) + p["x1"] * xp.exp(p["x2"])

    g = jax_grad(f_np, {"x1": np.array(math.pi / 6), "x2": np.array(1.0)}, ["x1", "x2"])
    assert float(g["x1"]) == pytest.approx(float(t.tangent_value), rel=1e-14)
    assert float(g["x2"]) == pytest.approx(float(t.gradient["x2"]), rel=1e-14)


def test_p4_text_writes_each_chain_rule_before_evaluating(capsys):
    status, out, err = run(capsys, "trace", P4, "--at", "x1=pi/6", "x2=1", "--wrt", "x1")
    assert status == 0 and err == ""
    for needle in ["v2 = sin(v1)  = 1/2", "v3 = ln(v2)   = −log(2)", "v6 = v1·v5    = e·π/6",
                   "v̇2 = cos(v1)·v̇1", "= (√3/2)·1 = √3/2 ≈ 0.866025403784",
                   "v̇6 = v5·v̇1 + v1·v̇5", "= e·1 + (π/6)·0 = e ≈ 2.71828182846",
                   "∂f/∂x1 = v̇7 = √3 + e ≈ 4.45033263603", "sympy.diff of f at the point: HOLDS"]:
        assert needle in out, needle


def test_reverse_mode_json_has_every_adjoint(capsys):
    status, out, _ = run(capsys, "trace", P4, "--at", "x1=pi/6", "x2=1", "--mode", "reverse", "--json")
    assert status == 0
    d = json.loads(out)
    assert d["mode"] == "reverse" and d["proof"]["holds"] and d["proof"]["method"] == "exact"
    assert [s["name"] for s in d["steps"]] == [f"v{i}" for i in range(1, 8)]
    assert d["steps"][1]["tangent"]["rule"] == "cos(v1)·v̇1"
    assert d["steps"][0]["adjoint"]["float"] == pytest.approx(math.sqrt(3) + math.e, rel=1e-15)
    assert d["gradient"]["x2"]["float"] == pytest.approx(math.e * math.pi / 6, rel=1e-15)


@pytest.mark.parametrize("argv,message", [
    (["trace", P4, "--at", "x1=pi/6"], "no value for 'x2'"),
    (["trace", P4, "--at", "x1=pi/6", "x2=1", "x3=0"], "--at gives 'x3', which the expression does not use"),
    (["trace", P4, "--at", "x1=0", "x2=1"], "v3 = ln(v2) at x1 = 0, x2 = 1 is undefined"),
    (["trace", P4, "--at", "x1=-1", "x2=1"], "is not a real number"),
    (["trace", P4, "--at", "x1=pi/6", "x2=1", "--wrt", "y"], "--wrt 'y' is not a variable"),
    (["trace", P4, "--at", "x1", "x2=1"], "--at takes NAME=VALUE pairs"),
    (["trace", P4, "--at", "x1=__import__('os')", "x2=1"], "value of x1"),
    (["trace", "2 + 3", "--at", "x=1"], "has no variables"),
    (["trace", "x.real", "--at", "x=1"], "attribute access"),
    (["trace", P4], "the following arguments are required: --at (see: python -m derive trace --help)"),
])
def test_bad_trace_input_is_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


# -- random expressions: the trace agrees with sympy.diff and JAX ------------------------
_LEAF = st.sampled_from(["x", "y", "2", "1/3", "pi"])
_UNARY = st.sampled_from(["exp", "sin", "cos", "tanh", "sigmoid", "softplus"])


def _exprs():
    return st.recursive(_LEAF, lambda inner: st.one_of(
        st.tuples(_UNARY, inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda a: f"({a})**2"),
    ), max_leaves=6)


@given(text=_exprs(), x=st.sampled_from(["1/2", "-1", "2", "pi/4"]), y=st.sampled_from(["1", "-1/3", "3/2"]))
def test_random_traces_match_sympy_diff_and_jax(text, x, y):
    from numeric.autodiff import jax_grad

    try:
        t = trace(f"x + y + {text}", {"x": x, "y": y}, reverse=True)
    except UsageError:
        return  # an undefined point is refused, not traced
    assert t.proof  # the trace's gradient equals sympy.diff at the point
    tree = t.expr.tree
    point = {v: np.array(float(t.at[v])) for v in ("x", "y")}
    g = jax_grad(lambda p, xp: evaluate(tree, p, xp), point, ["x", "y"])
    for v in ("x", "y"):
        mine = float(t.gradient[v])
        assert abs(float(g[v]) - mine) <= 1e-10 * max(1.0, abs(mine)), (text, v)
    assert float(t.tangent_value) == pytest.approx(float(t.gradient["x"]), rel=1e-12, abs=1e-12)


def test_trace_latex_compiles(tmp_path, capsys):
    import shutil
    import subprocess

    if shutil.which("pdflatex") is None:
        pytest.skip("compiling the trace needs pdflatex, which is not on PATH "
                    "(Debian: apt-get install texlive-latex-base; .ci/run installs it when it can)")
    out = tmp_path / "trace.tex"
    status, _, _ = run(capsys, "trace", P4, "--at", "x1=pi/6", "x2=1", "--mode", "reverse", "-o", str(out))
    assert status == 0
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", out.name], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "Overfull" not in (tmp_path / "trace.log").read_text(errors="replace")


@pytest.mark.parametrize("argv,message", [
    (["trace", "x/x + log(x - x + 1)", "--at", "x=0"], "v2 = v1/v1 at x = 0 is undefined"),
    (["trace", "x^2 + 1", "--at", "x=1", "--json"], None),
])
def test_operations_are_evaluated_on_their_operands(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    if message:
        assert status == 2 and message in err  # SymPy's v1/v1 → 1 must not hide 0/0
    else:
        d = json.loads(out)
        assert status == 0 and d["derivative"]["float"] == 2.0  # ^ is a power, with the power's precedence
