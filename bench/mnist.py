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

import argparse
import os
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ARGS.add_argument("--threads", type=int, default=1, help="BLAS (and torch) threads, default 1")
ARGS.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds, default 0 1 2")
ARGS.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
ARGS.add_argument("--target", type=float, default=0.98, help="test accuracy to reach, default 0.98")
OPTIONS = ARGS.parse_args()
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(OPTIONS.threads)  # read by the BLAS libraries when they load: before numpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402

from nnlib.classification import LogSoftmax, NLLLoss  # noqa: E402
from nnlib.data import batches, load_mnist  # noqa: E402
from nnlib.layers import Linear, ReLU  # noqa: E402
from nnlib.metrics import accuracy  # noqa: E402
from nnlib.module import Sequential  # noqa: E402
from nnlib.optim import SGD  # noqa: E402
from nnlib.optim.lr_scheduler import one_cycle_lr  # noqa: E402
from nnlib.steps import train_step  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    threadpool_limits = threadpool_info = None
try:
    if OPTIONS.no_torch:
        raise ImportError
    import torch
except ImportError:
    torch = None

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


def race(seed: int, train_data, test_data) -> dict[str, dict]:
    """Train every framework from the same start, half an epoch at a time, in alternating order.

    Returns {framework: {"seconds": training time to the target or None, "epochs": epochs to the target or None,
    "epoch_seconds": training time per epoch (over the steps it took), "accuracies": [test accuracy at each
    evaluation]}}.
    """
    (X, y), (X_test, y_test) = train_data, test_data
    steps_per_epoch = -(-len(X) // BATCH_SIZE)
    total_steps = NUM_EPOCHS * steps_per_epoch
    runs = [NnlibRun(seed, total_steps)]
    if torch is not None:
        runs.append(TorchRun(runs[0].initial_weights(), total_steps))
    results = {run.name: {"seconds": None, "epochs": None, "accuracies": [], "clock": 0.0} for run in runs}
    half = steps_per_epoch // 2
    chunk_number = 0
    for epoch in range(NUM_EPOCHS):
        # every framework gets the same shuffled batches: the same generator, seeded the same way
        streams = {run.name: batches(X, y, BATCH_SIZE, rng=np.random.default_rng((seed, epoch))) for run in runs}
        for part, size in ((0.5, half), (1.0, steps_per_epoch - half)):
            order = runs if chunk_number % 2 == 0 else runs[::-1]
            chunk_number += 1
            for run in order:
                result = results[run.name]
                if result["seconds"] is not None:
                    continue  # this one has reached the target
                start = time.perf_counter()
                run.train(islice(streams[run.name], size))
                result["clock"] += time.perf_counter() - start
                result["accuracies"].append(run.test_accuracy(X_test, y_test))
                if result["accuracies"][-1] >= OPTIONS.target:
                    result["seconds"] = result["clock"]
                    result["epochs"] = epoch + part
        if all(result["seconds"] is not None for result in results.values()):
            break
    for run in runs:
        result = results[run.name]
        result["epoch_seconds"] = result.pop("clock") / run.step * steps_per_epoch
    return results


def main() -> None:
    if threadpool_limits is not None:
        threadpool_limits(OPTIONS.threads)
        libraries = ", ".join(f"{info['internal_api']} {info['version']} ({info['num_threads']} threads)"
                              for info in threadpool_info())
        how = f"threadpoolctl: {libraries}"
    else:
        how = "environment variables OMP/OPENBLAS/MKL_NUM_THREADS, set before numpy was imported"
    if torch is not None:
        torch.set_num_threads(OPTIONS.threads)
    print(f"BLAS threads: {OPTIONS.threads} ({how})" +
          (f"; torch threads: {torch.get_num_threads()}" if torch is not None else ""))
    print(f"machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f} "
          "(other processes running at the same time slow both frameworks down)")
    print(f"numpy {np.__version__}; " + (f"PyTorch {torch.__version__}" if torch is not None else
                                        "PyTorch not installed: its half of the benchmark is skipped "
                                        "(it is optional: pip install torch)"))
    train_data, test_data = load_data()
    numpy_rate, torch_rate = gemm_rate()
    print(f"float32 GEMM rate, first layer's three products for a batch of {BATCH_SIZE}: "
          f"numpy {numpy_rate / 1e9:.1f} GFLOP/s" + (f", torch {torch_rate / 1e9:.1f} GFLOP/s" if torch_rate else ""))
    print(f"recipe: 784-{HIDDEN}-10, batch {BATCH_SIZE}, SGD momentum {MOMENTUM}, one-cycle max_lr {MAX_LR} over "
          f"{NUM_EPOCHS} epochs; target {OPTIONS.target:.1%} test accuracy, evaluated every half epoch\n")

    times = {}
    epoch_times = {}
    for seed in OPTIONS.seeds:
        results = race(seed, train_data, test_data)
        for name, result in results.items():
            times.setdefault(name, []).append(result["seconds"])
            epoch_times.setdefault(name, []).append(result["epoch_seconds"])
            reached = (f"{result['seconds']:.2f} s ({result['epochs']:g} epochs)" if result["seconds"] is not None
                       else f"not reached in {NUM_EPOCHS} epochs")
            accuracies = " ".join(f"{a:.2%}" for a in result["accuracies"])
            print(f"seed {seed} {name:8s} time to {OPTIONS.target:.0%}: {reached}; test accuracy per half epoch: "
                  f"{accuracies}")

    print()
    medians = {}
    for name, seconds in times.items():
        reached = [s for s in seconds if s is not None]
        if len(reached) == len(seconds):
            medians[name] = statistics.median(reached)
            print(f"{name:8s} median time to {OPTIONS.target:.0%} over {len(seconds)} seeds: {medians[name]:.2f} s")
        else:
            print(f"{name:8s} reached {OPTIONS.target:.0%} in {len(reached)} of {len(seconds)} seeds")
    if len(medians) == 2:
        print(f"ratio nnlib / PyTorch of the times to {OPTIONS.target:.0%}: {medians['nnlib'] / medians['PyTorch']:.2f} "
              "(target: <= 0.8)")
    # Per example, each Linear layer does three products of 2 x weights flops (forward, dL/dW, dL/dX),
    # except the first, which skips dL/dX (the data's gradient): both frameworks skip it.
    first, second = 784 * HIDDEN, HIDDEN * 10
    flops = 2 * (2 * first + 3 * second) * len(train_data[0])
    for name, seconds in epoch_times.items():
        if seconds:
            epoch = statistics.median(seconds)
            bound = flops / numpy_rate
            print(f"{name:8s} epoch time (median of {len(seconds)} seeds): {epoch:.2f} s; lower bound "
                  f"{flops / 1e9:.1f} GFLOP (2 products of the first layer, 3 of the second) / "
                  f"{numpy_rate / 1e9:.1f} GFLOP/s = {bound:.2f} s ({epoch / bound:.1f}x the bound)")
    if len(epoch_times) == 2:
        ratio = statistics.median(epoch_times["nnlib"]) / statistics.median(epoch_times["PyTorch"])
        print(f"ratio nnlib / PyTorch of the epoch times: {ratio:.2f} (the same work for both: steadier than the "
              "times to the target, which jump by half an epoch when rounding makes one framework cross it one "
              "evaluation later)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
