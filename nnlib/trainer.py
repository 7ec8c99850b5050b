# Generated from solutions/05_mnist/mnist.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Training a classifier: one training step, evaluation, and the one-cycle learning-rate schedule."""
import math

import numpy as np

from nnlib.metrics import accuracy
from nnlib.module import Module
from nnlib.training import Optimizer


def evaluate(model: Module, loss_fn: Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The loss and the accuracy of a classifier on a data set, in one forward pass (no update).

    Args:
        model: a classifier: X (N, ...) -> class scores (N, C), e.g. log-probabilities.
        loss_fn: loss_fn(y_hat, y) -> float, e.g. NLLLoss().
        X: inputs (N, ...); y: integer labels (N,).
    Returns:
        (loss, accuracy), two floats.
    """
    y_hat = model(X)
    return float(loss_fn(y_hat, y)), accuracy(y_hat, y)


def train_step(model: Module, loss_fn: Module, optimizer: Optimizer, X: np.ndarray, y: np.ndarray) -> float:
    """One step of mini-batch training on the batch (X, y): every parameter updated once, from this batch's loss.

    Args:
        model: the Module to train: X (B, ...) -> y_hat.
        loss_fn: a loss module: loss_fn(y_hat, y) -> float, and backward() -> dL/dy_hat.
        optimizer: updates the model's parameters from their .grad: step() and zero_grad(), e.g. SGD or Adam.
        X: a mini-batch of inputs, (B, ...).
        y: its targets, e.g. (B,) integer labels.
    Returns:
        the batch's loss, a float, computed before the update. The optimizer's step uses the gradient of this
        loss only, whatever the parameters' .grad held before the call.
    """
    optimizer.zero_grad()
    y_hat = model(X)
    loss = loss_fn(y_hat, y)
    model.backward(loss_fn.backward())
    optimizer.step()
    return float(loss)


def one_cycle_lr(step: int, total_steps: int, max_lr: float, pct_start: float = 0.15) -> float:
    """The learning rate of a one-cycle schedule at a step: linear warm-up, then cosine annealing to 0.

    With W = ceil(pct_start * total_steps) warm-up steps, the learning rate rises linearly to max_lr over steps
    0..W-1 (max_lr * (step + 1) / W), then falls from max_lr towards 0 along half a cosine:
    max_lr * (1 + cos(pi * (step - W) / (total_steps - W))) / 2.

    Args:
        step: the step about to be taken, 0 <= step < total_steps.
        total_steps: the number of steps of the whole training run.
        max_lr: the largest learning rate, reached at the end of the warm-up.
        pct_start: the fraction of the steps spent warming up, in [0, 1).
    Returns:
        the learning rate, a float in (0, max_lr].
    """
    if not 0 <= step < total_steps:
        raise ValueError(f"one_cycle_lr: step must be in [0, {total_steps}), got {step}")
    if not 0 <= pct_start < 1:
        raise ValueError(f"one_cycle_lr: pct_start must be in [0, 1), got {pct_start}")
    warmup = math.ceil(pct_start * total_steps)
    if step < warmup:
        return max_lr * (step + 1) / warmup
    return max_lr * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total_steps - warmup)))
