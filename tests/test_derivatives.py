"""nnlib.derivatives: finite differences against derivatives known in closed form."""
import inspect

import numpy as np
import pytest

from nnlib.derivatives import numerical_derivative, numerical_gradient, numerical_jacobian
from nnlib.testing import assert_close

# (function, its derivative): the derivatives come from calculus, not from the code under test.
SCALAR_FUNCTIONS = {
    "polynomial": (lambda x: 3 * x**2 - 4 * x + 5, lambda x: 6 * x - 4),
    "sin": (np.sin, np.cos),
    "sinh": (np.sinh, np.cosh),
    "arctan": (np.arctan, lambda x: 1 / (1 + x**2)),
    "reciprocal": (lambda x: 1 / x, lambda x: -1 / x**2),
}


# numerical_derivative

@pytest.mark.parametrize("name", SCALAR_FUNCTIONS)
def test_numerical_derivative_matches_calculus(name):
    f, f_prime = SCALAR_FUNCTIONS[name]
    for x in np.random.default_rng(0).uniform(0.2, 2.0, size=5):
        assert_close(numerical_derivative(f, float(x)), float(f_prime(x)), rtol=1e-8, atol=1e-10,
                     msg=f"derivative of {name} at {x}")
        assert_close(numerical_derivative(f, -float(x)), float(f_prime(-x)), rtol=1e-8, atol=1e-10,
                     msg=f"derivative of {name} at {-x}")


def test_numerical_derivative_returns_a_python_float():
    for f in (np.sin, lambda x: np.float32(x) * 2, lambda x: np.array(x**2)):
        result = numerical_derivative(f, 0.5)
        assert type(result) is float, f"expected a Python float, got {type(result).__name__}"


@pytest.mark.parametrize("x, h", [(2.0, 0.1), (-1.5, 0.3), (0.7, 0.05)])
def test_numerical_derivative_is_a_central_difference(x, h):
    # For t³ the central difference with step h is exactly 3x² + h²; a forward difference gives 3x² + 3xh + h².
    assert_close(numerical_derivative(lambda t: t**3, x, h=h), 3 * x**2 + h**2, rtol=1e-12)


def test_numerical_derivative_evaluates_f_at_x_plus_and_minus_h_only():
    calls = []
    numerical_derivative(lambda t: calls.append(t) or t**2, 1.0, h=0.25)
    assert sorted(calls) == [0.75, 1.25]


def test_default_step_is_1e_minus_5():
    for function in (numerical_derivative, numerical_gradient, numerical_jacobian):
        assert inspect.signature(function).parameters["h"].default == 1e-5, function.__name__


# numerical_gradient

@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (2, 3, 4)])
def test_numerical_gradient_matches_calculus_for_any_shape(shape):
    rng = np.random.default_rng(1)
    x, C = rng.standard_normal(shape), rng.standard_normal(shape)
    grad = numerical_gradient(lambda v: np.sum(np.sin(v) * C) + np.sum(v**2) ** 2, x)
    expected = np.cos(x) * C + 4 * np.sum(x**2) * x
    assert isinstance(grad, np.ndarray) and grad.shape == shape and grad.dtype == np.float64
    assert_close(grad, expected, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_of_log_sum_exp_is_softmax():
    x = np.random.default_rng(2).standard_normal(8)
    assert_close(numerical_gradient(lambda v: np.log(np.sum(np.exp(v))), x), np.exp(x) / np.sum(np.exp(x)),
                 rtol=1e-7, atol=1e-10)


def test_numerical_gradient_is_a_central_difference():
    x, h = np.random.default_rng(3).standard_normal((2, 3)), 0.1
    assert_close(numerical_gradient(lambda v: np.sum(v**3), x, h=h), 3 * x**2 + h**2, rtol=1e-10, atol=1e-12)


def test_numerical_gradient_calls_f_with_float64_arrays_of_the_shape_of_x():
    seen = set()

    def f(v):
        seen.add((type(v), v.shape, v.dtype.name))
        return np.sum(v)

    numerical_gradient(f, np.ones((2, 3), dtype=np.float32))
    assert seen == {(np.ndarray, (2, 3), "float64")}


def test_numerical_gradient_never_modifies_the_callers_x_not_even_during_calls():
    x = np.random.default_rng(4).standard_normal((3, 2))
    snapshot = x.copy()
    changed = []

    def f(v):
        changed.append(not np.array_equal(x, snapshot))
        return np.sum(v**2)

    grad = numerical_gradient(f, x)
    assert not any(changed)
    assert np.array_equal(x, snapshot)
    assert not np.shares_memory(grad, x)


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.float64])
def test_numerical_gradient_computes_in_float64_whatever_the_input_dtype(dtype):
    x = np.array([1, -2, 3]).astype(dtype) if dtype is np.int64 else \
        np.random.default_rng(5).standard_normal(6).astype(dtype)
    grad = numerical_gradient(lambda v: np.sum(v**3), x)
    # In float32 the nudge x + 1e-5 would keep only ~2 digits of the step: rtol=1e-7 needs float64.
    assert_close(grad, 3 * x.astype(np.float64)**2, rtol=1e-7, atol=1e-9, check_dtype=True)


