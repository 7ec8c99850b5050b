"""nnlib.steps: a training step against central differences and an optimizer of its own, and evaluation."""
import copy

import numpy as np

from nnlib.classification import LogSoftmax, NLLLoss, nll_loss
from nnlib.derivatives import numerical_gradient
from nnlib.layers import Linear, ReLU
from nnlib.metrics import accuracy
from nnlib.module import Parameter, Sequential
from nnlib.optim import SGD, Adam
from nnlib.testing import assert_close
from nnlib.steps import evaluate, train_step


def loss_gradient(model, X, y, p):
    """dL/dp for a parameter p of the model, L its NLL loss on (X, y), by central differences in float64."""
    def L(value):
        original, p.data = p.data, value
        try:
            return evaluate(model, NLLLoss(), X, y)[0]
        finally:
            p.data = original
    return numerical_gradient(L, p.data)


def small_model(rng):
    model = Sequential(Linear(6, 9, rng=rng), ReLU(), Linear(9, 4, rng=rng), LogSoftmax())
    for p in model.parameters():
        p.data = p.data + rng.normal(scale=0.1, size=p.data.shape)
    return model


def test_train_step_is_zero_grad_forward_backward_update():
    """After each step: the loss is the one before the update, every .grad is dL/dp at the parameters before
    the update (and nothing else: stale gradients must not leak in), and the parameters have moved as an SGD of
    their own, given those gradients, moves copies of them."""
    rng = np.random.default_rng(0)
    model = small_model(rng)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    copies = [Parameter(p.data.copy()) for p in model.parameters()]
    reference = SGD(copies, lr=0.1, momentum=0.9)
    for step in range(4):
        for p in model.parameters():
            p.grad = rng.normal(size=p.data.shape)  # stale gradients must not leak into the step
        X, y = rng.normal(size=(7, 6)), rng.integers(0, 4, 7)
        before = copy.deepcopy(model)
        expected_loss = evaluate(before, NLLLoss(), X, y)[0]
        loss = train_step(model, NLLLoss(), optimizer, X, y)
        assert isinstance(loss, float)
        assert_close(loss, expected_loss, rtol=1e-12, msg=f"loss of step {step}")
        for k, (p, p_before, c) in enumerate(zip(model.parameters(), before.parameters(), copies)):
            assert_close(p.grad, loss_gradient(before, X, y, p_before), rtol=1e-6, atol=1e-8,
                         msg=f"gradient {k} after step {step}")
            c.grad = p.grad.copy()
        reference.step()
        for k, (p, c) in enumerate(zip(model.parameters(), copies)):
            assert_close(p.data, c.data, rtol=1e-12, atol=1e-15, msg=f"parameter {k} after step {step}")


def test_train_step_works_with_adam_and_float32():
    rng = np.random.default_rng(1)
    model = Sequential(Linear(6, 64, rng=rng, dtype=np.float32), ReLU(), Linear(64, 4, rng=rng, dtype=np.float32),
                       LogSoftmax())
    X, y = rng.normal(size=(32, 6)).astype(np.float32), rng.integers(0, 4, 32)
    optimizer = Adam(model.parameters(), lr=0.01)
    losses = [train_step(model, NLLLoss(), optimizer, X, y) for _ in range(200)]
    assert losses[-1] < 0.1 * losses[0], "200 Adam steps on one batch of 32 must fit it"
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())


def test_evaluate_gives_the_loss_and_the_accuracy_and_changes_nothing():
    rng = np.random.default_rng(2)
    model = small_model(rng)
    X, y = rng.normal(size=(50, 6)), rng.integers(0, 4, 50)
    before = [p.data.copy() for p in model.parameters()]
    loss, acc = evaluate(model, NLLLoss(), X, y)
    log_probs = model(X)
    assert_close(loss, nll_loss(log_probs, y), rtol=1e-12)
    assert_close(acc, accuracy(log_probs, y), rtol=1e-12)
    for p, value in zip(model.parameters(), before):
        assert_close(p.data, value, rtol=0, atol=0)
