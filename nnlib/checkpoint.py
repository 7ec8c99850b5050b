# Generated from solutions/05_mnist/mnist.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Saving a model's parameters to a file, and loading them back."""
from pathlib import Path

import numpy as np

from nnlib.module import Module


def save_parameters(model: Module, path: str | Path) -> None:
    """Save a model's parameters to a .npz file, each under its name from model.named_parameters().

    Args:
        model: the Module whose parameters to save.
        path: the file to write (written as given: no .npz suffix is added).
    """
    arrays = {name: p.data for name, p in model.named_parameters()}
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def load_parameters(model: Module, path: str | Path) -> None:
    """Load parameters saved by save_parameters into a model of the same architecture, in place.

    Every parameter of the model must be in the file, under the same name and with the same shape; the values
    are copied into the existing arrays (cast to their dtype), so an optimizer built on the model keeps working.
    Nothing is changed unless everything matches.

    Args:
        model: the Module to load into.
        path: a file written by save_parameters.
    Raises:
        FileNotFoundError: there is no file at path.
        ValueError: the names of the saved parameters are not the model's (naming the missing and the unexpected
            ones), or a shape differs (naming the parameter and both shapes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_parameters: no saved parameters at {path}")
    with np.load(path, allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in saved.files}
    params = dict(model.named_parameters())
    missing, unexpected = sorted(params.keys() - arrays.keys()), sorted(arrays.keys() - params.keys())
    if missing or unexpected:
        raise ValueError(f"load_parameters: {path} does not hold this model's parameters: missing {missing}, "
                         f"unexpected {unexpected}")
    for name, p in params.items():
        if arrays[name].shape != p.data.shape:
            raise ValueError(f"load_parameters: parameter '{name}' has shape {arrays[name].shape} in {path}, "
                             f"but shape {p.data.shape} in the model")
    for name, p in params.items():
        p.data[...] = arrays[name]
