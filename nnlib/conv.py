# Generated from solutions/06_cnn/cnn.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Convolutional networks' layers on NCHW arrays: Conv2d, MaxPool2d and Flatten, with their functions conv2d
and max_pool2d."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnlib.module import Module, Parameter


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """The number of windows of kernel_size entries that fit in size + 2 * padding entries, starting every
    `stride` entries: a convolution's (or a pooling's) output length along one axis."""
    return (size + 2 * padding - kernel_size) // stride + 1


def check_conv_input(X: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int, padding: int,
                     name: str = "conv2d") -> None:
    """Raise ValueError unless X (N, C, H, W), weight (F, C, kH, kW) and bias (F,) or None fit together, stride
    is >= 1 and padding >= 0, and the padded images are at least as large as the kernel. `name` starts the message."""
    if np.ndim(X) != 4 or np.ndim(weight) != 4:
        raise ValueError(f"{name}: X must have shape (N, C, H, W) and weight (F, C, kH, kW), got shapes "
                         f"{np.shape(X)} and {np.shape(weight)}")
    (N, C, H, W), (F, C_weight, kH, kW) = X.shape, weight.shape
    if C != C_weight:
        raise ValueError(f"{name}: X of shape {X.shape} does not fit weight of shape {weight.shape}: the second "
                         f"axis of X (the channels) is {C}, the weight's is {C_weight}")
    if bias is not None and np.shape(bias) != (F,):
        raise ValueError(f"{name}: bias must have shape ({F},), one entry per filter of weight {weight.shape}, "
                         f"got shape {np.shape(bias)}")
    if stride < 1 or padding < 0:
        raise ValueError(f"{name}: stride must be >= 1 and padding >= 0, got stride {stride}, padding {padding}")
    if H + 2 * padding < kH or W + 2 * padding < kW:
        raise ValueError(f"{name}: X of shape {X.shape}, padded by {padding}, is {H + 2 * padding} x "
                         f"{W + 2 * padding}: smaller than the {kH} x {kW} kernel of weight of shape {weight.shape}")


