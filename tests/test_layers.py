"""nnlib.layers: Linear and the activations, against finite differences in float64 on random shapes."""
import warnings

import numpy as np
import pytest

from nnlib.derivatives import numerical_gradient
from nnlib.gradcheck import gradcheck
from nnlib.layers import LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from nnlib.testing import assert_close

SHAPES = [(1, 1, 1), (1, 4, 3), (5, 2, 7), (6, 6, 6), (3, 8, 1)]  # (N, in_features, out_features)


def random_linear(seed: int, n_in: int, n_out: int, bias: bool = True) -> Linear:
    """A Linear layer with a random (nonzero) bias, so that every term of the forward pass matters."""
    layer = Linear(n_in, n_out, bias=bias, rng=seed)
    if bias:
        layer.bias.data = np.random.default_rng(seed + 100).standard_normal(n_out)
    return layer


# ---------------------------------------------------------------- Linear


def test_linear_forward_by_hand():
    layer = Linear(3, 2, rng=0)
    layer.weight.data = np.array([[1.0, -2.0], [0.5, 4.0], [-3.0, 1.0]])
    layer.bias.data = np.array([0.25, -1.0])
    X = np.array([[2.0, 0.0, 1.0], [0.0, -2.0, 0.5], [1.0, 1.0, 1.0]])
    # Row 0: 2 * [1, -2] + 1 * [-3, 1] + b. Row 1: -2 * [0.5, 4] + 0.5 * [-3, 1] + b. Row 2: the column sums + b.
    assert_close(layer(X), np.array([[-0.75, -4.0], [-2.25, -8.5], [-1.25, 2.0]]), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_linear_forward_is_affine_row_by_row_with_the_weights_rows_for_the_inputs_columns(seed):
    """Properties that pin the forward pass down: zero rows give the bias; row i of the identity gives row i of
    the weight plus the bias; each output row depends on its input row only; and the map is affine."""
    rng = np.random.default_rng(seed)
    for N, n_in, n_out in SHAPES:
        layer = random_linear(seed, n_in, n_out)
        W, b = layer.weight.data, layer.bias.data
        msg = f"Linear({n_in}, {n_out})"
        assert_close(layer(np.zeros((N, n_in))), np.tile(b, (N, 1)), rtol=1e-12, msg=f"{msg} of zeros: the bias")
        assert_close(layer(np.eye(n_in)), W + b, rtol=1e-12, atol=1e-15, msg=f"{msg} of the identity: W + b")
        X, Y, t = rng.standard_normal((N, n_in)), rng.standard_normal((N, n_in)), rng.uniform(-2, 2)
        out = layer(X)
        assert out.shape == (N, n_out), f"{msg} of shape {X.shape} gives shape {out.shape}"
        assert_close(np.concatenate([layer(X[n:n + 1]) for n in range(N)]), out, rtol=1e-12, atol=1e-14,
                     msg=f"{msg}: row by row")
        assert_close(layer(t * X + (1 - t) * Y), t * out + (1 - t) * layer(Y), rtol=1e-10, atol=1e-12,
                     msg=f"{msg}: affine, y(t X + (1 - t) Y) = t y(X) + (1 - t) y(Y)")


def test_linear_without_bias_has_only_a_weight():
    layer = Linear(4, 3, bias=False, rng=0)
    X = np.random.default_rng(1).standard_normal((5, 4))
    assert layer.bias is None, "Linear(bias=False) has no bias"
    assert [name for name, _ in layer.named_parameters()] == ["weight"], "only the weight is a parameter"
    with_zero_bias = Linear(4, 3, rng=0)  # the same weights, and a bias of zeros
    assert_close(layer(X), with_zero_bias(X), rtol=1e-12, msg="the output of a layer with a zero bias")
    dX = layer.backward(np.ones((5, 3)))
    assert_close(dX, with_zero_bias.backward(np.ones((5, 3))), rtol=1e-12, msg="dX of a layer with a zero bias")
    assert_close(layer.weight.grad, with_zero_bias.weight.grad, rtol=1e-12, msg="dW of a layer with a zero bias")


def linear_output(X, W, b):
    """The output of a Linear layer with weight W and bias b (None: no bias) on X."""
    layer = Linear(*W.shape, bias=b is not None, rng=0)
    layer.weight.data = W
    if b is not None:
        layer.bias.data = b
    return layer(X)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_match_finite_differences(seed, bias):
    rng = np.random.default_rng(seed)
    for N, n_in, n_out in SHAPES:
        layer = random_linear(seed, n_in, n_out, bias=bias)
        W = layer.weight.data.copy()
        b = layer.bias.data.copy() if bias else None
        X, G = rng.standard_normal((N, n_in)), rng.standard_normal((N, n_out))

        def L(X_, W_, b_):  # sum(G * y): its gradient with respect to y is G
            return np.sum(G * linear_output(X_, W_, b_))

        # L is affine in each of X, W and b: a central difference is exact but for rounding, even with a large step
        layer(X)
        dX = layer.backward(G)
        assert_close(dX, numerical_gradient(lambda v: L(v, W, b), X, h=0.5), rtol=1e-9, atol=1e-12, msg="dX")
        assert_close(layer.weight.grad, numerical_gradient(lambda v: L(X, v, b), W, h=0.5), rtol=1e-9, atol=1e-12,
                     msg="dW")
        if bias:
            assert_close(layer.bias.grad, numerical_gradient(lambda v: L(X, W, v), b, h=0.5), rtol=1e-9, atol=1e-12,
                         msg="db")
        assert gradcheck(layer, X, seed=seed)


def test_linear_backward_accumulates_parameter_gradients():
    rng = np.random.default_rng(0)
    layer = random_linear(0, 3, 4)
    X, G = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    layer(X)
    dX_first = layer.backward(G)
    weight_grad, bias_grad = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer(X)  # each backward uses what one forward saved: forward again, as PyTorch requires
    dX_second = layer.backward(G)
    assert_close(layer.weight.grad, 2 * weight_grad, rtol=1e-12, msg="two forward-backward passes: twice dW")
    assert_close(layer.bias.grad, 2 * bias_grad, rtol=1e-12, msg="two forward-backward passes: twice db")
    assert_close(dX_second, dX_first, rtol=1e-12, msg="dX does not accumulate")
    layer.zero_grad()
    assert_close(layer.weight.grad, np.zeros((3, 4)), msg="zero_grad")


def test_linear_initialization_is_he_normal_and_seeded():
    layer = Linear(500, 400, rng=0)
    assert layer.weight.data.shape == (500, 400), "the weight has shape (in_features, out_features)"
    assert abs(layer.weight.data.std() / np.sqrt(2 / 500) - 1) < 0.02, "He init: std sqrt(2 / in_features)"
    assert abs(layer.weight.data.mean()) < 0.002, "He init: mean 0"
    assert_close(layer.bias.data, np.zeros(400), msg="the bias starts at 0")
    assert_close(Linear(5, 3, rng=7).weight.data, Linear(5, 3, rng=np.random.default_rng(7)).weight.data,
                 rtol=0, msg="a seed and a Generator with that seed give the same weights")
    assert not np.allclose(Linear(5, 3, rng=7).weight.data, Linear(5, 3, rng=8).weight.data), \
        "different seeds give different weights"


def test_linear_shape_mismatch_names_both_shapes():
    layer = Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(3, 2\)"):
        layer(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        layer(np.ones(3))
    layer(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(5, 2\)"):
        layer.backward(np.ones((5, 3)))


def test_linear_backward_before_forward_says_so():
    with pytest.raises(RuntimeError, match="Linear.backward was called before forward"):
        Linear(3, 2, rng=0).backward(np.ones((4, 2)))


# ---------------------------------------------------------------- activations

ACTIVATIONS = {  # name: (module factory, forward written independently)
    "ReLU": (ReLU, lambda x: np.where(x > 0, x, 0.0)),
    "LeakyReLU": (LeakyReLU, lambda x: np.where(x > 0, x, 0.01 * x)),
    "LeakyReLU(0.3)": (lambda: LeakyReLU(0.3), lambda x: np.where(x > 0, x, 0.3 * x)),
    "Sigmoid": (Sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "Tanh": (Tanh, lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))),
}
ACTIVATION_SHAPES = [(1,), (7,), (3, 4), (2, 3, 5)]


def away_from_zero(rng, shape):
    """Random values with |x| in [0.05, 4]: no finite difference straddles a kink."""
    return rng.uniform(0.05, 4.0, shape) * rng.choice([-1.0, 1.0], shape)


def slope(forward, X, h=1e-3):
    """The derivative of an elementwise function at every entry of X, by a fourth-order central difference in
    float64 (error ~1e-13 here): precise enough to check a backward pass to ~1e-9."""
    return (8 * (forward(X + h) - forward(X - h)) - (forward(X + 2 * h) - forward(X - 2 * h))) / (12 * h)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward(name):
    make, forward = ACTIVATIONS[name]
    X = away_from_zero(np.random.default_rng(0), (4, 6))
    assert_close(make()(X), forward(X), rtol=1e-12, atol=1e-15, msg=f"{name} forward")


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("seed", range(3))
def test_activation_backward_matches_finite_differences(name, seed):
    make, forward = ACTIVATIONS[name]
    rng = np.random.default_rng(seed)
    for shape in ACTIVATION_SHAPES:
        X, G = away_from_zero(rng, shape), rng.standard_normal(shape)
        module = make()
        module(X)
        G_before = G.copy()
        dX = module.backward(G)
        assert_close(dX, numerical_gradient(lambda v: np.sum(G * forward(v)), X), rtol=1e-6, atol=1e-9,
                     msg=f"{name} backward on {shape}")
        assert_close(dX, G * slope(forward, X), rtol=1e-9, atol=1e-12,
                     msg=f"{name} backward against a fourth-order difference of g")
        assert_close(G, G_before, rtol=0, atol=0, msg="backward must not modify grad_output")
        assert gradcheck(make(), X, seed=seed)


@pytest.mark.parametrize("make, at_zero", [(ReLU, 0.0), (LeakyReLU, 0.01), (lambda: LeakyReLU(0.2), 0.2)])
def test_kink_convention_at_exactly_zero(make, at_zero):
    """PyTorch's convention: at x = 0 the slope is the one of the left side."""
    module = make()
    module(np.array([0.0, -0.0]))
    assert_close(module.backward(np.array([2.0, 2.0])), np.array([2 * at_zero, 2 * at_zero]), rtol=1e-12)
    assert gradcheck(make(), np.array([[0.0, 1.0, -2.0], [0.0, 3e-7, -3e-7]]))


@pytest.mark.parametrize("make", [Sigmoid, Tanh])
def test_saturating_activations_stay_finite_far_from_zero(make):
    X = np.array([-1000.0, -40.0, 40.0, 1000.0])
    module = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        out = module(X)
        dX = module.backward(np.ones(4))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dX)), f"{make.__name__} overflows"
    assert_close(dX, np.zeros(4), atol=1e-15, msg="the slope of a saturated unit is ~0")


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, Sigmoid, Tanh])
def test_activation_errors(make):
    with pytest.raises(RuntimeError, match="before forward"):
        make().backward(np.ones(3))
    module = make()
    module(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        module.backward(np.ones((3, 2)))


def test_linear_keeps_float32_end_to_end():
    """A float32 model stays float32 through forward and backward (MNIST trains in float32)."""
    rng = np.random.default_rng(0)
    layer = Linear(5, 3, rng=rng, dtype=np.float32)
    assert layer.weight.data.dtype == np.float32 and layer.bias.data.dtype == np.float32
    X = rng.standard_normal((4, 5)).astype(np.float32)
    y = layer(X)
    grad_X = layer.backward(np.ones_like(y))
    assert y.dtype == np.float32 and grad_X.dtype == np.float32
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    reference = Linear(5, 3, rng=np.random.default_rng(0))
    assert np.allclose(layer.weight.data, reference.weight.data.astype(np.float32))


def test_linear_without_input_grad_skips_dx_but_keeps_parameter_grads():
    rng = np.random.default_rng(1)
    X, grad_y = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    full, first = Linear(4, 3, rng=2), Linear(4, 3, rng=2, input_grad=False)
    full(X)
    first(X)
    assert full.backward(grad_y) is not None
    assert first.backward(grad_y) is None, "input_grad=False: backward returns None"
    assert_close(first.weight.grad, full.weight.grad, msg="weight gradient")
    assert_close(first.bias.grad, full.bias.grad, msg="bias gradient")
