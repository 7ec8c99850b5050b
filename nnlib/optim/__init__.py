"""Optimizers, each in a module of its own: `SGD` (chapter 3) and `Adam` (chapter 5)."""
from nnlib.optim.adam import Adam
from nnlib.optim.sgd import SGD

__all__ = ["SGD", "Adam"]
