"""nnlib.optim.adam: Adam against its update rule recomputed in float64, PyTorch's defaults, and a quadratic."""
import inspect
import math

import numpy as np
import pytest

from nnlib.module import Parameter
from nnlib.optim import Adam
from nnlib.testing import assert_close


def adam_reference(starts, grads_per_step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """Adam's update rule (Kingma and Ba, Algorithm 1, with PyTorch's L2 weight decay), number by number in
    float64: the values of every parameter after each step."""
    values = [np.array(x, dtype=np.float64) for x in starts]
    m = [np.zeros_like(x) for x in values]
    v = [np.zeros_like(x) for x in values]
    history = []
    for t, grads in enumerate(grads_per_step, start=1):
        for k, grad in enumerate(grads):
            for i in np.ndindex(values[k].shape):
                g = float(grad[i]) + weight_decay * float(values[k][i])
                m[k][i] = betas[0] * m[k][i] + (1.0 - betas[0]) * g
                v[k][i] = betas[1] * v[k][i] + (1.0 - betas[1]) * g * g
                m_hat = m[k][i] / (1.0 - betas[0] ** t)
                v_hat = v[k][i] / (1.0 - betas[1] ** t)
                values[k][i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
        history.append([x.copy() for x in values])
    return history


def run_adam(starts, grads_per_step, **options):
    """nnlib's Adam on the same parameters and gradients: the values after each step, and the final grads."""
    params = [Parameter(x.copy()) for x in starts]
    optimizer = Adam(params, **options)
    history = []
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = g.copy()
        optimizer.step()
        for p, g in zip(params, grads):
            assert_close(p.grad, g, rtol=0, atol=0, msg="step must not change p.grad")
        history.append([p.data.copy() for p in params])
    return history


@pytest.mark.parametrize("options", [
    {},  # PyTorch's defaults
    {"weight_decay": 0.1},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.3, "betas": (0.0, 0.5), "eps": 0.1, "weight_decay": 2.0},
])
def test_steps_follow_the_update_rule(options):
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (5,), (2, 1, 3)]
    starts = [rng.standard_normal(shape) for shape in shapes]
    # gradients of very different scales, and signs that change from step to step
    grads = [[rng.standard_normal(shape) * scale for shape, scale in zip(shapes, (1e-4, 1.0, 1e3))]
             for _ in range(10)]
    expected = adam_reference(starts, grads, **options)
    for step, (got, want) in enumerate(zip(run_adam(starts, grads, **options), expected), start=1):
        for k in range(len(shapes)):
            assert_close(got[k], want[k], rtol=1e-10, atol=1e-13, msg=f"parameter {k} after step {step}")


def test_defaults_are_pytorchs():
    defaults = {name: p.default for name, p in inspect.signature(Adam).parameters.items()}
    assert defaults["lr"] == 1e-3 and defaults["betas"] == (0.9, 0.999)
    assert defaults["eps"] == 1e-8 and defaults["weight_decay"] == 0.0


def test_bias_correction_makes_a_constant_gradient_move_by_lr_at_every_step():
    # With g constant, m_hat = g and v_hat = g**2 exactly at every step, so each step is lr * g / (|g| + eps).
    # Without bias correction the first steps would be sqrt(1 - beta2) / (1 - beta1) ~ 0.32 times as large.
    g = np.array([2.0, -0.5, 1e-3])
    p = Parameter(np.zeros(3))
    optimizer = Adam([p], lr=0.01)
    for t in range(1, 6):
        p.grad = g.copy()
        optimizer.step()
        assert_close(p.data, -t * 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-9, msg=f"after {t} steps")


def test_float32_parameters_stay_float32_and_match_float64():
    rng = np.random.default_rng(1)
    start = rng.standard_normal((6, 5)).astype(np.float32)
    grads = [[rng.standard_normal((6, 5)).astype(np.float32)] for _ in range(5)]
    expected = adam_reference([start.astype(np.float64)], grads, lr=0.01)
    for got, want in zip(run_adam([start], grads, lr=0.01), expected):
        assert got[0].dtype == np.float32, "a step must not change the dtype"
        assert_close(got[0], want[0], rtol=1e-5, atol=1e-6)


def test_each_optimizer_counts_its_own_steps():
    a, b = Parameter(np.array([0.0])), Parameter(np.array([0.0]))
    first, second = Adam([a], lr=0.1), Adam([b], lr=0.1)
    for g in (1.0, -3.0, 0.5):
        a.grad = np.array([g])
        first.step()
    b.grad = np.array([4.0])
    second.step()
    assert_close(b.data, np.array([-0.1 * 4.0 / (4.0 + 1e-8)]), rtol=1e-12, msg="a fresh optimizer's first step")
    assert first.t == 3 and second.t == 1


def test_zero_grad_resets_the_gradients():
    params = [Parameter(np.ones((2, 3))), Parameter(np.ones(4))]
    for p in params:
        p.grad += 5.0
    Adam(params).zero_grad()
    for p in params:
        assert_close(p.grad, np.zeros_like(p.data), atol=0)


def test_converges_on_an_ill_conditioned_quadratic():
    # f(p) = sum(c * (p - target)**2) / 2 with curvatures from 1e-2 to 1e2: Adam's per-coordinate step size
    # makes the flat and the steep directions converge alike.
    curvature = np.array([1e-2, 1e-1, 1.0, 10.0, 100.0])
    target = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    p = Parameter(np.zeros(5))
    optimizer = Adam([p], lr=0.05)
    for step in range(3000):
        optimizer.lr = 0.05 * (1 - step / 3000)  # decaying, so that it settles instead of hovering around
        optimizer.zero_grad()
        p.grad += curvature * (p.data - target)
        optimizer.step()
    assert_close(p.data, target, atol=1e-2, rtol=0, msg="Adam's solution of the quadratic")


def test_invalid_arguments():
    one = [Parameter(np.ones(1))]
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    for options in ({"lr": -1e-3}, {"eps": -1.0}, {"weight_decay": -0.1}, {"betas": (1.0, 0.999)},
                    {"betas": (0.9, -0.1)}):
        with pytest.raises(ValueError, match="Adam needs"):
            Adam(one, **options)
