# Generated from solutions/03_backprop/backprop.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""A training loop for any model, loss and optimizer: fit."""
import numpy as np

from nnlib.module import Module
from nnlib.optim import Optimizer


def fit(model: Module, loss_fn: Module, optimizer: Optimizer, X: np.ndarray, y: np.ndarray, *,
        batch_size: int, num_epochs: int, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
        rng: np.random.Generator | int | None = None) -> dict[str, list[float]]:
    """Train a model with mini-batch gradient descent; return the loss of every epoch.

    Every epoch shuffles the examples, then for each mini-batch of batch_size examples (the last one may be
    smaller): optimizer.zero_grad(), y_hat = model(X_batch), loss = loss_fn(y_hat, y_batch),
    model.backward(loss_fn.backward()), optimizer.step().

    Args:
        model: a Module that maps X[batch] (B, ...) to predictions.
        loss_fn: a loss module: loss_fn(y_hat, y) -> float, and backward() -> dL/dy_hat.
        optimizer: updates the model's parameters: step() and zero_grad(), e.g. SGD(model.parameters(), lr=0.1).
        X: training inputs, shape (N, ...): one example per row.
        y: training targets, shape (N, ...).
        batch_size: the number of examples per mini-batch.
        num_epochs: the number of passes over the training set.
        X_val, y_val: a validation set (both or neither), shapes (N_val, ...).
        rng: a numpy Generator or a seed for the shuffling (None: seed 0, so that runs repeat).

    Returns:
        {"train_loss": [...], "val_loss": [...]}, one float per epoch each. train_loss is the mean of the
        epoch's mini-batch losses, weighted by their sizes; val_loss is the loss on the whole validation set
        after the epoch ([] without a validation set).
    """
    if len(X) != len(y):
        raise ValueError(f"fit: X of shape {np.shape(X)} and y of shape {np.shape(y)} must have as many rows")
    if (X_val is None) != (y_val is None):
        raise ValueError("fit: give both X_val and y_val, or neither")
    if X_val is not None and len(X_val) != len(y_val):
        raise ValueError(f"fit: X_val of shape {np.shape(X_val)} and y_val of shape {np.shape(y_val)} "
                         "must have as many rows")
    rng = np.random.default_rng(0 if rng is None else rng)
    history = {"train_loss": [], "val_loss": []}
    for _ in range(num_epochs):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X[batch]), y[batch])
            model.backward(loss_fn.backward())
            optimizer.step()
            total += loss * len(batch)
        history["train_loss"].append(total / len(X))
        if X_val is not None:
            history["val_loss"].append(float(loss_fn(model(X_val), y_val)))
    return history
