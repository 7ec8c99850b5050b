"""nnlib.optim.sgd: SGD with momentum against its recurrence, computed by hand and in a loop."""
import numpy as np
import pytest

from nnlib.module import Parameter
from nnlib.optim import SGD
from nnlib.testing import assert_close


def test_momentum_by_hand():
    # v = 1, 1.9, 2.71 and p = 1 - 0.1 v, step by step: 0.9, 0.71, 0.439.
    p = Parameter(np.array([1.0]))
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    for expected in [0.9, 0.71, 0.439]:
        p.grad = np.array([1.0])
        optimizer.step()
        assert_close(p.data, np.array([expected]), rtol=1e-12)


def test_without_momentum_a_step_is_p_minus_lr_grad():
    p = Parameter(np.array([[1.0, -2.0], [0.5, 0.0]]))
    grad = np.array([[4.0, -4.0], [1.0, 2.0]])
    p.grad = grad.copy()
    SGD([p], lr=0.5).step()
    assert_close(p.data, np.array([[-1.0, 0.0], [0.0, -1.0]]), rtol=1e-12)
    assert_close(p.grad, grad, rtol=0, atol=0, msg="step does not change the gradient")


@pytest.mark.parametrize("lr, momentum", [(0.1, 0.9), (0.03, 0.5), (0.2, 0.0), (0.0, 0.9)])
def test_momentum_recurrence_over_several_steps(lr, momentum):
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (4,), (2, 1, 3)]
    params = [Parameter(rng.standard_normal(shape)) for shape in shapes]
    values = [p.data.copy() for p in params]
    velocities = [np.zeros(shape) for shape in shapes]
    optimizer = SGD(params, lr=lr, momentum=momentum)
    for _ in range(6):
        grads = [rng.standard_normal(shape) for shape in shapes]
        for p, g in zip(params, grads):
            p.grad = g.copy()
        optimizer.step()
        for k, g in enumerate(grads):
            velocities[k] = momentum * velocities[k] + g
            values[k] = values[k] - lr * velocities[k]
            assert_close(params[k].data, values[k], rtol=1e-12, atol=1e-14, msg=f"parameter {k}")


def test_zero_grad_resets_the_gradients_of_its_parameters():
    params = [Parameter(np.ones(3)), Parameter(np.ones((2, 2)))]
    for p in params:
        p.grad += 7.0
    SGD(params, lr=0.1).zero_grad()
    for p in params:
        assert_close(p.grad, np.zeros_like(p.data), atol=0)


def test_float32_parameters_stay_float32():
    p = Parameter(np.ones(3, dtype=np.float32))
    p.grad = np.ones(3, dtype=np.float32)
    SGD([p], lr=0.1, momentum=0.9).step()
    assert p.data.dtype == np.float32, "a step must not change the dtype"


def test_momentum_reaches_the_minimum_of_a_narrow_valley_faster():
    curvature = np.array([1.0, 20.0])

    def final_value(momentum):
        p = Parameter(np.array([-4.0, 1.5]))
        optimizer = SGD([p], lr=0.04, momentum=momentum)
        for _ in range(40):
            optimizer.zero_grad()
            p.grad += curvature * p.data
            optimizer.step()
        return 0.5 * np.sum(curvature * p.data**2)

    assert final_value(0.7) < 1e-3 * final_value(0.0)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD([Parameter(np.ones(1))], lr=-0.1)
    with pytest.raises(ValueError, match="momentum"):
        SGD([Parameter(np.ones(1))], lr=0.1, momentum=-0.5)
