"""Derivation declarations; importing this package registers them all."""
from . import mlp, shared_bias  # noqa: F401
