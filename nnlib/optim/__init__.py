"""Optimizers, each in a module of its own: `SGD` (chapter 3)."""
from nnlib.optim.sgd import SGD

__all__ = ["SGD"]
