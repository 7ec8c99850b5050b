# Generated from solutions/03_backprop/backprop.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Losses, as modules: MSELoss (the classification losses are in nnlib.classification)."""
import numpy as np

from nnlib.module import Module


class MSELoss(Module):
    """The mean squared error, mean((y_hat - y)**2) over all elements.

    forward: y_hat and y of the same shape (any) -> a float.
    backward: grad_output (a number, 1.0 by default) -> dL/dy_hat, of y_hat's shape. The target y is not
    differentiated.
    """

    def forward(self, y_hat: np.ndarray, y: np.ndarray) -> float:
        y_hat, y = np.asarray(y_hat), np.asarray(y)
        if y_hat.shape != y.shape:
            raise ValueError(f"MSELoss: y_hat of shape {y_hat.shape} and y of shape {y.shape} must have the same "
                             "shape (numpy would broadcast them into a meaningless loss)")
        self.save_for_backward(y_hat, y)
        return float(np.mean((y_hat - y) ** 2))

    def backward(self, grad_output: float = 1.0) -> np.ndarray:
        """grad_output dL/d(loss) (a number) -> dL/dy_hat, of y_hat's shape (y is not differentiated)."""
        y_hat, y = self.saved_tensors
        self._check_grad_output(grad_output, ())
        return grad_output * 2.0 * (y_hat - y) / y_hat.size
