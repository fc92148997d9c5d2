"""Bayesian point estimates as derivations (P6); each module registers its own
(:func:`derive.registry.get` imports the one named).

* ``beta_binomial`` — :func:`derive.bayes.beta_binomial.beta_binomial`;
* ``normal_normal`` — :func:`derive.bayes.normal_normal.normal_normal`.

Both return a :class:`BayesDerivation`, which renders like :class:`derive.Derivation`.
"""
__all__ = ["BayesDerivation"]


def __getattr__(name):
    if name == "BayesDerivation":
        from .document import BayesDerivation

        return BayesDerivation
    raise AttributeError(f"module 'derive.bayes' has no attribute {name!r}")
