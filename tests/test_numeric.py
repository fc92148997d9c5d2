"""Finite differences and the independent forward, on functions with known answers."""
import numpy as np
import pytest

from checks import relative_error
from numeric import central_difference, richardson, shared_bias_loss, step


def test_steps_are_powers_of_two_scaled_to_x():
    h = step(np.array([0.0, 1e3, -1e-3]), order=2)
    assert np.all(np.log2(h) == np.round(np.log2(h)))
    assert h[1] > 100 * h[0]
    assert h[0] == h[2]


def test_central_difference_error_is_second_order_small():
    x = np.array([0.3, -1.2, 2.0])
    g = central_difference(lambda v: np.sum(np.sin(v) * np.exp(v)), x)
    exact = np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x)
    assert relative_error(g, exact) < 1e-9


def test_richardson_is_more_accurate_and_estimates_its_error():
    x = np.array([0.7, 1.9, -0.4])
    f = lambda v: np.sum(np.exp(2 * v) / (1 + v**2))  # noqa: E731
    exact = 2 * np.exp(2 * x) / (1 + x**2) - np.exp(2 * x) * 2 * x / (1 + x**2) ** 2
    r, est = richardson(f, x)
    assert relative_error(r, exact) < 1e-11
    assert np.all(np.abs(r - exact) <= est + 1e-12)


def test_large_coordinates_get_large_steps():
    x = np.array([1e6])
    g, _ = richardson(lambda v: float(v[0]) ** 2 * 1e-6, x)
    assert relative_error(g, [2.0]) < 1e-8


def test_independent_forward_matches_hand_computation():
    p = {"W": np.array([[1.0, 2.0]]), "U": np.array([[0.5]]), "b": np.array([0.25]),
         "x": np.array([0.5, -1.0]), "y": np.array([1.0])}
    # z1 = 0.5 - 2 + 0.25 = -1.25 ; h1 = z1 (identity) ; z2 = -0.625 + 0.25 = -0.375 ; L = ½(z2 − 1)²
    assert shared_bias_loss(p, "identity", "identity", "mse") == pytest.approx(0.5 * 1.375**2, rel=1e-15)


def test_relative_error_is_zero_for_equal_and_scale_free():
    assert relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_error([2e-9], [1e-9]) == pytest.approx(1.0)
