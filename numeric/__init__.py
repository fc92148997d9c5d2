"""numeric — independent forward functions, finite differences, JAX autodiff, evaluation and code generation.

JAX is imported only by :mod:`numeric.autodiff`, on first use.
"""
__gradproof__ = True  # gradproof.ensure_ours: this module is gradproof's, not another distribution's
from .evaluate_sweep import compile_sweep, evaluate
from .generate import CompiledGradient, compile_gradient, gradient_source
from .finite_differences import central_difference, richardson, slope_jumps, step
from .functions import ACTIVATIONS, LOSSES
from .attribution import Attribution, input_gradients
from .models import FORWARDS, mlp_loss, rnn_loss, shared_bias_loss, sigmoid_mlp_loss

__all__ = [
    "ACTIVATIONS",
    "Attribution",
    "CompiledGradient",
    "input_gradients",
    "mlp_loss",
    "rnn_loss",
    "sigmoid_mlp_loss",
    "FORWARDS",
    "LOSSES",
    "central_difference",
    "compile_gradient",
    "compile_sweep",
    "evaluate",
    "gradient_source",
    "richardson",
    "shared_bias_loss",
    "slope_jumps",
    "step",
]
