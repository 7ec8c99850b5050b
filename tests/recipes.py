"""What the accuracy tests of chapters 5 and 6 share: the chapters' data preparation and training loop.

Both chapters train with SGD with momentum and the one-cycle learning rate, on the first 55,000 training images
(the last 5,000 are the chapters' validation set), standardized with those images' mean and std.
"""
import math

import numpy as np

from nnlib.classification import NLLLoss
from nnlib.data import batches, load_mnist
from nnlib.module import Module
from nnlib.optim import SGD
from nnlib.optim.lr_scheduler import one_cycle_lr
from nnlib.steps import train_step

NUM_TRAIN = 55_000


def standardized_mnist(shape: tuple[int, ...]) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(X_train, y_train), (X_test, y_test): float32 images reshaped to (N, *shape), standardized with the mean and
    std of the NUM_TRAIN training images."""
    (images_train, y_train), (images_test, y_test) = load_mnist()
    scaled = images_train[:NUM_TRAIN].astype(np.float32) / np.float32(255)
    mean, std = scaled.mean(), scaled.std()

    def preprocess(images: np.ndarray) -> np.ndarray:
        return ((images.astype(np.float32) / np.float32(255) - mean) / std).reshape(len(images), *shape)

    return (preprocess(images_train[:NUM_TRAIN]), y_train[:NUM_TRAIN]), (preprocess(images_test), y_test)


def train_one_cycle(model: Module, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, num_epochs: int,
                    batch_size: int, max_lr: float, momentum: float = 0.9) -> Module:
    """Train model with NLLLoss, SGD with momentum and one_cycle_lr over num_epochs; rng draws the batch order."""
    loss_fn, optimizer = NLLLoss(), SGD(model.parameters(), lr=max_lr, momentum=momentum)
    total_steps, step = num_epochs * math.ceil(len(X) / batch_size), 0
    for _ in range(num_epochs):
        for X_batch, y_batch in batches(X, y, batch_size, rng=rng):
            optimizer.lr = one_cycle_lr(step, total_steps, max_lr)
            train_step(model, loss_fn, optimizer, X_batch, y_batch)
            step += 1
    return model
