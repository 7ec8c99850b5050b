# Generated from solutions/03_backprop/backprop.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Layers: Linear, and the activation functions ReLU, LeakyReLU, Sigmoid and Tanh."""
import numpy as np

from nnlib.module import Module, Parameter


class Linear(Module):
    """A fully connected layer: y = X @ W + b.

    Shapes: X (N, in_features) -> y (N, out_features). The weight W has shape (in_features, out_features):
    its rows match the input's columns (PyTorch stores the transpose). The bias b has shape (out_features,).
    Initialization (He/Kaiming normal): W ~ N(0, 2 / in_features), b = 0, which keeps the scale of the
    activations of a ReLU network from layer to layer (see chapter 3, section 11).

    Args:
        in_features: the number of columns of X.
        out_features: the number of columns of y.
        bias: whether to add a learnable bias b.
        rng: a numpy Generator or a seed for the initial weights (None: fresh, unseeded randomness).
        dtype: the parameters' float type; float32 halves memory and runs about twice as fast.
        input_grad: whether backward computes dL/dX. Only a model's first layer may turn it off
            (its input is the data, whose gradient nobody uses); its backward then returns None.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: np.random.Generator | int | None = None, dtype: type = np.float64,
                 input_grad: bool = True):
        rng = np.random.default_rng(rng)
        self.in_features, self.out_features = in_features, out_features
        self.input_grad = input_grad
        weight = rng.normal(0.0, np.sqrt(2.0 / in_features), (in_features, out_features))
        self.weight = Parameter(weight.astype(dtype))
        self.bias = Parameter(np.zeros(out_features, dtype)) if bias else None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (N, in_features) -> y = X @ W + b, of shape (N, out_features). Saves X for backward."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.in_features:
            raise ValueError(f"Linear: input of shape {X.shape} does not fit weight of shape "
                             f"{self.weight.data.shape}: the input must have shape (N, {self.in_features}), "
                             "its columns matching the weight's rows")
        self.save_for_backward(X)
        y = X @ self.weight.data
        if self.bias is not None:
            y = y + self.bias.data
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """grad_output dL/dy (N, out_features) -> dL/dX (N, in_features), or None if not `input_grad`.

        Adds dL/dW, of shape (in_features, out_features), to weight.grad, and dL/db, of shape (out_features,),
        to bias.grad if the layer has a bias. X is the input that forward saved.
        """
        X, = self.saved_tensors
        self._check_grad_output(grad_output, (X.shape[0], self.out_features))
        self.weight.grad += X.T @ grad_output
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0)
        if not self.input_grad:
            return None  # nobody needs dL/dX (X is the data): skip that matrix product
        return grad_output @ self.weight.data.T

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"


class ReLU(Module):
    """ReLU(x) = max(x, 0), elementwise. Shapes: X of any shape -> the same shape."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        self.save_for_backward(X)
        return np.maximum(X, 0.0)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output dL/dy (X's shape) -> dL/dX (X's shape). At X == 0, the slope of the side X < 0 (PyTorch's)."""
        X, = self.saved_tensors
        self._check_grad_output(grad_output, X.shape)
        return grad_output * (X > 0)


class LeakyReLU(Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope * x, elementwise. Shapes: any -> the same.

    Args:
        negative_slope: the slope for x <= 0 (PyTorch's default, 0.01).
    """

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        self.save_for_backward(X)
        return np.where(X > 0, X, self.negative_slope * X)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output dL/dy (X's shape) -> dL/dX (X's shape). At X == 0, the slope of the side X < 0 (PyTorch's)."""
        X, = self.saved_tensors
        self._check_grad_output(grad_output, X.shape)
        return np.where(X > 0, grad_output, self.negative_slope * grad_output)

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Sigmoid(Module):
    """Sigmoid(x) = 1 / (1 + exp(-x)), elementwise. Shapes: any -> the same."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        out = np.exp(-np.logaddexp(0.0, -np.asarray(X)))  # = 1 / (1 + e^-x), without overflow for x << 0
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output dL/dy (X's shape) -> dL/dX (X's shape), from the saved output Sigmoid(X) alone."""
        out, = self.saved_tensors
        self._check_grad_output(grad_output, out.shape)
        return grad_output * out * (1.0 - out)


class Tanh(Module):
    """Tanh(x) = tanh(x), elementwise. Shapes: any -> the same."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        out = np.tanh(X)
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output dL/dy (X's shape) -> dL/dX (X's shape), from the saved output tanh(X) alone."""
        out, = self.saved_tensors
        self._check_grad_output(grad_output, out.shape)
        return grad_output * (1.0 - out**2)
