"""pytest plugin (entry point ``gradproof``): the ``gradcheck`` fixture.

Installed with gradproof, so any test can ask for it without an import::

    def test_my_gradient(gradcheck):
        report = gradcheck(my_loss, params, my_grad, name="encoder")   # fails the test if wrong
        assert report.tensors["W"].max_rel_error < 1e-8

pytest loads this module at the start of every run in every project, so it
imports nothing of gradproof's (and no SymPy, NumPy or JAX) until a test asks
for the fixture. The fixture is session-scoped and stateless, so it works
inside a hypothesis ``@given`` test; a wrong gradient raises ``AssertionError``
with the report, which hypothesis shrinks and shows with its falsifying example.
"""
from __future__ import annotations

import pytest

__all__ = ["gradcheck"]


def _check(f, x, grad=None, **options):
    """:func:`checks.gradcheck`'s arguments (``name=`` names x in the report); fails the test
    with the readable report when the gradient is wrong or cannot be judged; returns the report."""
    __tracebackhide__ = True  # the failure shows the test's calling line, not the plugin's
    from checks import gradcheck as check

    report = check(f, x, grad, **options)
    if not report.passed:
        raise AssertionError(str(report))
    return report


@pytest.fixture(scope="session")
def gradcheck():
    """Check a gradient against JAX and finite differences; see :func:`checks.gradcheck`."""
    return _check
