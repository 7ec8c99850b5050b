"""Chapter 5's recipe reaches 98 % test accuracy on MNIST, for every seed (about 20 s on 2 idle cores).

The recipe of the chapter's section 7, built from nnlib: standardized float32 inputs, the first 55,000
training images (the last 5,000 are the chapter's validation set), a 784-256-10 ReLU network with
LogSoftmax and NLLLoss, batches of 64, SGD with momentum 0.9 and a one-cycle learning rate (max 0.05)
over 4 epochs; one random generator per seed draws the initial weights, then the batch order.
"""
import math

import numpy as np
import pytest

from nnlib.classification import LogSoftmax, NLLLoss
from nnlib.data import batches, load_mnist
from nnlib.layers import Linear, ReLU
from nnlib.metrics import accuracy
from nnlib.module import Sequential
from nnlib.optim import SGD
from nnlib.optim.lr_scheduler import one_cycle_lr
from nnlib.steps import train_step

NUM_TRAIN, NUM_EPOCHS, BATCH_SIZE, MAX_LR, MOMENTUM = 55_000, 4, 64, 0.05, 0.9


@pytest.fixture(scope="module")
def data():
    (images_train, labels_train), (images_test, labels_test) = load_mnist(flatten=True)
    X_train = images_train[:NUM_TRAIN].astype(np.float32) / np.float32(255)
    mean, std = X_train.mean(), X_train.std()
    X_train = (X_train - mean) / std
    X_test = (images_test.astype(np.float32) / np.float32(255) - mean) / std
    return (X_train, labels_train[:NUM_TRAIN]), (X_test, labels_test)


def train(seed, X, y):
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(784, 256, rng=rng, dtype=np.float32, input_grad=False), ReLU(),
                       Linear(256, 10, rng=rng, dtype=np.float32), LogSoftmax())
    loss_fn, optimizer = NLLLoss(), SGD(model.parameters(), lr=MAX_LR, momentum=MOMENTUM)
    total_steps, step = NUM_EPOCHS * math.ceil(len(X) / BATCH_SIZE), 0
    for _ in range(NUM_EPOCHS):
        for X_batch, y_batch in batches(X, y, BATCH_SIZE, rng=rng):
            optimizer.lr = one_cycle_lr(step, total_steps, MAX_LR)
            train_step(model, loss_fn, optimizer, X_batch, y_batch)
            step += 1
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recipe_reaches_98_percent(data, seed):
    (X_train, y_train), (X_test, y_test) = data
    model = train(seed, X_train, y_train)
    assert all(p.data.dtype == np.float32 for p in model.parameters()), "the recipe trains in float32"
    test_accuracy = accuracy(model(X_test), y_test)
    assert test_accuracy >= 0.98, f"seed {seed}: test accuracy {test_accuracy:.2%} < 98 %"