def conv2d(X: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """The 2-D convolution (PyTorch's: a cross-correlation, no flip) of a batch of images, as one matrix product.

    Args:
        X: (N, C, H, W), N images of C channels.
        weight: (F, C, kH, kW), F filters, each spanning the C channels.
        bias: (F,), one number per filter, or None (no bias).
        stride: the step between two windows, along both axes (>= 1).
        padding: the rows and columns of zeros added on each side of every image before the windows slide (>= 0).
    Returns:
        Y (N, F, H_out, W_out), one feature map per filter, as conv2d_loops computes it:
        H_out = conv_output_size(H, kH, stride, padding), W_out likewise. Its dtype is the result type of X and
        weight (float32 for float32 inputs). It may be a view of another layout.
    Raises:
        ValueError: the shapes do not fit (see check_conv_input).
    """
    check_conv_input(X, weight, bias, stride, padding)
    N, C, H, W = X.shape
    F, _, kH, kW = weight.shape
    H_out, W_out = conv_output_size(H, kH, stride, padding), conv_output_size(W, kW, stride, padding)
    # channels last, (N, H + 2 padding, W + 2 padding, C): the numbers of one row of a window are neighbours in memory
    X_padded = X.transpose(0, 2, 3, 1)                    # a view, no copy
    if padding:
        X_padded = np.pad(X_padded, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    windows = sliding_window_view(X_padded, (kH, kW), axis=(1, 2))[:, ::stride, ::stride]   # (N, H_out, W_out, C, kH, kW)
    if C * kW < W_out:  # few channels (a first layer): copy in the order (u, v, c, n, i, j), runs of W_out numbers
        rows = windows.transpose(4, 5, 3, 0, 1, 2).reshape(kH * kW * C, N * H_out * W_out).T
    else:               # one window per row, in the order (u, v, c): runs of kW * C numbers
        rows = windows.transpose(0, 1, 2, 4, 5, 3).reshape(N * H_out * W_out, kH * kW * C)
    Y = rows @ weight.transpose(0, 2, 3, 1).reshape(F, kH * kW * C).T        # (N * H_out * W_out, F)
    if bias is not None:
        Y += bias
    return Y.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)   # NCHW shape, channels last in memory


class Conv2d(Module):
    """A 2-D convolutional layer (PyTorch's Conv2d, without dilation and groups), on NCHW arrays.

    Shapes: X (N, in_channels, H, W) -> Y (N, out_channels, H_out, W_out), with
    H_out = conv_output_size(H, kernel_size, stride, padding), W_out likewise (see conv2d).
    The weight has shape (out_channels, in_channels, kernel_size, kernel_size), the bias (out_channels,).
    Initialization (He/Kaiming normal, as chapter 3's Linear): weight ~ N(0, 2 / fan_in) with
    fan_in = in_channels * kernel_size**2, bias = 0.

    Args:
        in_channels: C, the number of channels of X.
        out_channels: F, the number of filters: the channels of Y.
        kernel_size: k, the height and width of the filters.
        stride: the step between two windows, along both axes.
        padding: the rows and columns of zeros added on each side of every image.
        bias: whether to add a learnable bias per filter.
        rng: a numpy Generator or a seed for the initial weights (None: fresh, unseeded randomness).
        dtype: the parameters' float type (np.float32 for training: see section 10).
        input_grad: whether backward computes dL/dX. Only a model's first layer may turn it off (its input is
            the data, whose gradient nobody uses); its backward then returns None.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = True, rng: np.random.Generator | int | None = None, dtype: type = np.float64,
                 input_grad: bool = True):
        if min(in_channels, out_channels, kernel_size, stride) < 1 or padding < 0:
            raise ValueError(f"Conv2d: channels, kernel_size and stride must be >= 1 and padding >= 0, got "
                             f"{in_channels}, {out_channels}, {kernel_size}, {stride}, {padding}")
        rng = np.random.default_rng(rng)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.input_grad = stride, padding, input_grad
        fan_in = in_channels * kernel_size * kernel_size
        weight = rng.normal(0.0, np.sqrt(2.0 / fan_in), (out_channels, in_channels, kernel_size, kernel_size))
        self.weight = Parameter(weight.astype(dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype)) if bias else None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (N, in_channels, H, W) -> Y (N, out_channels, H_out, W_out), by conv2d. Saves X for backward."""
        X = np.asarray(X)
        bias = None if self.bias is None else self.bias.data
        Y = conv2d(X, self.weight.data, bias, self.stride, self.padding)   # checks the shapes
        self.save_for_backward(X)
        return Y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """grad_output dL/dY (N, out_channels, H_out, W_out) -> dL/dX (X's shape and dtype), or None if not
        `input_grad`.

        Adds dL/dW, of the weight's shape, to weight.grad, and dL/db, of shape (out_channels,), to bias.grad if the
        layer has a bias. X is the input that forward saved.
        """
        X, = self.saved_tensors
        N, C, H, W = X.shape
        F, k, stride, padding = self.out_channels, self.kernel_size, self.stride, self.padding
        H_out, W_out = conv_output_size(H, k, stride, padding), conv_output_size(W, k, stride, padding)
        self._check_grad_output(grad_output, (N, F, H_out, W_out))
        # the windows matrix of conv2d, built again: one row per output position, in the order (u, v, c)
        X_padded = X.transpose(0, 2, 3, 1)
        if padding:
            X_padded = np.pad(X_padded, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
        windows = sliding_window_view(X_padded, (k, k), axis=(1, 2))[:, ::stride, ::stride]   # (N, H_out, W_out, C, k, k)
        if C * k < W_out:
            rows = windows.transpose(4, 5, 3, 0, 1, 2).reshape(k * k * C, N * H_out * W_out).T
        else:
            rows = windows.transpose(0, 1, 2, 4, 5, 3).reshape(N * H_out * W_out, k * k * C)
        grad_rows = grad_output.transpose(0, 2, 3, 1).reshape(N * H_out * W_out, F)   # G: one row per output position
        self.weight.grad += (rows.T @ grad_rows).T.reshape(F, k, k, C).transpose(0, 3, 1, 2)
        if self.bias is not None:
            self.bias.grad += np.ones(len(grad_rows), grad_rows.dtype) @ grad_rows   # the sum of the rows (faster than .sum(axis=0))
        if not self.input_grad:
            return None  # nobody needs dL/dX (X is the data): skip its computation
        grad_padded = np.zeros(X_padded.shape, dtype=X.dtype)        # (N, H + 2 padding, W + 2 padding, C)
        for u in range(k):
            for v in range(k):
                # the entries at offset (u, v) of every window, all channels, receive G @ weight[:, :, u, v]
                block = (grad_rows @ self.weight.data[:, :, u, v]).reshape(N, H_out, W_out, C)
                grad_padded[:, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride] += block
        return grad_padded[:, padding:padding + H, padding:padding + W].transpose(0, 3, 1, 2)

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})")


