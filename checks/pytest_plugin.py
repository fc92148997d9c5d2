"""pytest plugin (entry point ``gradproof``): the ``gradcheck`` fixture.

Installed with gradproof, so any test can ask for it without an import::

    def test_my_gradient(gradcheck):
        report = gradcheck(my_loss, params, my_grad)   # fails the test, with the report, if wrong
        assert report.tensors["W"].max_rel_error < 1e-8
"""
from __future__ import annotations

import pytest

__all__ = ["gradcheck"]


@pytest.fixture
def gradcheck():
    """A callable with :func:`checks.gradcheck`'s arguments that fails the test
    with the readable report when the gradient is wrong, and returns the report."""
    from checks import gradcheck as check

    def run(f, x, grad=None, **options):
        report = check(f, x, grad, **options)
        if not report.passed:
            pytest.fail(str(report), pytrace=False)
        return report

    return run
