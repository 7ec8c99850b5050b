"""nnlib.metrics: accuracy and the confusion matrix, against counting by hand, by construction and in a loop."""
import numpy as np
import pytest

from nnlib.metrics import accuracy, confusion_matrix
from nnlib.testing import assert_close

Y_HAT = np.array([[0.1, 0.7, 0.2],
                  [2.0, -1.0, 0.5],
                  [-3.0, -0.1, -2.0],
                  [0.3, 0.3, 0.4],
                  [5.0, 1.0, 4.0]])  # predictions 1, 0, 1, 2, 0
Y = np.array([1, 0, 2, 2, 1])


def test_accuracy_by_hand():
    result = accuracy(Y_HAT, Y)
    assert isinstance(result, float)
    assert_close(result, 3 / 5)
    assert_close(accuracy(Y_HAT, np.array([1, 0, 1, 2, 0])), 1.0)
    assert_close(accuracy(Y_HAT, np.array([0, 1, 0, 0, 2])), 0.0)


def scores_with_known_accuracy(rng, n, c):
    """Random scores (n, c), labels (n,) and the number of rows whose label has the largest score: for each row,
    a coin flip either raises the label's score above all the others, or lowers it below them."""
    scores = rng.standard_normal((n, c))
    labels = rng.integers(0, c, n)
    right = rng.random(n) < 0.5
    for i in range(n):
        others = np.delete(scores[i], labels[i])
        scores[i, labels[i]] = others.max() + rng.uniform(0.01, 1) if right[i] else others.min() - rng.uniform(0.01, 1)
    return scores, labels, int(right.sum())


def test_accuracy_counts_the_argmax_of_each_row():
    rng = np.random.default_rng(0)
    for n, c in [(100, 10), (3, 7), (1, 2), (40, 3), (7, 7)]:
        scores, labels, right = scores_with_known_accuracy(rng, n, c)
        assert_close(accuracy(scores, labels), right / n, rtol=1e-12, msg=f"{right} of {n} rows right")
        # the softmax and the log keep the order: probabilities and log-probabilities give the same answer
        probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        assert_close(accuracy(probs, labels), right / n, rtol=1e-12)
        assert_close(accuracy(np.log(probs), labels), right / n, rtol=1e-12)


def test_ties_go_to_the_first_class():
    assert_close(accuracy(np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([0, 0])), 1.0)


@pytest.mark.parametrize("y_hat, y", [
    (np.zeros((4, 3)), np.zeros((4, 1), dtype=int)),  # (N, 1) labels would broadcast into (N, N)
    (np.zeros((4, 3)), np.zeros(5, dtype=int)),
    (np.zeros(4), np.zeros(4, dtype=int)),
    (np.zeros((0, 3)), np.zeros(0, dtype=int)),
])
def test_shapes_are_checked(y_hat, y):
    with pytest.raises(ValueError, match="shape"):
        accuracy(y_hat, y)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(y_hat, y)


def test_confusion_matrix_by_hand():
    counts = confusion_matrix(Y_HAT, Y)
    # (label, prediction) pairs: (1, 1), (0, 0), (2, 1), (2, 2), (1, 0)
    expected = np.array([[1, 0, 0],
                         [1, 1, 0],
                         [0, 1, 1]])
    assert counts.dtype == np.int64
    assert_close(counts, expected, rtol=0, atol=0)


def test_confusion_matrix_against_a_loop():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((500, 10))
    labels = rng.integers(0, 10, 500)
    expected = np.zeros((10, 10), dtype=np.int64)
    for row, label in zip(scores, labels):
        expected[label, int(np.argmax(row))] += 1
    counts = confusion_matrix(scores, labels)
    assert_close(counts, expected, rtol=0, atol=0)
    assert_close(counts.sum(axis=1), np.bincount(labels, minlength=10), rtol=0, atol=0, msg="row sums")
    assert_close(np.trace(counts) / 500, accuracy(scores, labels), rtol=1e-12, msg="trace / N")


def test_confusion_matrix_keeps_classes_that_never_occur():
    counts = confusion_matrix(np.eye(4)[[0, 0, 1]], np.array([0, 1, 1]))
    assert counts.shape == (4, 4)
    assert_close(counts, np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]), rtol=0, atol=0)


def test_confusion_matrix_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        confusion_matrix(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        confusion_matrix(np.zeros((2, 3)), np.array([-1, 0]))
