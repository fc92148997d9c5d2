"""The ``gradcheck`` fixture, used the way a user's own test suite would: no import
of gradproof, the plugin is found through its pytest11 entry point."""
import subprocess
import sys
from pathlib import Path

import numpy as np

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]


def softplus_loss(w):
    return np.sum(np.logaddexp(0.0, w * 1.5))


def softplus_grad(w):
    return 1.5 * 0.5 * (1 + np.tanh(0.75 * w))


def test_my_gradient(gradcheck):
    report = gradcheck(softplus_loss, np.array([0.2, -1.0, 3.0]), softplus_grad, jax=False)
    assert report.tensors["x"].max_rel_error < 1e-8


USER_SUITE = '''
import numpy as np

def test_wrong_gradient(gradcheck):
    gradcheck(lambda w: np.sum(w ** 3), np.array([1.0, 2.0]), lambda w: 3 * w, jax=False)
'''


def test_a_wrong_gradient_fails_the_users_test_with_the_report(pytester):
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*gradcheck FAILED for x*", "*only one entry of ∂/∂x is wrong: x?1?",
                                 "*derived  6  FD  12 ±*"])


def _readme_recipe(name):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(f"<!-- recipe: {name} -->", 1)[1].split("```python\n", 1)[1]
    return block.split("```", 1)[0]


def test_the_readmes_property_test_recipe_passes(pytester):
    pytester.makepyfile(test_recipe=_readme_recipe("property-test"))
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


def test_inside_given_a_wrong_gradient_shows_the_falsifying_example_and_the_line(pytester):
    wrong = _readme_recipe("property-test").replace("0.5 * (1.0 + np.tanh(w / 2))", "0.5 * (1.0 + np.tanh(w))")
    pytester.makepyfile(test_recipe=wrong)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    # hypothesis's shrunk example ("Falsifying example", "Failing test case" in newer versions)
    assert "example: test_softplus_gradient(" in out or "test case: test_softplus_gradient(" in out
    assert 'gradcheck(softplus, w, softplus_grad, name="softplus", jax=False)' in out  # the calling line
    assert "gradcheck FAILED for softplus" in out
    assert "FailedHealthCheck" not in out and "function-scoped fixture" not in out
    assert "Check a gradient against JAX" not in out and "checks.gradcheck's arguments" not in out  # no docstrings


def test_two_calls_in_one_test_are_named_apart(pytester):
    pytester.makepyfile(test_two='''
import numpy as np

def test_two(gradcheck):
    gradcheck(lambda w: np.sum(w ** 2), np.array([1.0, 2.0]), lambda w: 2 * w, name="encoder", jax=False)
    gradcheck(lambda w: np.sum(w ** 3), np.array([1.0, 2.0]), lambda w: 3 * w, name="decoder", jax=False)
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "gradcheck FAILED for decoder" in result.stdout.str() and "FAILED for encoder" not in result.stdout.str()


PROJECT = {  # a user's project whose own modules share our top-level names
    "checks.py": "def ok():\n    return 'the project checks'\n",
    "numeric.py": "VALUE = 42\n",
    "derive.py": "def derive(x):\n    return 2 * x\n",
    "tests/__init__.py": "",
    "tests/numeric.py": "HELPER = 'tests.numeric'\n",
    "tests/test_project.py": (
        "import checks, derive, numeric\n"
        "from tests import numeric as helper\n\n"
        "def test_own_modules():\n"
        "    assert checks.ok() == 'the project checks' and numeric.VALUE == 42 and derive.derive(2) == 4\n"
        "    assert helper.HELPER == 'tests.numeric'\n"),
}


def test_a_project_with_its_own_checks_numeric_and_derive_runs_its_tests(tmp_path):
    for rel, text in PROJECT.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout


def test_the_plugin_module_imports_nothing_of_ours():
    code = ("import sys, gradproof.pytest_plugin\n"
            "print(sorted(m for m in ('sympy', 'numpy', 'jax', 'derive', 'numeric', 'checks') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"
