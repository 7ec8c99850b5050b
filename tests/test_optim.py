"""nnlib.optim.sgd: SGD with momentum against PyTorch's torch.optim.SGD, on one number and on arrays."""
import numpy as np
import pytest

from nnlib.module import Parameter
from nnlib.optim import SGD
from nnlib.testing import assert_close


def test_momentum_by_hand():
    # lr 0.1, momentum 0.9, a gradient of 1 at every step, from 1: the numbers of chapter 3's exercise.
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


GRADS = [1.0, -2.0, 0.5, 3.0, -1.5, 0.25]  # the gradient at steps 1 to 6, of a parameter that starts at 1

PYTORCH = {  # (lr, momentum): the parameter after each step, as torch.optim.SGD(lr=lr, momentum=momentum) gives
    (0.1, 0.9): [0.9, 1.01, 1.059, 0.8031, 0.72279, 0.625511],
    (0.03, 0.5): [0.97, 1.015, 1.0225, 0.93625, 0.938125, 0.9315625],
    (0.2, 0.0): [0.8, 1.2, 1.1, 0.5, 0.8, 0.75],
    (0.0, 0.9): [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
}


@pytest.mark.parametrize("lr, momentum", PYTORCH)
def test_steps_with_changing_gradients_match_pytorch(lr, momentum):
    p = Parameter(np.array([1.0]))
    optimizer = SGD([p], lr=lr, momentum=momentum)
    for step, (grad, expected) in enumerate(zip(GRADS, PYTORCH[lr, momentum]), start=1):
        p.grad = np.array([grad])
        optimizer.step()
        assert_close(p.data, np.array([expected]), rtol=1e-12, atol=1e-15, msg=f"after step {step}")
        assert_close(p.grad, np.array([grad]), rtol=0, atol=0, msg="step does not change the gradient")


@pytest.mark.parametrize("lr, momentum", PYTORCH)
def test_every_entry_of_every_parameter_moves_on_its_own(lr, momentum):
    """Parameters of any shape, several at once: each entry takes the steps that a parameter of one entry, with
    the same gradients and an optimizer of its own, takes (each entry has a velocity of its own)."""
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (4,), (2, 1, 3)]
    params = [Parameter(rng.standard_normal(shape)) for shape in shapes]
    entries = [[Parameter(np.array([value])) for value in p.data.ravel()] for p in params]
    optimizer = SGD(params, lr=lr, momentum=momentum)
    alone = [SGD([entry], lr=lr, momentum=momentum) for row in entries for entry in row]
    for step in range(1, 7):
        for p, row in zip(params, entries):
            p.grad = rng.standard_normal(p.data.shape)
            for entry, grad in zip(row, p.grad.ravel()):
                entry.grad = np.array([grad])
        optimizer.step()
        for single in alone:
            single.step()
        for k, (p, row) in enumerate(zip(params, entries)):
            assert_close(p.data, np.concatenate([entry.data for entry in row]).reshape(p.data.shape), rtol=1e-12,
                         atol=1e-14, msg=f"parameter {k} after step {step}")


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
