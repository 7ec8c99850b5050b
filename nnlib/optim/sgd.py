# Generated from solutions/03_backprop/backprop.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Stochastic gradient descent, with momentum."""
from collections.abc import Iterable

import numpy as np

from nnlib.module import Parameter


class SGD:
    """Stochastic gradient descent with momentum, as in PyTorch.

    For each parameter p, with a velocity v of p's shape (zeros at the start), step() does
        v <- momentum * v + p.grad
        p.data <- p.data - lr * v
    With momentum=0 this is plain gradient descent: p.data -= lr * p.grad.

    Args:
        params: the Parameters to optimize, e.g. model.parameters().
        lr: the learning rate, >= 0.
        momentum: the decay factor of the velocity, >= 0 (0: no momentum).
    """

    def __init__(self, params: Iterable[Parameter], lr: float, momentum: float = 0.0):
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got an empty list of parameters")
        if lr < 0 or momentum < 0:
            raise ValueError(f"SGD needs lr >= 0 and momentum >= 0, got lr={lr} and momentum={momentum}")
        self.lr, self.momentum = lr, momentum
        self.velocities = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        """Update every parameter (and its velocity) from its current .grad."""
        for p, v in zip(self.params, self.velocities):
            v *= self.momentum
            v += p.grad
            p.data -= self.lr * v

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zeros."""
        for p in self.params:
            p.grad = np.zeros_like(p.data)
