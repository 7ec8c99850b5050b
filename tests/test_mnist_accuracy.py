"""Chapter 5's recipe reaches 98 % test accuracy on MNIST, for every seed (about 20 s on 2 idle cores).

The recipe of the chapter's section 7, built from nnlib: standardized float32 inputs, the first 55,000
training images (the last 5,000 are the chapter's validation set), a 784-256-10 ReLU network with
LogSoftmax and NLLLoss, batches of 64, SGD with momentum 0.9 and a one-cycle learning rate (max 0.05)
over 4 epochs; one random generator per seed draws the initial weights, then the batch order.
"""
import numpy as np
import pytest

from nnlib.classification import LogSoftmax
from nnlib.layers import Linear, ReLU
from nnlib.metrics import accuracy
from nnlib.module import Sequential
from recipes import standardized_mnist, train_one_cycle


@pytest.fixture(scope="module")
def data():
    return standardized_mnist((784,))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recipe_reaches_98_percent(data, seed):
    (X_train, y_train), (X_test, y_test) = data
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(784, 256, rng=rng, dtype=np.float32, input_grad=False), ReLU(),
                       Linear(256, 10, rng=rng, dtype=np.float32), LogSoftmax())
    model = train_one_cycle(model, X_train, y_train, rng, num_epochs=4, batch_size=64, max_lr=0.05)
    assert all(p.data.dtype == np.float32 for p in model.parameters()), "the recipe trains in float32"
    test_accuracy = accuracy(model(X_test), y_test)
    assert test_accuracy >= 0.98, f"seed {seed}: test accuracy {test_accuracy:.2%} < 98 %"