def max_pool2d(X: np.ndarray, kernel_size: int, stride: int | None = None) -> np.ndarray:
    """Max pooling of every channel of a batch of images (PyTorch's, without padding: floor mode).

    Args:
        X: (N, C, H, W).
        kernel_size: k, the height and width of the windows.
        stride: the step between two windows, along both axes (default: kernel_size, windows side by side).
    Returns:
        (N, C, H_out, W_out), of X's dtype: the largest entry of every k x k window of every channel, with
        H_out = conv_output_size(H, k, stride) and W_out likewise (a window that would stick out is dropped).
    Raises:
        ValueError: X is not 4-dimensional, or is smaller than a window.
    """
    stride = kernel_size if stride is None else stride
    if np.ndim(X) != 4 or X.shape[2] < kernel_size or X.shape[3] < kernel_size or min(kernel_size, stride) < 1:
        raise ValueError(f"max_pool2d: X must have shape (N, C, H, W) with H and W >= kernel_size = {kernel_size} "
                         f"(and stride = {stride} >= 1), got shape {np.shape(X)}")
    H_out, W_out = conv_output_size(X.shape[2], kernel_size, stride), conv_output_size(X.shape[3], kernel_size, stride)
    Y = None
    for u in range(kernel_size):
        for v in range(kernel_size):
            entries = X[:, :, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride]
            Y = entries.copy(order="K") if Y is None else np.maximum(Y, entries, out=Y)   # keeps X's memory order
    return Y


class MaxPool2d(Module):
    """Max pooling (PyTorch's MaxPool2d, without padding): X (N, C, H, W) -> (N, C, H_out, W_out), see max_pool2d.

    Args:
        kernel_size: the height and width of the windows.
        stride: the step between two windows (default: kernel_size).
    """

    def __init__(self, kernel_size: int, stride: int | None = None):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (N, C, H, W) -> the maximum of every window, (N, C, H_out, W_out). Saves X for backward."""
        X = np.asarray(X)
        Y = max_pool2d(X, self.kernel_size, self.stride)
        self.save_for_backward(X)
        return Y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output dL/dY (N, C, H_out, W_out), finite -> dL/dX (X's shape and dtype). Each window's gradient goes
        to one entry, the first of its maxima in row-major order; an entry that wins several windows receives their sum."""
        X, = self.saved_tensors
        N, C, H, W = X.shape
        k, stride = self.kernel_size, self.stride
        H_out, W_out = conv_output_size(H, k, stride), conv_output_size(W, k, stride)
        self._check_grad_output(grad_output, (N, C, H_out, W_out))
        Y = max_pool2d(X, k, stride)                  # the maximum of every window
        remaining = grad_output.astype(X.dtype)       # a copy: what each window has still to give
        dX = np.zeros_like(X)
        for u in range(k):
            for v in range(k):                        # in row-major order: on a tie, the first maximum takes it all
                at = np.s_[:, :, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride]
                part = remaining * (X[at] == Y)       # all that remains, where this entry is the maximum
                dX[at] += part
                remaining -= part                     # leaves 0 for the later entries of the window
        return dX

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): one row per example, in numpy's (C) order. No parameters."""

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        self.save_for_backward(X.shape)
        return X.reshape(len(X), -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output (N, d1 * d2 * ...) -> the same numbers in X's shape."""
        shape, = self.saved_tensors
        self._check_grad_output(grad_output, (shape[0], int(np.prod(shape[1:]))))
        return grad_output.reshape(shape)

    def __repr__(self) -> str:
        return "Flatten()"
