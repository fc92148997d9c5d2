"""Hypothesis strategies for property tests of gradients (needs ``hypothesis``,
a test extra; ``import checks`` itself never imports it).

>>> from hypothesis import given, settings
>>> from checks import strategies as cst
>>> @settings(max_examples=5, derandomize=True)
... @given(x=cst.arrays(shape=(3,)))
... def test_square(x):
...     assert gradcheck(lambda v: np.sum(v ** 2), x, lambda v: 2 * v, jax=False).passed
>>> test_square()
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numeric.functions import ACTIVATIONS, LOSSES

from .gradcheck import gradcheck

__all__ = ["activations", "arrays", "gradcheck", "losses", "magnitudes", "near_kinks", "shapes", "sizes"]


def sizes(min_size: int = 1, max_size: int = 6) -> st.SearchStrategy[int]:
    """A layer width."""
    return st.integers(min_size, max_size)


def shapes(max_dims: int = 2, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy[tuple]:
    """An array shape with 1 to ``max_dims`` axes."""
    return hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=min_side, max_side=max_side)


def magnitudes(choices=(1e-2, 1.0, 1e2, 1e4)) -> st.SearchStrategy[float]:
    """The scale of a point: gradients must check at 1e-2 and at 1e4 alike."""
    return st.sampled_from(choices)


def arrays(shape=None, dtype=np.float64, scale=None) -> st.SearchStrategy[np.ndarray]:
    """Finite arrays of ``dtype`` with entries in [−scale, scale] (``scale`` a number,
    a strategy, or None for :func:`magnitudes`)."""
    shape_st = shapes() if shape is None else st.just(tuple(shape))
    scale_st = magnitudes() if scale is None else (scale if isinstance(scale, st.SearchStrategy)
                                                   else st.just(float(scale)))
    width = np.dtype(dtype).itemsize * 8

    @st.composite
    def build(draw):
        s, m = draw(shape_st), draw(scale_st)
        unit = draw(hnp.arrays(np.float64, s, elements=st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)))
        return (unit * m).astype(dtype) if width != 64 else unit * m

    return build()


def near_kinks(shape=(4,), offsets=(0.0, 1e-12, -1e-12, 1e-6, -1e-6, 1e-3)) -> st.SearchStrategy[np.ndarray]:
    """Arrays whose entries sit at or next to 0, where ReLU, |·| and max have their kink."""
    return hnp.arrays(np.float64, tuple(shape), elements=st.sampled_from(offsets) | st.floats(-2.0, 2.0))


def activations(names=None) -> st.SearchStrategy[str]:
    """Names of elementwise activations from :data:`numeric.ACTIVATIONS` (softmax excluded)."""
    return st.sampled_from(sorted(names or (n for n in ACTIVATIONS if n != "softmax")))


def losses(names=None) -> st.SearchStrategy[str]:
    """Names of losses from :data:`numeric.LOSSES`."""
    return st.sampled_from(sorted(names or LOSSES))
