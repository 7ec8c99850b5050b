"""Benchmark: the time to 99 % test accuracy on MNIST with a small CNN, nnlib against PyTorch, same recipe.

    python bench/cnn.py [--threads N] [--seeds 0 1 2] [--no-torch] [--target 0.99] [--no-mallopt]

The recipe (chapter 6's): conv 5x5 with 16 filters -> ReLU -> max-pool 2 -> conv 5x5 with 32 filters -> ReLU ->
max-pool 2 -> Flatten -> Linear(512, 128) -> ReLU -> Linear(128, 10) -> LogSoftmax, NLLLoss; He initialization,
float32, NCHW inputs standardized with the training set's mean and std, batches of 32, SGD with momentum 0.9 and a
one-cycle learning rate (nnlib.optim.lr_scheduler.one_cycle_lr: linear warm-up over the first 15 % of the steps to
0.025, then cosine down to 0) planned over 3 epochs. The test accuracy is evaluated every half epoch; a run stops at
the first evaluation with >= 99.0 %. The time to 99 % counts training only (the evaluations are not timed).

PyTorch is an OPTIONAL dependency of this benchmark only (not of the course): with it installed (the CPU build),
the same network, initial weights (copied from nnlib's), optimizer, schedule, batch size and batch order run in
PyTorch, interleaved with nnlib half-epoch by half-epoch (in alternating order) so that both see the same machine
load. Without it, that half is skipped.

Also printed: the float32 GEMM rate of the network's own matrix products for a batch (measured at the start, and
that of a large 1024 x 1024 x 1024 product for comparison) and each framework's epoch time against the FLOP-count
lower bound over that rate. The FLOPs: per example, 2 x (multiply-adds) of each product that a training step
must do: the forward product of each layer, the weight gradient of each layer, and the input gradient of every
layer but the first (whose input, the data, needs no gradient): both frameworks skip that one.

Setup, the same for both frameworks (they run in one process): the BLAS thread count is set before numpy is
imported (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS; threadpoolctl too, if it is installed) and
torch.set_num_threads. Unless --no-mallopt, glibc's allocator is told (mallopt) to keep freed memory instead of
returning it to the system: a training step allocates and frees tens of megabytes of arrays, and memory fresh from
the system costs a page fault per 4 KiB on first touch. (PyTorch's performance tuning guide, section "Switch Memory
allocator", recommends jemalloc or tcmalloc for the same reason: they reuse freed memory.) --threads 2 is for an
idle machine only: BLAS and OpenMP threads that wait by spinning slow both frameworks down by an order of magnitude
when other processes compete for the two cores. A benchmark prints figures; it asserts nothing.
"""
from __future__ import annotations

import argparse
import ctypes
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
ARGS.add_argument("--target", type=float, default=0.99, help="test accuracy to reach, default 0.99")
ARGS.add_argument("--no-mallopt", action="store_true", help="leave glibc's allocator at its defaults")
OPTIONS = ARGS.parse_args()
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(OPTIONS.threads)  # read by the BLAS libraries when they load: before numpy


def keep_freed_memory() -> str:
    """Ask glibc's malloc to serve large arrays from its heap and never give freed memory back to the system."""
    if OPTIONS.no_mallopt:
        return "glibc malloc at its defaults (--no-mallopt)"
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return "not glibc: allocator left at its defaults"
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
    if libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1):
        return "glibc malloc keeps freed memory (mallopt: mmap threshold 1 GiB, trim threshold 2 GiB)"
    return "mallopt refused: allocator left at its defaults"


ALLOCATOR = keep_freed_memory()

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402

from nnlib.classification import LogSoftmax, NLLLoss  # noqa: E402
from nnlib.conv import Conv2d, Flatten, MaxPool2d  # noqa: E402
from nnlib.data import batches, load_mnist  # noqa: E402
from nnlib.layers import Linear, ReLU  # noqa: E402
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

BATCH_SIZE, MAX_LR, MOMENTUM, NUM_EPOCHS = 32, 0.025, 0.9, 3
C1, C2, K, HIDDEN = 16, 32, 5, 128         # filters of the two convolutions, kernel size, hidden units
FEATURES = C2 * 4 * 4                      # 28 -> conv 24 -> pool 12 -> conv 8 -> pool 4
EVAL_BATCH = 1000                          # the test set is evaluated in chunks (im2col of 10,000 images: 0.6 GB)


