"""The ``gradcheck`` fixture, used the way a user's own test suite would: no import
of gradproof, the plugin is found through its pytest11 entry point."""
import numpy as np

pytest_plugins = ["pytester"]


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
