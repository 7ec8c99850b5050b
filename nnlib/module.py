# Generated from solutions/03_backprop/backprop.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Parameters and modules, the building blocks of nnlib's networks: Parameter, Module, Sequential."""
import numpy as np


class Parameter:
    """A learnable array and the gradient of the loss with respect to it.

    Attributes:
        data: a float array of any shape (a copy of the array given; integers become float64).
        grad: dL/d(data), an array of data's shape and dtype: zeros until a backward pass adds to it.
    """

    def __init__(self, data: np.ndarray):
        data = np.array(data)
        self.data = data if data.dtype.kind == "f" else data.astype(np.float64)
        self.grad = np.zeros_like(self.data)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class _ForwardPass:
    """Counts forward passes: a pass begins when a module is called while no module call is running."""
    depth = 0    # the module calls running now, one inside the other
    number = 0   # the passes begun so far


class Module:
    """The base class of layers, losses and models: a function that knows its backward pass.

    A subclass defines
        forward(*inputs) -> output: computes the output and saves what backward needs (save_for_backward);
        backward(grad_output) -> grad_input: the vector-Jacobian product. grad_output is dL/d(output), of the
            output's shape; it returns dL/d(input), of the (first) input's shape, and ADDS dL/dp to p.grad
            for each of its parameters p.
    and keeps its Parameters in attributes (directly, in lists or tuples, or inside sub-modules).

    One forward, one backward: backward reads what the last forward saved, once (saved_tensors frees it).
    One instance, one place: an instance is called at most once per forward pass of a model, since a
    second call would replace what the first saved. Both rules raise a RuntimeError when broken, so that
    a model never gets a wrong gradient.
    """

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, *inputs):
        """Run forward(*inputs); a RuntimeError if this instance was already called in this forward pass."""
        if _ForwardPass.depth == 0:  # no module call is running: a new forward pass begins
            _ForwardPass.number += 1
        elif vars(self).get("_pass") == _ForwardPass.number:
            name = type(self).__name__
            raise RuntimeError(f"this {name} was called twice in one forward pass: one instance at two places "
                               f"of a model keeps only what its last call saved, so its backward would be wrong. "
                               f"Give each place its own {name}; to share weights, share the Parameter objects")
        self._pass = _ForwardPass.number
        _ForwardPass.depth += 1
        try:
            return self.forward(*inputs)
        finally:
            _ForwardPass.depth -= 1

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays for the backward pass (call it in forward); backward reads them once, with saved_tensors."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """The arrays that forward saved, handed over once: reading them frees them, as PyTorch frees what
        forward saved once backward has used it. A RuntimeError before any forward, or on a second read."""
        name = type(self).__name__
        if "_saved" not in vars(self):
            raise RuntimeError(f"{name}.backward was called before forward: "
                               "call forward first, it saves what backward needs")
        saved, self._saved = self._saved, None
        if saved is None:
            raise RuntimeError(f"{name}.backward: what forward saved was already used by a backward. Either "
                               "backward ran twice after one forward (run forward again before each backward, "
                               f"as PyTorch requires), or one {name} instance sits at two places in one model "
                               "(give each place its own instance; to share weights, share the Parameter "
                               "objects), or backward read saved_tensors twice (read it once)")
        return saved

    def _check_grad_output(self, grad_output, shape: tuple) -> None:
        """Raise ValueError unless grad_output has the output's shape."""
        if np.shape(grad_output) != tuple(shape):
            raise ValueError(f"{type(self).__name__}.backward: grad_output has shape {np.shape(grad_output)}, "
                             f"but the output has shape {tuple(shape)}")

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(name, parameter) pairs, e.g. ("layers.0.weight", p): in attribute order, each parameter once."""
        found, seen = [], set()

        def visit(name: str, value) -> None:
            if isinstance(value, Parameter) and id(value) not in seen:
                seen.add(id(value))
                found.append((name, value))
            elif isinstance(value, Module):
                for sub_name, p in value.named_parameters():
                    visit(f"{name}.{sub_name}", p)
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    visit(f"{name}.{i}", item)

        for name, value in vars(self).items():
            visit(name, value)
        return found

    def parameters(self) -> list[Parameter]:
        """Every Parameter of this module and its sub-modules, in order, each once."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zeros."""
        for p in self.parameters():
            p.grad = np.zeros_like(p.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sequential(Module):
    """Modules applied one after the other: Sequential(Linear(2, 8), ReLU(), Linear(8, 1)).

    forward: X (the first module's input shape) -> the last module's output.
    backward: grad_output (the output's shape) -> dL/dX, calling each module's backward in reverse order
    (which fills every parameter's .grad).

    Args:
        *modules: the Modules, in the order the data flows through them.
    """

    def __init__(self, *modules: Module):
        for module in modules:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes modules, got {module!r}")
        self.layers = list(modules)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (the first module's input) -> the output of the last module."""
        for layer in self.layers:
            X = layer(X)
        return X

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output dL/d(output) (the output's shape) -> dL/dX (X's shape)."""
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        return "Sequential(\n" + "".join(f"  ({i}): {layer!r}\n" for i, layer in enumerate(self.layers)) + ")"
