# Generated from solutions/04_classification/classification.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Classification: stable logsumexp, softmax and log_softmax; LogSoftmax, NLLLoss and CrossEntropyLoss; for two
classes, binary_cross_entropy_with_logits and BCEWithLogitsLoss."""
import numpy as np

from nnlib.module import Module


def logsumexp(x: np.ndarray, dim: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) along one axis, without overflow, and without log(0) unless every term is 0.

    Args:
        x: array of any shape, e.g. logits of shape (N, C).
        dim: the axis to reduce.
        keepdims: keep the reduced axis, with size 1 (like numpy's keepdims).
    Returns:
        array of x's shape without axis `dim` (e.g. (N,)), or with size 1 there if keepdims
        (e.g. (N, 1)); a 0-d array for a 1-D x. A slice of all -inf gives -inf.
    """
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (or an inf): any shift is right, 0 avoids nan
    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=dim)


def log_softmax(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """Log-probabilities from logits along one axis: x - log(sum(exp(x))), without overflow.

    Args:
        x: array of any shape, e.g. logits of shape (N, C).
        dim: the axis of the classes.
    Returns:
        array of x's shape, e.g. (N, C): log-probabilities, whose exp sums to 1 along `dim`.
    """
    shifted = x - np.max(x, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def softmax(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """Probabilities from logits along one axis: exp(x) / sum(exp(x)), without overflow.

    Args:
        x: array of any shape, e.g. logits of shape (N, C).
        dim: the axis of the classes.
    Returns:
        array of x's shape, e.g. (N, C): positive, summing to 1 along `dim`.
    """
    return np.exp(log_softmax(x, dim))


class LogSoftmax(Module):
    """Log-softmax along one axis, as a module (PyTorch's nn.LogSoftmax): y = log_softmax(x, dim).

    forward(x): x of any shape, e.g. logits (N, C) -> y of the same shape (log-probabilities).
    backward(grad_output): dL/dy of y's shape -> dL/dx of x's shape. No parameters.
    """

    def __init__(self, dim: int = -1):
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = log_softmax(x, self.dim)
        self.save_for_backward(out)  # all backward needs: softmax(x) = exp(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """The vector-Jacobian product of log_softmax along self.dim: grad_output = dL/dy -> dL/dx.

        Args:
            grad_output: dL/dy, of the forward output's shape, e.g. (N, C); not modified.
        Returns:
            dL/dx, an array of the same shape (float64 for float64 inputs). No parameters, no .grad.
        """
        out, = self.saved_tensors
        self._check_grad_output(grad_output, out.shape)
        return grad_output - np.exp(out) * np.sum(grad_output, axis=self.dim, keepdims=True)


def _check_target(scores: np.ndarray, target, name: str = "log_probs") -> np.ndarray:
    """Check class indices against per-class scores; return them as an integer array.

    Args:
        scores: array of shape (N, C), one row of C class scores per example.
        target: N class indices, integers in [0, C) (an array or a list).
        name: what `scores` is called in error messages.
    Returns:
        target as an integer array of shape (N,).
    Raises:
        ValueError: scores is not (N, C) or is empty, target is not (N,), or an index is outside [0, C).
        TypeError: target does not hold integers.
    """
    if scores.ndim != 2 or scores.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, C) with N >= 1, got shape {scores.shape}")
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    n, c = scores.shape
    if target.shape != (n,):
        raise ValueError(f"batch size mismatch: {name} has shape {scores.shape}, so target must have "
                         f"shape ({n},), got shape {target.shape}")
    outside = (target < 0) | (target >= c)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(f"target[{i}] = {target[i]} is not a class index: {name} has {c} classes, "
                         f"so targets must be in 0..{c - 1}")
    return target


def nll_loss(log_probs: np.ndarray, target: np.ndarray) -> float:
    """The negative log-likelihood, averaged over the batch (PyTorch's nll_loss, reduction='mean').

    Args:
        log_probs: array of shape (N, C), log-probabilities (e.g. the output of LogSoftmax).
        target: integer array of shape (N,), each example's class, in 0..C-1.
    Returns:
        float: -(1/N) * sum_i log_probs[i, target[i]].
    Raises:
        ValueError, TypeError: for a target of the wrong shape, type or range (see _check_target).
    """
    log_probs = np.asarray(log_probs)
    target = _check_target(log_probs, target)
    n = log_probs.shape[0]
    return float(-np.mean(log_probs[np.arange(n), target]))


class NLLLoss(Module):
    """The negative log-likelihood loss, mean over the batch (PyTorch's nn.NLLLoss).

    forward(log_probs, target): log_probs (N, C) (e.g. LogSoftmax's output), target (N,) integers
        in 0..C-1 -> float, -(1/N) * sum_i log_probs[i, target[i]].
    backward(grad_output=1.0) -> dL/d(log_probs), shape (N, C).
    """

    def forward(self, log_probs: np.ndarray, target: np.ndarray) -> float:
        loss = nll_loss(log_probs, target)  # checks the target first
        self.save_for_backward(np.asarray(log_probs), np.asarray(target))
        return loss

    def backward(self, grad_output: float = 1.0) -> np.ndarray:
        """The gradient of the final loss with respect to the saved log_probs.

        Args:
            grad_output: a number, the gradient of the final loss with respect to this loss (1.0 if it
                is the loss).
        Returns:
            float array of log_probs' shape (N, C).
        """
        log_probs, target = self.saved_tensors
        self._check_grad_output(grad_output, ())
        n = log_probs.shape[0]
        grad = np.zeros_like(log_probs)
        grad[np.arange(n), target] = -grad_output / n
        return grad


class CrossEntropyLoss(Module):
    """LogSoftmax and NLLLoss fused, from logits (PyTorch's nn.CrossEntropyLoss, reduction='mean').

    forward(logits, target): logits (N, C), target (N,) integers in 0..C-1
        -> float, -(1/N) * sum_i log_softmax(logits)[i, target[i]].
    backward(grad_output=1.0) -> dL/d(logits), shape (N, C).
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        logits = np.asarray(logits)
        target = _check_target(logits, target, name="logits")
        log_probs = log_softmax(logits, dim=-1)
        self.save_for_backward(np.exp(log_probs), target)  # softmax(logits) and the target
        return nll_loss(log_probs, target)

    def backward(self, grad_output: float = 1.0) -> np.ndarray:
        """The gradient of the final loss with respect to the logits, from the saved softmax and target.

        Args:
            grad_output: a number, the gradient of the final loss with respect to this loss (1.0 if it
                is the loss).
        Returns:
            float array of the logits' shape (N, C). The saved arrays are left unchanged.
        """
        probs, target = self.saved_tensors
        self._check_grad_output(grad_output, ())
        n = probs.shape[0]
        grad = probs.copy()
        grad[np.arange(n), target] -= 1.0
        return grad * (grad_output / n)


def _check_binary_target(logits, target) -> tuple[np.ndarray, np.ndarray]:
    """Check binary targets against logits; return both as float arrays of the logits' dtype.

    Args:
        logits: array of any shape, e.g. (N,) or (N, 1); an integer array becomes float64.
        target: array (or list) of the same shape: 0 or 1 for a class, or a probability in [0, 1].
    Returns:
        (logits, target), float arrays of that shape, target in the logits' dtype.
    Raises:
        ValueError: the shapes differ, there is no value, or a target is outside [0, 1] (or nan).
        TypeError: the target does not hold numbers.
    """
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float64)
    target = np.asarray(target)
    if target.shape != logits.shape:
        raise ValueError(f"logits and target must have the same shape, got logits of shape {logits.shape} and "
                         f"target of shape {target.shape} (numpy would broadcast them into a meaningless loss)")
    if logits.size == 0:
        raise ValueError(f"logits must hold at least one value, got shape {logits.shape}")
    if target.dtype.kind not in "biuf":
        raise TypeError(f"target must hold numbers in [0, 1], got dtype {target.dtype}")
    target = target.astype(logits.dtype)
    outside = ~((target >= 0) & (target <= 1))  # written so that nan counts as outside
    if outside.any():
        where = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(f"target{list(where)} = {target[where]} is not in [0, 1]: binary targets are 0 or 1 "
                         "(or probabilities in between)")
    return logits, target


def binary_cross_entropy_with_logits(logits: np.ndarray, target: np.ndarray) -> float:
    """The binary cross-entropy of sigmoid(logits) against target, averaged over every element (PyTorch's
    binary_cross_entropy_with_logits, reduction='mean').

    Args:
        logits: array of any shape, e.g. (N,) or (N, 1): each example's logit (the log-odds of class 1).
        target: array of the same shape: 1 for class 1, 0 for class 0, or a probability in between.
    Returns:
        float: the mean over all elements of -[y log(sigmoid(z)) + (1 - y) log(1 - sigmoid(z))], finite and
        accurate for logits of any size (|z| = 1e4 and beyond).
    Raises:
        ValueError, TypeError: for a target of another shape, or not in [0, 1] (see _check_binary_target).
    """
    logits, target = _check_binary_target(logits, target)
    softplus = np.maximum(logits, 0.0) + np.log1p(np.exp(-np.abs(logits)))  # log(1 + e^z), shifted by max(0, z)
    return float(np.mean(softplus - target * logits))


class BCEWithLogitsLoss(Module):
    """Sigmoid and binary cross-entropy fused, on logits (PyTorch's nn.BCEWithLogitsLoss, reduction='mean').

    forward(logits, target): logits of any shape, e.g. (N,) or (N, 1), and target of the same shape, with
        values in [0, 1] -> float, binary_cross_entropy_with_logits(logits, target).
    backward(grad_output=1.0) -> dL/d(logits), of the logits' shape and dtype. The target is not
        differentiated.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        logits, target = _check_binary_target(logits, target)
        loss = binary_cross_entropy_with_logits(logits, target)
        self.save_for_backward(logits, target)
        return loss

    def backward(self, grad_output: float = 1.0) -> np.ndarray:
        """The gradient of the final loss with respect to the saved logits.

        Args:
            grad_output: a number, the gradient of the final loss with respect to this loss (1.0 if it
                is the loss).
        Returns:
            array of the logits' shape and dtype, e.g. (N,) or (N, 1), finite for logits of any size
            (|z| = 1e4 and beyond). The saved arrays are left unchanged.
        """
        logits, target = self.saved_tensors
        self._check_grad_output(grad_output, ())
        probs = np.exp(-np.logaddexp(0.0, -logits))  # sigmoid(logits), without overflow
        return (probs - target) * (grad_output / logits.size)
