# Generated from solutions/05_mnist/mnist.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Metrics of a classifier: accuracy and the confusion matrix."""
import numpy as np


def accuracy(y_hat: np.ndarray, y: np.ndarray) -> float:
    """The fraction of examples whose highest-scoring class is the label.

    Args:
        y_hat: array (N, C), a score per class for each example: logits, probabilities or log-probabilities
            (the predicted class is the one with the largest score; a tie goes to the first, as in np.argmax).
        y: integer array (N,), the labels, in 0..C-1.
    Returns:
        float in [0, 1]: the fraction of the N rows whose argmax is y.
    Raises:
        ValueError: y_hat is not (N, C) with N >= 1, or y is not (N,).
    """
    y_hat, y = np.asarray(y_hat), np.asarray(y)
    if y_hat.ndim != 2 or y_hat.shape[0] == 0 or y.shape != (y_hat.shape[0],):
        raise ValueError(f"accuracy: y_hat must have shape (N, C) with N >= 1 and y shape (N,), "
                         f"got shapes {y_hat.shape} and {y.shape}")
    return float(np.mean(np.argmax(y_hat, axis=1) == y))


def confusion_matrix(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Counts of (label, prediction) pairs: entry [i, j] is the number of examples of class i predicted as j.

    Args:
        y_hat: array (N, C) of class scores (the prediction is the argmax of each row, the first one on a tie),
            as for accuracy.
        y: integer array (N,), the labels, in 0..C-1 (any integer dtype).
    Returns:
        int64 array (C, C), with C = y_hat.shape[1] even when a class never occurs: rows are the labels,
        columns the predictions; it sums to N and its trace is the number of right predictions.
    Raises:
        ValueError: for shapes as in accuracy, or a label outside 0..C-1.
    """
    y_hat, y = np.asarray(y_hat), np.asarray(y)
    if y_hat.ndim != 2 or y_hat.shape[0] == 0 or y.shape != (y_hat.shape[0],):
        raise ValueError(f"confusion_matrix: y_hat must have shape (N, C) with N >= 1 and y shape (N,), "
                         f"got shapes {y_hat.shape} and {y.shape}")
    num_classes = y_hat.shape[1]
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"confusion_matrix: labels must be in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    predictions = np.argmax(y_hat, axis=1)
    pairs = y.astype(np.int64) * num_classes + predictions  # one number per (label, prediction)
    return np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)