def load_data():
    """Standardized float32 images: (X_train (60000, 1, 28, 28), y_train), (X_test (10000, 1, 28, 28), y_test)."""
    (images_train, y_train), (images_test, y_test) = load_mnist()
    X_train = images_train[:, None].astype(np.float32) / np.float32(255)
    mean, std = X_train.mean(), X_train.std()
    X_train = (X_train - mean) / std
    X_test = (images_test[:, None].astype(np.float32) / np.float32(255) - mean) / std
    return (X_train, y_train), (X_test, y_test)


def products(batch: int) -> list[tuple[str, tuple[int, int, int]]]:
    """The matrix products (m, k, n) of one training step of the network, by layer: what the FLOP count counts."""
    p1, p2 = batch * 24 * 24, batch * 8 * 8          # output positions of the two convolutions
    return [("conv1 forward", (p1, K * K, C1)), ("conv1 dL/dweight", (K * K, p1, C1)),
            ("conv2 forward", (p2, K * K * C1, C2)), ("conv2 dL/dweight", (K * K * C1, p2, C2)),
            ("conv2 dL/dX", (p2, C2, K * K * C1)),
            ("linear1 forward", (batch, FEATURES, HIDDEN)), ("linear1 dL/dweight", (FEATURES, batch, HIDDEN)),
            ("linear1 dL/dX", (batch, HIDDEN, FEATURES)),
            ("linear2 forward", (batch, HIDDEN, 10)), ("linear2 dL/dweight", (HIDDEN, batch, 10)),
            ("linear2 dL/dX", (batch, 10, HIDDEN))]


def gemm_rates(repeats: int = 20) -> dict[str, float]:
    """float32 FLOP/s: of the network's products for a batch (numpy, and torch if present), and of a 1024^3 product."""
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32))
             for _, (m, k, n) in products(BATCH_SIZE)]
    flops = sum(2 * m * k * n for _, (m, k, n) in products(BATCH_SIZE))

    def rate(pairs, matmul, flops):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                for A, B in pairs:
                    matmul(A, B)
            best = min(best, (time.perf_counter() - start) / repeats)
        return flops / best

    rates = {"numpy": rate(pairs, np.matmul, flops)}
    big = [(rng.standard_normal((1024, 1024), dtype=np.float32),) * 2]
    rates["numpy 1024^3"] = rate(big, np.matmul, 2 * 1024**3)
    if torch is not None:
        rates["torch"] = rate([(torch.from_numpy(A), torch.from_numpy(B)) for A, B in pairs], torch.matmul, flops)
    return rates


def flops_per_epoch(num_examples: int) -> int:
    """The FLOPs of the products of one epoch (products() per batch of 64, scaled to num_examples)."""
    return sum(2 * m * k * n for _, (m, k, n) in products(BATCH_SIZE)) * num_examples // BATCH_SIZE


class NnlibRun:
    """nnlib's side: chapter 6's network, SGD with momentum, train_step and one_cycle_lr."""

    name = "nnlib"

    def __init__(self, seed: int, total_steps: int):
        rng = np.random.default_rng(seed)
        f32 = np.float32
        self.model = Sequential(Conv2d(1, C1, K, rng=rng, dtype=f32, input_grad=False), ReLU(), MaxPool2d(2),
                                Conv2d(C1, C2, K, rng=rng, dtype=f32), ReLU(), MaxPool2d(2), Flatten(),
                                Linear(FEATURES, HIDDEN, rng=rng, dtype=f32), ReLU(),
                                Linear(HIDDEN, 10, rng=rng, dtype=f32), LogSoftmax())
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
        correct = sum(int((self.model(X[i:i + EVAL_BATCH]).argmax(axis=1) == y[i:i + EVAL_BATCH]).sum())
                      for i in range(0, len(X), EVAL_BATCH))
        return correct / len(X)


