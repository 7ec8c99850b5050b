"""nnlib.training: fit's mini-batches, shuffling, history, and that it trains."""
import numpy as np
import pytest

from nnlib.layers import Linear, ReLU
from nnlib.losses import MSELoss
from nnlib.module import Module, Sequential
from nnlib.optim import SGD
from nnlib.testing import assert_close
from nnlib.training import fit


def regression_data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = 1.5 * X[:, :1] - 2.0 * X[:, 1:2] + 0.5 * X[:, 2:] + 0.3  # (n, 1): what Linear(3, 1) can learn exactly
    return X, y


class Recorder(Module):
    """The identity on the first column, recording the rows of every batch it sees."""

    def __init__(self):
        self.batches = []

    def forward(self, X):
        self.batches.append(X[:, 0].copy())
        return X[:, :1]

    def backward(self, grad_output):
        return np.zeros((len(grad_output), 2))


class CountingSGD(SGD):
    """SGD that counts its steps and zero_grad calls."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = self.zeros = 0

    def step(self):
        self.steps += 1
        super().step()

    def zero_grad(self):
        self.zeros += 1
        super().zero_grad()


def test_linear_regression_recovers_the_weights():
    X, y = regression_data()
    model = Linear(3, 1, rng=0)
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), X, y, batch_size=16, num_epochs=30)
    assert_close(model.weight.data, np.array([[1.5], [-2.0], [0.5]]), atol=1e-4)
    assert_close(model.bias.data, np.array([0.3]), atol=1e-4)
    assert len(history["train_loss"]) == 30 and history["val_loss"] == []
    assert history["train_loss"][-1] < 1e-3 * history["train_loss"][0], "the loss falls"


def test_every_example_is_seen_once_per_epoch_in_shuffled_batches():
    X = np.column_stack([np.arange(10.0), np.zeros(10)])
    model = Recorder()
    optimizer = CountingSGD([Linear(1, 1, rng=0).weight], lr=0.0)
    fit(model, MSELoss(), optimizer, X, np.zeros((10, 1)), batch_size=4, num_epochs=3, rng=1)
    assert [len(batch) for batch in model.batches] == [4, 4, 2] * 3, "batches of 4, the last one smaller"
    epochs = [np.concatenate(model.batches[3 * k:3 * k + 3]) for k in range(3)]
    for seen in epochs:
        assert_close(np.sort(seen), np.arange(10.0), rtol=0, msg="each example once per epoch")
    assert not np.array_equal(epochs[0], epochs[1]), "the order changes from epoch to epoch"
    assert not np.array_equal(epochs[0], np.arange(10.0)), "the examples are shuffled"
    assert optimizer.steps == 9 and optimizer.zeros == 9, "one zero_grad and one step per batch"


def test_train_loss_is_the_size_weighted_mean_of_the_batch_losses():
    # With lr = 0 the model never changes, so every epoch's training loss is the loss on all the data,
    # provided the batches are weighted by their sizes (10 examples in batches of 4, 4 and 2).
    X, y = regression_data(n=10)
    model = Linear(3, 1, rng=0)
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.0), X, y, batch_size=4, num_epochs=2,
                  X_val=X[:5], y_val=y[:5])
    full = MSELoss()(model(X), y)
    assert_close(history["train_loss"], [full, full], rtol=1e-12)
    val = MSELoss()(model(X[:5]), y[:5])
    assert_close(history["val_loss"], [val, val], rtol=1e-12)


def test_validation_loss_is_measured_after_each_epoch():
    X, y = regression_data(seed=1)
    model = Sequential(Linear(3, 8, rng=0), ReLU(), Linear(8, 1, rng=1))
    history = fit(model, MSELoss(), SGD(model.parameters(), lr=0.05, momentum=0.9), X[:150], y[:150],
                  batch_size=32, num_epochs=5, X_val=X[150:], y_val=y[150:])
    assert len(history["val_loss"]) == 5
    assert_close(history["val_loss"][-1], MSELoss()(model(X[150:]), y[150:]), rtol=1e-12,
                 msg="the last validation loss is the loss of the final model")
    assert all(isinstance(v, float) for v in history["train_loss"] + history["val_loss"])


def test_runs_repeat_with_the_same_seed():
    X, y = regression_data()
    histories = []
    for seed in [3, 3, 4]:
        model = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(4, 1, rng=1))
        histories.append(fit(model, MSELoss(), SGD(model.parameters(), lr=0.01), X, y, batch_size=7, num_epochs=2,
                             rng=seed)["train_loss"])
    assert_close(histories[0], histories[1], rtol=0, msg="same seed, same history")
    assert not np.allclose(histories[0], histories[2]), "another seed shuffles differently"


def test_invalid_arguments_name_the_shapes():
    X, y = regression_data(n=10)
    model = Linear(3, 1, rng=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"\(10, 3\).*\(9, 1\)"):
        fit(model, MSELoss(), optimizer, X, y[:9], batch_size=4, num_epochs=1)
    with pytest.raises(ValueError, match="both X_val and y_val"):
        fit(model, MSELoss(), optimizer, X, y, batch_size=4, num_epochs=1, X_val=X)
    with pytest.raises(ValueError, match=r"\(10, 3\).*\(4, 1\)"):
        fit(model, MSELoss(), optimizer, X, y, batch_size=4, num_epochs=1, X_val=X, y_val=y[:4])
