"""nnlib.optim.Optimizer, the optimizers' base class: what it checks, zero_grad, and that a subclass writes step only."""
import numpy as np
import pytest

from nnlib.module import Parameter
from nnlib.optim import SGD, Adam, Optimizer
from nnlib.testing import assert_close


class SignDescent(Optimizer):
    """A subclass that writes step() and nothing else: p.data -= lr * sign(p.grad)."""

    def step(self) -> None:
        for p in self.params:
            p.data -= self.lr * np.sign(p.grad)


def test_a_subclass_writes_step_only_and_gets_the_rest():
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal((3, 2))), Parameter(rng.standard_normal(4))]
    before = [p.data.copy() for p in params]
    optimizer = SignDescent(iter(params), lr=0.25)  # any iterable: kept as a list
    assert optimizer.params == params and optimizer.lr == 0.25
    grads = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    for p, g in zip(params, grads):
        p.grad += g
    optimizer.step()
    for p, value, g in zip(params, before, grads):
        assert_close(p.data, value - 0.25 * np.sign(g), rtol=1e-12)
    optimizer.zero_grad()
    for p in params:
        assert_close(p.grad, np.zeros_like(p.data), atol=0)
        assert p.grad.dtype == p.data.dtype and p.grad.shape == p.data.shape


def test_zero_grad_keeps_each_parameters_dtype():
    params = [Parameter(np.ones(3, dtype=np.float32)), Parameter(np.ones((2, 2)))]
    for p in params:
        p.grad = p.grad + 7
    SignDescent(params, lr=0.1).zero_grad()
    assert [p.grad.dtype for p in params] == [np.float32, np.float64]
    assert all(not p.grad.any() for p in params)


def test_sgd_and_adam_are_optimizers_that_inherit_zero_grad():
    for optimizer in (SGD, Adam):
        assert issubclass(optimizer, Optimizer)
        assert "zero_grad" not in vars(optimizer) and "step" in vars(optimizer)


def test_the_base_class_has_no_step_of_its_own():
    with pytest.raises(NotImplementedError, match="Optimizer has no step"):
        Optimizer([Parameter(np.ones(2))], lr=0.1).step()


def test_it_refuses_what_is_not_a_parameter_list_naming_the_culprit():
    with pytest.raises(ValueError, match="SignDescent got an empty list of parameters"):
        SignDescent([], lr=0.1)
    with pytest.raises(TypeError, match=r"SignDescent: parameter 1 is a ndarray, not a Parameter"):
        SignDescent([Parameter(np.ones(2)), np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="parameter 0 is a float"):
        SignDescent([1.5], lr=0.1)


@pytest.mark.parametrize("lr", [-0.1, float("nan"), "0.1", None])
def test_it_refuses_a_learning_rate_that_is_not_a_number_at_least_0(lr):
    with pytest.raises(ValueError, match=rf"SignDescent needs lr >= 0, got lr={lr!r}"):
        SignDescent([Parameter(np.ones(2))], lr=lr)


def test_require_names_the_optimizer_the_rule_and_the_values():
    optimizer = SignDescent([Parameter(np.ones(2))], lr=0)
    optimizer.require(True, "anything", x=1)
    with pytest.raises(ValueError, match=r"^SignDescent needs a in \[0, 1\), got a=1.5, b=\(0.9, 2\)$"):
        optimizer.require(False, "a in [0, 1)", a=1.5, b=(0.9, 2))
