# Generated from solutions/01_derivatives/derivatives.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Numerical derivatives by central differences: the reference that every hand-derived gradient is checked against."""
from collections.abc import Callable

import numpy as np


def numerical_derivative(f: Callable[[float], float], x: float, h: float = 1e-5) -> float:
    """The derivative of a function of one variable, by central difference.

    Args:
        f: a function of a real number that returns a real number.
        x: the point at which to differentiate.
        h: the step. 1e-5 balances truncation against round-off in float64.

    Returns:
        the central-difference estimate of f'(x) with step h, a Python float.
    """
    return float((f(x + h) - f(x - h)) / (2 * h))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """The gradient of a scalar function of an array, by central differences in float64.

    Costs 2 * x.size calls of f: use it to check gradients, not to train.

    Args:
        f: a function of an array of x's shape that returns a real number.
        x: the point, an array of any shape and numeric dtype. It is not modified, not even while f runs.
        h: the step.

    Returns:
        grad: a float64 array of x's shape; grad[i] ≈ ∂f/∂x[i], the central difference with step h along
            entry i of x.
    """
    x = np.array(x, dtype=np.float64)  # a float64 copy: the caller's x is never modified
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """The Jacobian of a function of an array, by central differences in float64.

    Args:
        f: a function of an array of x's shape that returns an array (or a number).
        x: the point, an array of any shape. It is not modified: f is called with a float64 copy.
        h: the step.

    Returns:
        J: a float64 array of shape (m, n), with n = x.size and m = f(x).size:
            J[i, j] = ∂f(x)[i] / ∂x[j], inputs and outputs flattened in C order.
            For x of shape (n,) and f(x) of shape (m,), this is the usual m × n Jacobian.
            Row i is numerical_gradient of output i: 2 * n calls of f per output.
    """
    m = np.size(f(np.array(x, dtype=np.float64)))
    rows = [numerical_gradient(lambda v, i=i: np.reshape(f(v), -1)[i], x, h).reshape(-1) for i in range(m)]
    return np.array(rows, dtype=np.float64).reshape(m, np.size(x))