def test_numerical_gradient_of_a_non_contiguous_array_keeps_its_layout():
    base = np.random.default_rng(6).standard_normal((4, 3))
    x = base.T                       # shape (3, 4), a transposed view
    C = np.arange(12.0).reshape(3, 4)
    assert_close(numerical_gradient(lambda v: np.sum(v * C), x), C, rtol=1e-8, atol=1e-9)


def test_numerical_gradient_accepts_python_numbers_numpy_scalars_and_0d_arrays_from_f():
    x = np.array([0.5, -1.0])
    for f in (lambda v: float(np.sum(v**2)), lambda v: np.sum(v**2), lambda v: np.array(np.sum(v**2))):
        assert_close(numerical_gradient(f, x), 2 * x, rtol=1e-8)


# numerical_jacobian

def test_numerical_jacobian_of_a_linear_map_is_its_matrix():
    rng = np.random.default_rng(7)
    W, x = rng.standard_normal((3, 5)), rng.standard_normal(5)
    J = numerical_jacobian(lambda v: W @ v, x)
    assert J.shape == (3, 5) and J.dtype == np.float64
    assert_close(J, W, rtol=1e-7, atol=1e-9)


def test_numerical_jacobian_of_an_elementwise_function_is_diagonal():
    x = np.random.default_rng(8).standard_normal(4)
    assert_close(numerical_jacobian(np.arctan, x), np.diag(1 / (1 + x**2)), rtol=1e-7, atol=1e-10)


def test_numerical_jacobian_of_a_composition_is_the_product_of_jacobians():
    def inner(v):  # R³ -> R³
        return np.array([v[0] * v[1], np.sin(v[2]), v[0] + v[2]])

    def inner_jacobian(v):
        return np.array([[v[1], v[0], 0.0], [0.0, 0.0, np.cos(v[2])], [1.0, 0.0, 1.0]])

    def outer(u):  # R³ -> R²
        return np.array([u[0] + u[1] ** 2, np.arctan(u[2])])

    def outer_jacobian(u):
        return np.array([[1.0, 2 * u[1], 0.0], [0.0, 0.0, 1 / (1 + u[2] ** 2)]])

    x = np.random.default_rng(9).standard_normal(3)
    expected = outer_jacobian(inner(x)) @ inner_jacobian(x)  # (2, 3)
    assert_close(numerical_jacobian(lambda v: outer(inner(v)), x), expected, rtol=1e-7, atol=1e-9)


def test_numerical_jacobian_is_a_central_difference():
    x, h = np.random.default_rng(10).standard_normal(3), 0.1
    assert_close(numerical_jacobian(lambda v: v**3, x, h=h), np.diag(3 * x**2 + h**2), rtol=1e-10, atol=1e-12)


def test_numerical_jacobian_flattens_inputs_and_outputs_in_c_order():
    X = np.random.default_rng(11).standard_normal((2, 3))

    def f(M):  # (2, 3) -> (2, 2)
        return np.array([[M[0, 1] ** 2, 3 * M[1, 2]], [np.sin(M[1, 0]), M[0, 2] - M[0, 0]]])

    # output i (flat, C order: [0, 0], [0, 1], [1, 0], [1, 1]) and input j (flat index of M[r, c]: 3 r + c)
    expected = np.zeros((4, 6))
    expected[0, 1] = 2 * X[0, 1]
    expected[1, 5] = 3.0
    expected[2, 3] = np.cos(X[1, 0])
    expected[3, 2], expected[3, 0] = 1.0, -1.0
    assert_close(numerical_jacobian(f, X), expected, rtol=1e-7, atol=1e-9)
    # A scalar output is a Jacobian with one row: the gradient, flattened.
    assert_close(numerical_jacobian(lambda M: np.sum(M**2), X), 2 * X.reshape(1, 6), rtol=1e-7, atol=1e-9)


def test_numerical_jacobian_copies_outputs_that_alias_its_input():
    # f returns its argument itself: f(x + h e_j) must be read before x is nudged again.
    x = np.random.default_rng(12).standard_normal(4)
    assert_close(numerical_jacobian(lambda v: v, x), np.eye(4), rtol=1e-8, atol=1e-9)


def test_numerical_jacobian_never_modifies_x_and_computes_in_float64():
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    snapshot = x.copy()
    changed = []

    def f(v):
        changed.append(not np.array_equal(x, snapshot) or v.dtype != np.float64)
        return v**2

    J = numerical_jacobian(f, x)
    assert not any(changed) and np.array_equal(x, snapshot)
    assert_close(J, np.diag(2 * snapshot.astype(np.float64)), rtol=1e-8, check_dtype=True)
    assert_close(numerical_jacobian(lambda v: v**2, np.array([1, 2])), np.diag([2.0, 4.0]), rtol=1e-8)
