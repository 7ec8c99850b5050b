"""Benchmark: the time to 98 % test accuracy on MNIST, nnlib against PyTorch, with the same recipe.

    python bench/mnist.py [--threads N] [--seeds 0 1 2] [--no-torch]

The recipe (chapter 5's, on the full training set): 784-256-10 ReLU network ending in LogSoftmax, NLLLoss,
He initialization, float32, inputs standardized with the training set's mean and std, batches of 64, SGD with
momentum 0.9 and a one-cycle learning rate (linear warm-up over the first 15 % of the steps to 0.05, then cosine
down to 0) planned over 4 epochs. The test accuracy is evaluated every half epoch; a run stops at the first
evaluation with >= 98.0 %. The time to 98 % counts training only (the evaluations are not timed).

PyTorch is an OPTIONAL dependency of this benchmark only (not of the course): with it installed
(`pip install torch`, the CPU build), the same network, initial weights (copied from nnlib's), optimizer,
schedule, batch size and batch order run in PyTorch, interleaved with nnlib half-epoch by half-epoch (in
alternating order) so that both see the same machine load. Without it, that half is skipped.

Also printed: the float32 GEMM rate of the layer sizes (measured at the start) and nnlib's epoch time against
the FLOP-count lower bound (2 x weights flops per product and example: 3 products per layer, 2 for the
first, whose input needs no gradient) over that rate. The BLAS thread count is set
before numpy is imported (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS; threadpoolctl too, if it is
installed) and torch.set_num_threads. A benchmark prints figures; it asserts nothing.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import options

OPTIONS = options.parse(__doc__.splitlines()[0], target=0.98)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402

import race  # noqa: E402
from nnlib.classification import LogSoftmax, NLLLoss  # noqa: E402
from nnlib.data import load_mnist  # noqa: E402
from nnlib.layers import Linear, ReLU  # noqa: E402
from nnlib.metrics import accuracy  # noqa: E402
from nnlib.module import Sequential  # noqa: E402
from nnlib.optim import SGD  # noqa: E402
from nnlib.trainer import one_cycle_lr, train_step  # noqa: E402

torch = race.import_torch(OPTIONS)
HIDDEN, BATCH_SIZE, MAX_LR, MOMENTUM, NUM_EPOCHS = 256, 64, 0.05, 0.9, 4


def load_data():
    """Standardized float32 rows: (X_train (60000, 784), y_train), (X_test (10000, 784), y_test)."""
    (images_train, y_train), (images_test, y_test) = load_mnist(flatten=True)
    X_train = images_train.astype(np.float32) / np.float32(255)
    mean, std = X_train.mean(), X_train.std()
    X_train = (X_train - mean) / std
    X_test = (images_test.astype(np.float32) / np.float32(255) - mean) / std
    return (X_train, y_train), (X_test, y_test)


def gemm_rate(repeats: int = 200) -> tuple[float, float | None]:
    """float32 FLOP/s of the first layer's three products for a batch (numpy, and torch if present)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH_SIZE, 784), dtype=np.float32)
    W = rng.standard_normal((784, HIDDEN), dtype=np.float32)
    G = rng.standard_normal((BATCH_SIZE, HIDDEN), dtype=np.float32)
    flops = 3 * 2 * BATCH_SIZE * 784 * HIDDEN

    def rate(forward, weight_grad, input_grad):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(repeats):
                forward(), weight_grad(), input_grad()
            best = min(best, (time.perf_counter() - start) / repeats)
        return flops / best

    numpy_rate = rate(lambda: X @ W, lambda: X.T @ G, lambda: G @ W.T)
    torch_rate = None
    if torch is not None:
        Xt, Wt, Gt = torch.from_numpy(X), torch.from_numpy(W), torch.from_numpy(G)
        torch_rate = rate(lambda: Xt @ Wt, lambda: Xt.T @ Gt, lambda: Gt @ Wt.T)
    return numpy_rate, torch_rate


