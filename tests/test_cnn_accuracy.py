"""Chapter 6's recipe reaches 99 % test accuracy on MNIST, for every seed.

The recipe of the chapter's section 7, built from nnlib: standardized float32 images (N, 1, 28, 28), the first 55,000
training images (the last 5,000 are the chapter's validation set), the CNN Conv2d(1, 16, 5) - ReLU - MaxPool2d(2) -
Conv2d(16, 32, 5) - ReLU - MaxPool2d(2) - Flatten - Linear(512, 128) - ReLU - Linear(128, 10) - LogSoftmax with
NLLLoss, batches of 32, SGD with momentum 0.9 and a one-cycle learning rate (max 0.025) over 3 epochs; one random
generator per seed draws the initial weights, then the batch order. About a minute per seed on one idle core (the
test suite runs with one BLAS thread per worker).
"""
import numpy as np
import pytest

from nnlib.classification import LogSoftmax
from nnlib.conv import Conv2d, Flatten, MaxPool2d
from nnlib.layers import Linear, ReLU
from nnlib.metrics import accuracy
from nnlib.module import Sequential
from recipes import standardized_mnist, train_one_cycle


@pytest.fixture(scope="module")
def data():
    return standardized_mnist((1, 28, 28))


def cnn_model(rng):
    return Sequential(
        Conv2d(1, 16, 5, rng=rng, dtype=np.float32, input_grad=False), ReLU(), MaxPool2d(2),
        Conv2d(16, 32, 5, rng=rng, dtype=np.float32), ReLU(), MaxPool2d(2),
        Flatten(), Linear(512, 128, rng=rng, dtype=np.float32), ReLU(), Linear(128, 10, rng=rng, dtype=np.float32),
        LogSoftmax())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recipe_reaches_99_percent(data, seed):
    (X_train, y_train), (X_test, y_test) = data
    rng = np.random.default_rng(seed)
    model = train_one_cycle(cnn_model(rng), X_train, y_train, rng, num_epochs=3, batch_size=32, max_lr=0.025)
    assert all(p.data.dtype == np.float32 for p in model.parameters()), "the recipe trains in float32"
    y_hat = np.concatenate([model(X_test[start:start + 1000]) for start in range(0, len(X_test), 1000)])
    test_accuracy = accuracy(y_hat, y_test)
    print(f"seed {seed}: test accuracy {test_accuracy:.2%}")
    assert test_accuracy >= 0.99, f"seed {seed}: test accuracy {test_accuracy:.2%} < 99 %"
