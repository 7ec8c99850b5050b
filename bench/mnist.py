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
from nnlib.classification import LogSoftmax  # noqa: E402
from nnlib.data import load_mnist  # noqa: E402
from nnlib.layers import Linear, ReLU  # noqa: E402
from nnlib.module import Sequential  # noqa: E402

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


def nnlib_model(rng: np.random.Generator) -> Sequential:
    """The chapter's MLP in nnlib, in float32, its weights drawn from rng."""
    return Sequential(Linear(784, HIDDEN, rng=rng, dtype=np.float32, input_grad=False), ReLU(),
                      Linear(HIDDEN, 10, rng=rng, dtype=np.float32), LogSoftmax())


def torch_model(weights: list[np.ndarray]):
    """The same network in PyTorch, with nnlib's initial weights."""
    W1, b1, W2, b2 = weights
    model = torch.nn.Sequential(torch.nn.Linear(784, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10),
                                torch.nn.LogSoftmax(dim=1))
    with torch.no_grad():  # PyTorch stores the transpose of nnlib's weight
        for layer, W, b in ((model[0], W1, b1), (model[2], W2, b2)):
            layer.weight.copy_(torch.from_numpy(W.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    return model


def make_runs(seed: int, total_steps: int) -> list:
    """nnlib's run for seed, and PyTorch's from the same initial weights if it is installed."""
    runs = [race.NnlibRun(nnlib_model(np.random.default_rng(seed)), total_steps, MAX_LR, MOMENTUM, eval_batch=10_000)]
    if torch is not None:
        runs.append(race.TorchRun(torch_model(runs[0].initial_weights()), total_steps, MAX_LR, MOMENTUM,
                                  eval_batch=10_000))
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
