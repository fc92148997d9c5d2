"""Derivation declarations; importing this package registers them all."""
from . import shared_bias  # noqa: F401
