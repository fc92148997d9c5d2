"""Derivation declarations; importing this package registers them all."""
from . import mlp, rnn, shared_bias  # noqa: F401