class TorchRun:
    """PyTorch's side: the same network, initial weights, optimizer, schedule and batches."""

    name = "PyTorch"

    def __init__(self, weights: list[np.ndarray], total_steps: int):
        nn = torch.nn
        self.model = nn.Sequential(nn.Conv2d(1, C1, K), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(C1, C2, K), nn.ReLU(),
                                   nn.MaxPool2d(2), nn.Flatten(), nn.Linear(FEATURES, HIDDEN), nn.ReLU(),
                                   nn.Linear(HIDDEN, 10), nn.LogSoftmax(dim=1))
        conv1_w, conv1_b, conv2_w, conv2_b, linear1_w, linear1_b, linear2_w, linear2_b = weights
        with torch.no_grad():  # a Conv2d weight has PyTorch's layout; nnlib's Linear stores the transpose
            for layer, W, b in ((self.model[0], conv1_w, conv1_b), (self.model[3], conv2_w, conv2_b),
                                (self.model[7], linear1_w.T, linear1_b), (self.model[9], linear2_w.T, linear2_b)):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
                layer.bias.copy_(torch.from_numpy(b))
        self.loss_fn = nn.NLLLoss()
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
            correct = sum(int((self.model(torch.from_numpy(X[i:i + EVAL_BATCH])).argmax(dim=1).numpy()
                               == y[i:i + EVAL_BATCH]).sum()) for i in range(0, len(X), EVAL_BATCH))
        return correct / len(X)


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
    print(f"allocator: {ALLOCATOR}")
    print(f"machine: {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f} "
          "(other processes running at the same time slow both frameworks down)")
    print(f"numpy {np.__version__}; " + (f"PyTorch {torch.__version__}" if torch is not None else
                                        "PyTorch not installed: its half of the benchmark is skipped "
                                        "(it is optional: pip install torch)"))
    train_data, test_data = load_data()
    rates = gemm_rates()
    print(f"float32 GEMM rate of the network's products for a batch of {BATCH_SIZE}: numpy "
          f"{rates['numpy'] / 1e9:.1f} GFLOP/s" + (f", torch {rates['torch'] / 1e9:.1f} GFLOP/s" if "torch" in rates
                                                  else "") +
          f"; numpy on a 1024^3 product: {rates['numpy 1024^3'] / 1e9:.1f} GFLOP/s")
    print(f"recipe: conv{K}x{K}-{C1} ReLU maxpool2 conv{K}x{K}-{C2} ReLU maxpool2 Linear({FEATURES}, {HIDDEN}) ReLU "
          f"Linear({HIDDEN}, 10), batch "
          f"{BATCH_SIZE}, SGD momentum {MOMENTUM}, one-cycle max_lr {MAX_LR} over {NUM_EPOCHS} epochs; target "
          f"{OPTIONS.target:.1%} test accuracy, evaluated every half epoch\n")

    times, epochs, epoch_times = {}, {}, {}
    for seed in OPTIONS.seeds:
        results = race(seed, train_data, test_data)
        for name, result in results.items():
            times.setdefault(name, []).append(result["seconds"])
            epochs.setdefault(name, []).append(result["epochs"])
            epoch_times.setdefault(name, []).append(result["epoch_seconds"])
            reached = (f"{result['seconds']:.1f} s ({result['epochs']:g} epochs)" if result["seconds"] is not None
                       else f"not reached in {NUM_EPOCHS} epochs")
            accuracies = " ".join(f"{a:.2%}" for a in result["accuracies"])
            print(f"seed {seed} {name:8s} time to {OPTIONS.target:.0%}: {reached}; epoch time "
                  f"{result['epoch_seconds']:.1f} s; test accuracy per half epoch: {accuracies}", flush=True)

    print()
    medians = {}
    for name, seconds in times.items():
        reached = [s for s in seconds if s is not None]
        if len(reached) == len(seconds):
            medians[name] = statistics.median(reached)
            print(f"{name:8s} median time to {OPTIONS.target:.0%} over {len(seconds)} seeds: {medians[name]:.1f} s "
                  f"(epochs: {', '.join(f'{e:g}' for e in epochs[name])})")
        else:
            print(f"{name:8s} reached {OPTIONS.target:.0%} in {len(reached)} of {len(seconds)} seeds")
    if len(medians) == 2:
        print(f"ratio nnlib / PyTorch of the times to {OPTIONS.target:.0%}: "
              f"{medians['nnlib'] / medians['PyTorch']:.2f} (target: <= 0.7)")
    flops = flops_per_epoch(len(train_data[0]))
    for name, seconds in epoch_times.items():
        epoch = statistics.median(seconds)
        rate = rates["numpy" if name == "nnlib" else "torch"]
        bound = flops / rate
        print(f"{name:8s} epoch time (median of {len(seconds)} seeds): {epoch:.2f} s; lower bound "
              f"{flops / 1e9:.0f} GFLOP / {rate / 1e9:.1f} GFLOP/s (its GEMM rate on these products) = {bound:.2f} s "
              f"({epoch / bound:.1f}x the bound); at the 1024^3 rate: {flops / rates['numpy 1024^3']:.2f} s")
    if len(epoch_times) == 2:
        ratio = statistics.median(epoch_times["nnlib"]) / statistics.median(epoch_times["PyTorch"])
        print(f"ratio nnlib / PyTorch of the epoch times: {ratio:.2f} (the same work for both: steadier than the "
              "times to the target, which jump by half an epoch when one framework crosses it one evaluation later)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