class NnlibRun:
    """nnlib's side: the chapter's model, SGD with momentum, train_step and one_cycle_lr."""

    name = "nnlib"

    def __init__(self, seed: int, total_steps: int):
        rng = np.random.default_rng(seed)
        self.model = Sequential(Linear(784, HIDDEN, rng=rng, dtype=np.float32, input_grad=False), ReLU(),
                                Linear(HIDDEN, 10, rng=rng, dtype=np.float32), LogSoftmax())
        self.loss_fn = NLLLoss()
        self.optimizer = SGD(self.model.parameters(), lr=MAX_LR, momentum=MOMENTUM)
        self.step, self.total_steps = 0, total_steps

    def initial_weights(self) -> list[np.ndarray]:
        return [p.data.copy() for p in self.model.parameters()]

    def train(self, mini_batches) -> None:
        for X_batch, y_batch in mini_batches:
            self.optimizer.lr = one_cycle_lr(self.step, self.total_steps, MAX_LR)
            train_step(self.model, self.loss_fn, self.optimizer, X_batch, y_batch)
            self.step += 1

    def test_accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return accuracy(self.model(X), y)


class TorchRun:
    """PyTorch's side: the same network, initial weights, optimizer, schedule and batches."""

    name = "PyTorch"

    def __init__(self, weights: list[np.ndarray], total_steps: int):
        W1, b1, W2, b2 = weights
        self.model = torch.nn.Sequential(torch.nn.Linear(784, HIDDEN), torch.nn.ReLU(),
                                         torch.nn.Linear(HIDDEN, 10), torch.nn.LogSoftmax(dim=1))
        with torch.no_grad():  # PyTorch stores the transpose of nnlib's weight
            for layer, W, b in ((self.model[0], W1, b1), (self.model[2], W2, b2)):
                layer.weight.copy_(torch.from_numpy(W.T.copy()))
                layer.bias.copy_(torch.from_numpy(b))
        self.loss_fn = torch.nn.NLLLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=MAX_LR, momentum=MOMENTUM)
        self.step, self.total_steps = 0, total_steps

    def train(self, mini_batches) -> None:
        for X_batch, y_batch in mini_batches:
            self.optimizer.param_groups[0]["lr"] = one_cycle_lr(self.step, self.total_steps, MAX_LR)
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(torch.from_numpy(X_batch)), torch.from_numpy(y_batch))
            loss.backward()
            self.optimizer.step()
            self.step += 1

    def test_accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        with torch.no_grad():
            return float((self.model(torch.from_numpy(X)).argmax(dim=1).numpy() == y).mean())



def make_runs(seed: int, total_steps: int) -> list:
    """nnlib's run for seed, and PyTorch's from the same initial weights if it is installed."""
    runs = [NnlibRun(seed, total_steps)]
    if torch is not None:
        runs.append(TorchRun(runs[0].initial_weights(), total_steps))
    return runs


def main() -> None:
    race.print_setup(OPTIONS, torch)
    train_data, test_data = load_data()
    numpy_rate, torch_rate = gemm_rate()
    print(f"float32 GEMM rate, first layer's three products for a batch of {BATCH_SIZE}: "
          f"numpy {numpy_rate / 1e9:.1f} GFLOP/s" + (f", torch {torch_rate / 1e9:.1f} GFLOP/s" if torch_rate else ""))
    print(f"recipe: 784-{HIDDEN}-10, batch {BATCH_SIZE}, SGD momentum {MOMENTUM}, one-cycle max_lr {MAX_LR} over "
          f"{NUM_EPOCHS} epochs; target {OPTIONS.target:.1%} test accuracy, evaluated every half epoch\n")

    per_seed = race.race_seeds(OPTIONS.seeds, make_runs, train_data, test_data, BATCH_SIZE, NUM_EPOCHS,
                               OPTIONS.target)
    epoch_medians = race.print_summary(per_seed, OPTIONS.target, ratio_target=0.8)
    # Per example, each Linear layer does three products of 2 x weights flops (forward, dL/dW, dL/dX),
    # except the first, which skips dL/dX (the data's gradient): both frameworks skip it.
    first, second = 784 * HIDDEN, HIDDEN * 10
    flops = 2 * (2 * first + 3 * second) * len(train_data[0])
    bound = flops / numpy_rate
    for name, epoch in epoch_medians.items():
        print(f"{name:8s} epoch time (median of {len(per_seed)} seeds): {epoch:.2f} s; lower bound "
              f"{flops / 1e9:.1f} GFLOP (2 products of the first layer, 3 of the second) / "
              f"{numpy_rate / 1e9:.1f} GFLOP/s = {bound:.2f} s ({epoch / bound:.1f}x the bound)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
