"""Optimizers: their base class `Optimizer`, here, and one module each for `SGD` (chapter 3) and
`Adam` (chapter 5); `lr_scheduler` holds the learning-rate schedules (chapter 5's `one_cycle_lr`),
as in PyTorch's torch.optim.

Each optimizer is imported when first used, so that `from nnlib.optim import SGD` loads SGD's module
only. Your exports of them (work/nnlib/optim/) come first, as for the rest of nnlib (and
NNLIB_FIRST's optim/ before them).
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from nnlib import FIRST, YOURS

if TYPE_CHECKING:  # (chapter 3 writes Parameter; its notebook runs without nnlib.module)
    from nnlib.module import Parameter

__path__[:0] = [str(folder / "optim") for folder in (*FIRST, YOURS)]
__all__ = ["Optimizer", "SGD", "Adam"]
_MODULES = {"SGD": "nnlib.optim.sgd", "Adam": "nnlib.optim.adam"}


class Optimizer:
    """The base class of the optimizers, as PyTorch's torch.optim.Optimizer: it keeps the parameters in
    self.params (a list) and the learning rate in self.lr, checks them, and zeroes the gradients.

    A subclass adds its hyperparameters and state in __init__ (after super().__init__(params, lr), checking
    them with self.require) and writes step(). self.lr may change between steps (a learning-rate schedule).

    Args:
        params: the Parameters to optimize, e.g. model.parameters(): each holds its array in .data and
            its gradient in .grad.
        lr: the learning rate, >= 0.
    """

    def __init__(self, params: Iterable[Parameter], lr: float):
        name = type(self).__name__
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name} got an empty list of parameters")
        for number, p in enumerate(self.params):
            if not isinstance(getattr(p, "data", None), np.ndarray):
                raise TypeError(f"{name}: parameter {number} is a {type(p).__name__}, not a Parameter "
                                "(an object holding its array in .data and its gradient in .grad)")
        self.require(isinstance(lr, (int, float, np.number)) and lr >= 0, "lr >= 0", lr=lr)
        self.lr = lr

    def require(self, condition: bool, rule: str, **values: object) -> None:
        """Raise a ValueError naming the optimizer, the rule and the values unless condition holds, e.g.
        self.require(momentum >= 0, "momentum >= 0", momentum=momentum)."""
        if not condition:
            got = ", ".join(f"{key}={value!r}" for key, value in values.items())
            raise ValueError(f"{type(self).__name__} needs {rule}, got {got}")

    def step(self) -> None:
        """Update every parameter from its current .grad (each optimizer writes its own)."""
        raise NotImplementedError(f"{type(self).__name__} has no step(): an Optimizer subclass writes it")

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zeros."""
        for p in self.params:
            p.grad = np.zeros_like(p.data)


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'nnlib.optim' has no attribute {name!r}")
