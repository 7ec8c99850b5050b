# Generated from solutions/05_mnist/mnist.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""One step of training, and the evaluation of a classifier: train_step, evaluate (the loop around them is
the caller's; chapter 3's fit, in nnlib.training, is a whole loop)."""
import numpy as np

from nnlib.metrics import accuracy
from nnlib.module import Module
from nnlib.optim import Optimizer


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
