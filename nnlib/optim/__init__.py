"""Optimizers, each in a module of its own: `SGD` (chapter 3) and `Adam` (chapter 5).

Each is imported when first used, so that `from nnlib.optim import SGD` loads SGD's module only.
Your exports of them (work/nnlib/optim/) come first, as for the rest of nnlib (and
NNLIB_FIRST's optim/ before them).
"""
import importlib

from nnlib import FIRST, YOURS

__path__[:0] = [str(folder / "optim") for folder in (*FIRST, YOURS)]
__all__ = ["SGD", "Adam"]
_MODULES = {"SGD": "nnlib.optim.sgd", "Adam": "nnlib.optim.adam"}


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'nnlib.optim' has no attribute {name!r}")
