"""PyTorch as an optional referee: your gradients next to PyTorch's on the same expression or module.

A second implementation written by other people checks a backward pass in another way than finite
differences do: it computes the same derivatives exactly (up to float64 round-off), from its own
derivative rules. This module runs a computation twice, once with your code and once with PyTorch in
float64, on the same inputs and with the same upstream gradient, and reports the largest difference of
the outputs and of every gradient.

    compare_expression(fn, {"a": 2.0, "b": -3.0}, Value)   a scalar expression on chapter 2's Values
    compare_module(module, X)                               a module of chapter 3 or 6 (a layer, a loss, a model)
    compare_module(loss_fn, y_hat, y)                       a loss: y_hat is differentiated, y is not

PyTorch is never required. When `torch` cannot be imported, both functions return a `Skipped` result,
whose text says so in one line and how to install it; they never raise ImportError. Nothing here imports
a chapter's module: the Value class and the modules are the caller's (a notebook's own or nnlib's).
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Comparison", "Skipped", "SKIPPED", "compare_expression", "compare_module", "MODULES"]

SKIPPED = ("PyTorch is not installed: this optional check is skipped (to run it, install torch into the "
           "kernel's environment, e.g. `%pip install torch` in a cell, then restart the kernel).")

#: The modules compare_module knows, by class name (nnlib's and a notebook's own classes of these names).
MODULES = ("Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "MSELoss", "Conv2d", "MaxPool2d", "Flatten", "Sequential")


@dataclass(frozen=True)
class Skipped:
    """The result of a comparison that did not run because PyTorch is not available.

    Attributes:
        reason: one line: what is missing and how to install it.
    """

    reason: str = SKIPPED

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Comparison:
    """Yours against PyTorch's: for the output and each gradient, the largest absolute difference.

    Attributes:
        what: what was compared, e.g. "Sequential" or "tanh(x1*w1 + x2*w2 + b)".
        differences: {name: max |yours - PyTorch's|} over the elements, for "output" and then each
            gradient ("x1.grad", "input.grad", "layers.0.weight.grad", ...). Floats, >= 0 (NaN if either
            side has a NaN).
        scales: {name: max |PyTorch's|}, the size of what is compared (same keys as differences).
        dtype: the least precise float type of your side's results ("float64" for Values), which sets
            the round-off to expect.
    """

    what: str
    differences: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    dtype: str = "float64"

    @property
    def largest(self) -> float:
        """The largest difference over the output and all the gradients (NaN if any is NaN)."""
        values = list(self.differences.values())
        return float("nan") if any(np.isnan(values)) else max(values, default=0.0)

    @property
    def round_off(self) -> float:
        """The round-off to expect on numbers of size 1: machine epsilon of dtype rounded up to a power of 10
        (1e-15 for float64, 1e-6 for float32)."""
        return float(10.0 ** np.ceil(np.log10(np.finfo(self.dtype).eps)))

    def __str__(self) -> str:
        width = max((len(name) for name in self.differences), default=0)
        lines = [f"{self.what}: yours vs PyTorch (float64)",
                 f"  {'':{width}}  max |yours - PyTorch|  max |PyTorch|"]
        lines += [f"  {name:{width}}  {difference:20.1e}  {self.scales[name]:13.3g}"
                  for name, difference in self.differences.items()]
        lines.append(f"largest difference {self.largest:.1e} ({self.dtype} round-off is about "
                     f"{self.round_off:.0e} on numbers of size 1)")
        return "\n".join(lines)


def _import_torch() -> tuple[Any, str | None]:
    """(the torch module, None), or (None, the reason it is not available)."""
    try:
        import torch
    except ImportError:
        return None, SKIPPED
    except Exception as error:  # an install that is there but broken: still optional, still a skip
        return None, (f"PyTorch could not be imported ({type(error).__name__}: {error}): this optional "
                      "check is skipped.")
    return torch, None


def _largest_difference(name: str, ours: Any, theirs: np.ndarray) -> float:
    """max |ours - theirs|; a ValueError naming `name` if the shapes differ."""
    ours = np.asarray(ours, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"{name}: yours has shape {ours.shape}, PyTorch's has shape {theirs.shape}")
    if ours.size == 0:
        return 0.0
    return float(np.max(np.abs(ours - theirs)))


def _scale(theirs: np.ndarray) -> float:
    return float(np.max(np.abs(theirs))) if theirs.size else 0.0


def compare_expression(fn: Callable[..., Any], inputs: Mapping[str, float] | Sequence[float],
                       value_type: type, what: str | None = None) -> Comparison | Skipped:
    """Run a scalar expression on your Values and on PyTorch's float64 tensors; compare value and gradients.

    fn is written with operations that both your Value and torch.Tensor have (+ - * / **, and the
    methods .tanh(), .exp(), .relu(), .log(), .sigmoid()), e.g. `lambda a, b: (a * b + 1).tanh()`.
    Yours: fn on fresh leaves value_type(x), then backward() on the result. PyTorch's: fn on 0-d float64
    tensors with requires_grad, then backward(). Neither the caller's objects nor any global state change.

    Args:
        fn: a function of the leaves that returns one scalar (a Value, or a 0-d tensor on PyTorch's side).
        inputs: the leaves' numbers: a mapping {name: number} (fn gets them as keyword arguments), or a
            sequence of numbers (positional arguments, named "input 0", "input 1", ...).
        value_type: your Value class, called with one float.
        what: a name for the report (default: fn's name).

    Returns:
        A Comparison with the keys "output" and "NAME.grad" for each leaf, or Skipped without PyTorch.
    """
    named = dict(inputs) if isinstance(inputs, Mapping) else {f"input {i}": x for i, x in enumerate(inputs)}
    keywords = isinstance(inputs, Mapping)
    torch, reason = _import_torch()
    if torch is None:
        return Skipped(reason)

    def call(leaves: dict[str, Any]) -> Any:
        return fn(**leaves) if keywords else fn(*leaves.values())

    values = {name: value_type(float(x)) for name, x in named.items()}
    out = call(values)
    out.backward()
    tensors = {name: torch.tensor(float(x), dtype=torch.float64, requires_grad=True) for name, x in named.items()}
    out_torch = call(tensors)
    out_torch.backward()

    pairs = [("output", out.data, out_torch.detach().numpy())]
    pairs += [(f"{name}.grad", values[name].grad,
               tensors[name].grad.numpy() if tensors[name].grad is not None else np.zeros(()))
              for name in named]  # a leaf fn does not use gets no gradient: 0
    return Comparison(what or getattr(fn, "__name__", "expression"),
                      {name: _largest_difference(name, ours, theirs) for name, ours, theirs in pairs},
                      {name: _scale(theirs) for name, _, theirs in pairs})


def _torch_function(module: Any, torch: Any, leaves: dict[int, tuple[Any, bool]]) -> Callable[..., Any]:
    """PyTorch's functional version of `module`, with a float64 leaf tensor for each of its Parameters.

    leaves: {id(Parameter): (its leaf tensor, whether the leaf holds the transpose)}, filled in here; a
    Parameter met twice (shared) gets one leaf, so PyTorch adds up its two contributions too.
    """
    import torch.nn.functional as F

    def leaf(parameter: Any, transpose: bool = False) -> Any:
        if id(parameter) not in leaves:
            data = np.asarray(parameter.data, dtype=np.float64)
            data = data.T.copy() if transpose else data.copy()
            leaves[id(parameter)] = (torch.tensor(data, requires_grad=True), transpose)
        return leaves[id(parameter)][0]

    kind = type(module).__name__
    if kind == "Linear":  # nnlib's weight is (in, out); PyTorch's F.linear takes the transpose, (out, in)
        weight = leaf(module.weight, transpose=True)
        bias = leaf(module.bias) if module.bias is not None else None
        return lambda X: F.linear(X, weight, bias)
    if kind == "ReLU":
        return F.relu
    if kind == "LeakyReLU":
        return lambda X: F.leaky_relu(X, module.negative_slope)
    if kind == "Sigmoid":
        return torch.sigmoid
    if kind == "Tanh":
        return torch.tanh
    if kind == "MSELoss":
        return F.mse_loss  # reduction "mean", over all elements
    if kind == "Conv2d":  # the weight has PyTorch's layout, (out_channels, in_channels, k, k)
        weight = leaf(module.weight)
        bias = leaf(module.bias) if module.bias is not None else None
        return lambda X: F.conv2d(X, weight, bias, stride=module.stride, padding=module.padding)
    if kind == "MaxPool2d":
        return lambda X: F.max_pool2d(X, module.kernel_size, module.stride)
    if kind == "Flatten":
        return lambda X: X.flatten(1)
    if kind == "Sequential":
        functions = [_torch_function(layer, torch, leaves) for layer in module.layers]

        def sequential(X: Any) -> Any:
            for function in functions:
                X = function(X)
            return X
        return sequential
    raise TypeError(f"compare_module knows {', '.join(MODULES)} (a Sequential of these too), not {kind}")


def _check_known(module: Any) -> None:
    """A TypeError, before anything runs, if `module` is or contains a module compare_module does not know."""
    kind = type(module).__name__
    if kind not in MODULES:
        raise TypeError(f"compare_module knows {', '.join(MODULES)} (a Sequential of these too), not {kind}")
    for layer in getattr(module, "layers", []) if kind == "Sequential" else []:
        _check_known(layer)


def compare_module(module: Any, *inputs: np.ndarray, grad_output: np.ndarray | float | None = None,
                   seed: int = 0) -> Comparison | Skipped:
    """Run a module's forward and backward, and the same function in PyTorch; compare output and gradients.

    Yours: a deep copy of `module` (the caller's module, its gradients and what it saved stay as they are)
    with its parameters' .grad set to zeros, then out = copy(*inputs) and copy.backward(grad_output).
    PyTorch's: the same function written with torch.nn.functional (F.linear, F.relu, F.leaky_relu,
    torch.sigmoid, torch.tanh, F.mse_loss, F.conv2d, F.max_pool2d, flatten), on float64 copies of the inputs and of the module's own
    parameters (a Linear's weight, (in_features, out_features) here, is transposed into PyTorch's
    (out_features, in_features) layout), then out.backward(grad_output). Your side keeps its own dtype,
    so a float32 module differs by float32 round-off (about 1e-7 relative).

    Shapes: inputs[0] is the differentiated input (X (N, in_features) for a Linear, (N, C, H, W) for a
    Conv2d or MaxPool2d, any shape for an activation, y_hat for MSELoss); the other inputs (MSELoss's target y) are not differentiated.
    grad_output has the output's shape (a number for a loss).

    Args:
        module: Linear, ReLU, LeakyReLU, Sigmoid, Tanh, MSELoss, Conv2d, MaxPool2d, Flatten, or a Sequential
            of these (the class names that count; parameters are read from .weight, .bias, .negative_slope,
            .stride, .padding, .kernel_size, .layers and named_parameters()).
        *inputs: the module's forward inputs.
        grad_output: dL/d(output); default a standard normal array of the output's shape (a number for a
            scalar output), drawn with `seed`.
        seed: seeds the default grad_output.

    Returns:
        A Comparison with the keys "output", "input.grad" (unless your backward returns None, as a Linear
        with input_grad=False does) and "NAME.grad" for each parameter (named_parameters' names, e.g.
        "layers.0.weight.grad"), or Skipped without PyTorch.

    Raises:
        TypeError: a module not in MODULES (before anything runs, with or without PyTorch).
        ValueError: a gradient of yours whose shape is not PyTorch's.
    """
    _check_known(module)
    torch, reason = _import_torch()
    if torch is None:
        return Skipped(reason)

    ours = copy.deepcopy(module)
    parameters = ours.named_parameters()
    for _, p in parameters:
        p.grad = np.zeros_like(p.data)
    out = ours(*[np.array(x) for x in inputs])
    if grad_output is None:
        rng = np.random.default_rng(seed)
        grad_output = rng.standard_normal(np.shape(out)) if np.ndim(out) else float(rng.standard_normal())
    grad_input = ours.backward(grad_output.copy() if isinstance(grad_output, np.ndarray) else grad_output)

    leaves: dict[int, tuple[Any, bool]] = {}
    function = _torch_function(module, torch, leaves)
    tensors = [torch.tensor(np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x))
               for x in inputs]
    tensors[0].requires_grad_(True)
    out_torch = function(*tensors)
    out_torch.backward(torch.as_tensor(np.asarray(grad_output, dtype=np.float64)))

    def theirs(tensor: Any, transpose: bool = False) -> np.ndarray:
        grad = tensor.grad.numpy() if tensor.grad is not None else np.zeros(tuple(tensor.shape))
        return grad.T if transpose else grad

    pairs = [("output", out, out_torch.detach().numpy())]
    if grad_input is not None:
        pairs.append(("input.grad", grad_input, theirs(tensors[0])))
    originals = dict(module.named_parameters())
    for name, p in parameters:
        if id(originals[name]) in leaves:
            tensor, transpose = leaves[id(originals[name])]
            pairs.append((f"{name}.grad", p.grad, theirs(tensor, transpose)))
        else:  # a parameter the function does not use: PyTorch's gradient of it is 0
            pairs.append((f"{name}.grad", p.grad, np.zeros(np.shape(p.data))))
    floats = [np.asarray(mine).dtype for _, mine, _ in pairs if np.asarray(mine).dtype.kind == "f"]
    dtype = max(floats, key=lambda t: np.finfo(t).eps, default=np.dtype(np.float64))
    return Comparison(type(module).__name__,
                      {name: _largest_difference(name, mine, other) for name, mine, other in pairs},
                      {name: _scale(other) for name, _, other in pairs}, str(dtype))
