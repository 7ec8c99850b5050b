# Generated from solutions/02_autograd/autograd.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Neurons, layers and multi-layer perceptrons made of scalar `Value`s (micrograd's nn.py)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnlib.engine import Value


_default_rng = np.random.default_rng(0)
NONLINEARITIES = ("tanh", "relu", "linear")


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from a Generator (used as is), a seed, or None (this module's own seeded generator)."""
    return _default_rng if rng is None else np.random.default_rng(rng)


class Module:
    """The base of Neuron, Layer and MLP: a model whose trainable parameters are scalar Values.

    Not to be confused with chapter 3's nnlib.module.Module, the base of layers of numpy arrays.
    """

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0 (gradients accumulate over backward() calls)."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The trainable Values of this module."""
        return []


class Neuron(Module):
    """One neuron: act(w · x + b) with nin weights w (uniform in [-1, 1] at first) and a bias b (0 at first).

    Args:
        nin: the number of inputs.
        nonlin: the activation: 'tanh', 'relu', or 'linear' (none).
        rng: a numpy Generator or a seed for the initial weights; None uses this module's own generator,
            seeded with 0 (a fresh Python process always makes the same models).
    """

    def __init__(self, nin: int, nonlin: str = "tanh", rng: np.random.Generator | int | None = None):
        if nonlin not in NONLINEARITIES:
            raise ValueError(f"nonlin must be one of {NONLINEARITIES}, not {nonlin!r}")
        self.w = [Value(w) for w in _generator(rng).uniform(-1.0, 1.0, size=nin).tolist()]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | float]) -> Value:
        """The neuron's output for one input x, a sequence of nin numbers or Values."""
        if len(x) != len(self.w):
            raise ValueError(f"this neuron takes {len(self.w)} inputs, got {len(x)}")
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.nonlin == "tanh":
            return act.tanh()
        if self.nonlin == "relu":
            return act.relu()
        return act

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, nonlin={self.nonlin!r})"


class Layer(Module):
    """nout neurons that all see the same nin inputs.

    Args:
        nin: the number of inputs.
        nout: the number of neurons, which is the number of outputs.
        nonlin: the activation of every neuron ('tanh', 'relu' or 'linear').
        rng: a numpy Generator or a seed for the initial weights; None uses this module's own generator.
    """

    def __init__(self, nin: int, nout: int, nonlin: str = "tanh", rng: np.random.Generator | int | None = None):
        rng = _generator(rng)  # one generator for all the neurons, so that they differ
        self.neurons = [Neuron(nin, nonlin=nonlin, rng=rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> list[Value]:
        """The nout outputs for one input x (nin numbers or Values)."""
        return [neuron(x) for neuron in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(neuron) for neuron in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: layers of nouts[0], nouts[1], ... neurons; the last layer is linear.

    Args:
        nin: the number of inputs.
        nouts: the number of neurons of each layer, e.g. [16, 16, 1].
        nonlin: the activation of every layer but the last ('tanh' or 'relu').
        rng: a numpy Generator or a seed for the initial weights; None uses this module's own generator.
    """

    def __init__(self, nin: int, nouts: Sequence[int], nonlin: str = "tanh",
                 rng: np.random.Generator | int | None = None):
        rng = _generator(rng)
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=nonlin if i < len(nouts) - 1 else "linear", rng=rng)
                       for i in range(len(nouts))]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The output for one input x (nin numbers or Values): a Value if the last layer has one neuron, else a list."""
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
