"""JAX reverse-mode gradients in float64 on the CPU (imported only when used)."""
from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["jax_grad", "jnp"]


def jax_grad(f, values: dict, wrt) -> dict:
    """∂f/∂v for each name in ``wrt``; ``f(values, xp)`` is a scalar function
    of a dict of arrays written with the array module ``xp``."""
    fixed = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in values.items()}

    def scalar(sub):
        return f({**fixed, **sub}, jnp)

    grads = jax.grad(scalar)({k: fixed[k] for k in wrt})
    return {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()}
