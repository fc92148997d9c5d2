"""Shared fixtures and the hypothesis profiles.

HYPOTHESIS_PROFILE=thorough runs many more examples than the CI default.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# the proof cache (derive/cache.py) is off unless a test turns it on with its own directory:
# a run must not read proofs an earlier run left in the user's cache
os.environ["GRADPROOF_CACHE"] = "off"

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)
