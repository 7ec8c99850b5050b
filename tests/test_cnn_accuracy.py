"""Chapter 6's recipe reaches 99 % test accuracy on MNIST, for every seed.

The recipe of the chapter's section 7, built from nnlib: standardized float32 images (N, 1, 28, 28), the first 55,000
training images (the last 5,000 are the chapter's validation set), the CNN Conv2d(1, 16, 5) - ReLU - MaxPool2d(2) -
Conv2d(16, 32, 5) - ReLU - MaxPool2d(2) - Flatten - Linear(512, 128) - ReLU - Linear(128, 10) - LogSoftmax with
NLLLoss, batches of 32, SGD with momentum 0.9 and a one-cycle learning rate (max 0.025) over 3 epochs; one random
generator per seed draws the initial weights, then the batch order. About a minute per seed on one idle core (the
test suite runs with one BLAS thread per worker).
"""
import math

import numpy as np
import pytest

from nnlib.classification import LogSoftmax, NLLLoss
from nnlib.conv import Conv2d, Flatten, MaxPool2d
from nnlib.data import batches, load_mnist
from nnlib.layers import Linear, ReLU
from nnlib.metrics import accuracy
from nnlib.module import Sequential
from nnlib.optim import SGD
from nnlib.optim.lr_scheduler import one_cycle_lr
from nnlib.steps import train_step

NUM_TRAIN, NUM_EPOCHS, BATCH_SIZE, MAX_LR, MOMENTUM = 55_000, 3, 32, 0.025, 0.9


@pytest.fixture(scope="module")
def data():
    (images_train, labels_train), (images_test, labels_test) = load_mnist()
    scaled = images_train[:NUM_TRAIN].astype(np.float32) / np.float32(255)
    mean, std = scaled.mean(), scaled.std()

    def preprocess(images):
        return ((images.astype(np.float32) / np.float32(255) - mean) / std)[:, None]

    return (preprocess(images_train[:NUM_TRAIN]), labels_train[:NUM_TRAIN]), (preprocess(images_test), labels_test)


def cnn_model(rng):
    return Sequential(
        Conv2d(1, 16, 5, rng=rng, dtype=np.float32, input_grad=False), ReLU(), MaxPool2d(2),
        Conv2d(16, 32, 5, rng=rng, dtype=np.float32), ReLU(), MaxPool2d(2),
        Flatten(), Linear(512, 128, rng=rng, dtype=np.float32), ReLU(), Linear(128, 10, rng=rng, dtype=np.float32),
        LogSoftmax())


def train(seed, X, y):
    rng = np.random.default_rng(seed)
    model = cnn_model(rng)
    loss_fn, optimizer = NLLLoss(), SGD(model.parameters(), lr=MAX_LR, momentum=MOMENTUM)
    total_steps, step = NUM_EPOCHS * math.ceil(len(X) / BATCH_SIZE), 0
    for _ in range(NUM_EPOCHS):
        for X_batch, y_batch in batches(X, y, BATCH_SIZE, rng=rng):
            optimizer.lr = one_cycle_lr(step, total_steps, MAX_LR)
            train_step(model, loss_fn, optimizer, X_batch, y_batch)
            step += 1
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recipe_reaches_99_percent(data, seed):
    (X_train, y_train), (X_test, y_test) = data
    model = train(seed, X_train, y_train)
    assert all(p.data.dtype == np.float32 for p in model.parameters()), "the recipe trains in float32"
    y_hat = np.concatenate([model(X_test[start:start + 1000]) for start in range(0, len(X_test), 1000)])
    test_accuracy = accuracy(y_hat, y_test)
    print(f"seed {seed}: test accuracy {test_accuracy:.2%}")
    assert test_accuracy >= 0.99, f"seed {seed}: test accuracy {test_accuracy:.2%} < 99 %"
