"""Generated code for model files: every example's compiled gradient agrees with the
derivation evaluated by SymPy (numeric.model.derived) and with central differences of the
independent NumPy forward; every generated line parses; generic functions are refused."""
import ast
from pathlib import Path

import numpy as np
import pytest

from checks.model_check import CHECK_SIZES, random_values
from derive import load_model, model
from derive.errors import UsageError
from numeric import compile_gradient
from numeric.finite_differences import central_difference
from numeric.model import derived, loss_function

MODELS = sorted((Path(__file__).parent.parent / "examples" / "models").glob("*.gp"))
CONCRETE = [p for p in MODELS if "function " not in p.read_text() and "\nloss " not in p.read_text()]


def _point(d, seed=3):
    sizes = {dim: CHECK_SIZES[i % len(CHECK_SIZES)] for i, dim in enumerate(d.spec.dims)}
    return random_values(d, sizes, np.random.default_rng(seed))


def _fd(d, values, p):
    f = loss_function(d.spec)

    def at(x):
        return float(f({**values, p: x.reshape(np.shape(values[p]))}))

    return central_difference(at, np.asarray(values[p], dtype=np.float64).ravel()).reshape(np.shape(values[p]))


@pytest.mark.parametrize("path", CONCRETE, ids=[p.stem for p in CONCRETE])
def test_compiled_model_gradient_matches_the_derivation_and_differences(path):
    d = load_model(str(path))
    values = _point(d)
    loss, grads = compile_gradient(d)(values)
    ref = derived(d, values)
    assert loss == pytest.approx(ref["loss"], rel=1e-12)
    for p in d.wrt:
        assert grads[p].shape == np.shape(values[p])
        np.testing.assert_allclose(grads[p], ref["gradients"][p], rtol=1e-9, atol=1e-12, err_msg=p)
        np.testing.assert_allclose(grads[p], _fd(d, values, p), rtol=1e-5, atol=1e-7, err_msg=p)


@pytest.mark.parametrize("path", CONCRETE, ids=[p.stem for p in CONCRETE])
def test_every_generated_line_parses(path):
    source = compile_gradient(load_model(str(path))).source
    tree = ast.parse(source)
    assert [f.name for f in tree.body if isinstance(f, ast.FunctionDef)] == ["loss_and_gradient"]
    for line in source.splitlines():
        if line.strip() and not line.strip().startswith("#") and not line.startswith("def "):
            ast.parse(line.strip())


def test_the_jax_build_agrees_with_numpy():
    pytest.importorskip("jax")
    d = load_model(str(next(p for p in CONCRETE if p.stem == "layer_norm")))
    values = _point(d)
    loss, grads = compile_gradient(d)(values)
    jloss, jgrads = compile_gradient(d, backend="jax")(values)
    assert float(jloss) == pytest.approx(loss, rel=1e-12)
    for p in d.wrt:
        np.testing.assert_allclose(np.asarray(jgrads[p]), grads[p], rtol=1e-10, atol=1e-13)


def test_a_generic_function_has_no_code():
    d = model("input x[n]\nparam w[n]\nfunction g\nL = sum(g(w * x))\n")
    with pytest.raises(UsageError, match="'g' is generic"):
        compile_gradient(d)


def test_missing_values_are_named():
    d = model("input x[n]\nparam w[n]\nL = sum(tanh(w * x))\n")
    with pytest.raises(UsageError, match="missing value for 'x'"):
        compile_gradient(d)({"w": np.ones(2)})


TRICKY = [  # printing hazards: a sum as a scalar factor, a negative number under a power, a name like a temporary
    "input x[n]\nparam w[n]\nconst a\nconst b\nh = w * x\nL = sum(tanh(h * (a + b)))\n",
    "input x[n]\nparam w[n]\nL = sum(w * x) * (-2) ^ 2 - 2 ^ -1 * sum(w)\n",
    "input x[n]\nparam w[n]\nc = (-2) ^ 2\nL = c * sum(w * x)\n",
    "input x[n]\nparam w[n]\nconst t_7\nh = tanh(w * x)\nL = sum(h * h) * t_7\n",
]


@pytest.mark.parametrize("text", TRICKY, ids=["scalar-sum", "negative-power", "negative-base", "temp-name"])
def test_generated_code_brackets_and_names(text):
    d = model(text)
    values = _point(d, seed=5)
    loss, grads = compile_gradient(d)(values)
    ref = derived(d, values)
    assert loss == pytest.approx(ref["loss"], rel=1e-12)
    for p in d.wrt:
        np.testing.assert_allclose(grads[p], ref["gradients"][p], rtol=1e-9, atol=1e-12, err_msg=p)
