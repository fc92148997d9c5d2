"""Bayesian point estimates as derivations (P6): importing registers them.

* ``beta_binomial`` — :func:`derive.bayes.beta_binomial.beta_binomial`;
* ``normal_normal`` — :func:`derive.bayes.normal_normal.normal_normal`.

Both return a :class:`BayesDerivation`, which renders like :class:`derive.Derivation`.
"""
from . import beta_binomial, normal_normal  # noqa: F401  (registers)
from .document import BayesDerivation

__all__ = ["BayesDerivation"]
