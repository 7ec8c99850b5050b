# Generated from solutions/03_backprop/backprop.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Stochastic gradient descent, with momentum."""
from collections.abc import Iterable

import numpy as np

from nnlib.module import Parameter
from nnlib.optim import Optimizer


class SGD(Optimizer):
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
        super().__init__(params, lr)  # self.params and self.lr, checked
        self.require(momentum >= 0, "momentum >= 0", momentum=momentum)
        self.momentum = momentum
        self.velocities = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        """Update every parameter (and its velocity) from its current .grad."""
        for p, v in zip(self.params, self.velocities):
            v *= self.momentum
            v += p.grad
            p.data -= self.lr * v
