"""Benchmark: the time to 99 % test accuracy on MNIST with a small CNN, nnlib against PyTorch, same recipe.

    python bench/cnn.py [--threads N] [--seeds 0 1 2] [--no-torch] [--target 0.99] [--no-mallopt] [--profile]

The recipe (chapter 6's): conv 5x5 with 16 filters -> ReLU -> max-pool 2 -> conv 5x5 with 32 filters -> ReLU ->
max-pool 2 -> Flatten -> Linear(512, 128) -> ReLU -> Linear(128, 10) -> LogSoftmax, NLLLoss; He initialization,
float32, NCHW inputs standardized with the training set's mean and std, batches of 32, SGD with momentum 0.9 and a
one-cycle learning rate (nnlib.optim.lr_scheduler.one_cycle_lr: linear warm-up over the first 15 % of the steps to 0.025, then
cosine down to 0) planned over 3 epochs. The test accuracy is evaluated every half epoch; a run stops at the first
evaluation with >= 99.0 %. The time to 99 % counts training only (the evaluations are not timed).

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

--profile answers where nnlib's step goes: it trains nnlib's side of the race alone (first seed) and prints the mean
time of each layer's forward and backward pass, and of the rest of the step, with the share of each in the step.
"""
from __future__ import annotations

import os
import sys
import time
from itertools import islice
from pathlib import Path

import options

OPTIONS = options.parse(__doc__.splitlines()[0], target=0.99, mallopt=True, profile=True)
ALLOCATOR = "glibc malloc at its defaults (--no-mallopt)" if OPTIONS.no_mallopt else options.keep_freed_memory()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np  # noqa: E402

import race  # noqa: E402
from nnlib.classification import LogSoftmax  # noqa: E402
from nnlib.conv import Conv2d, Flatten, MaxPool2d  # noqa: E402
from nnlib.data import batches, load_mnist  # noqa: E402
from nnlib.layers import Linear, ReLU  # noqa: E402
from nnlib.module import Sequential  # noqa: E402

torch = race.import_torch(OPTIONS)
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
    """The FLOPs of the products of one epoch (products() per batch, scaled to num_examples)."""
    return sum(2 * m * k * n for _, (m, k, n) in products(BATCH_SIZE)) * num_examples // BATCH_SIZE


def nnlib_model(rng: np.random.Generator) -> Sequential:
    """The chapter's CNN in nnlib, in float32, its weights drawn from rng."""
    f32 = np.float32
    return Sequential(Conv2d(1, C1, K, rng=rng, dtype=f32, input_grad=False), ReLU(), MaxPool2d(2),
                      Conv2d(C1, C2, K, rng=rng, dtype=f32), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(FEATURES, HIDDEN, rng=rng, dtype=f32), ReLU(),
                      Linear(HIDDEN, 10, rng=rng, dtype=f32), LogSoftmax())


def torch_model(weights: list[np.ndarray]):
    """The same network in PyTorch, with nnlib's initial weights."""
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, C1, K), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(C1, C2, K), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(FEATURES, HIDDEN), nn.ReLU(),
                          nn.Linear(HIDDEN, 10), nn.LogSoftmax(dim=1))
    conv1_w, conv1_b, conv2_w, conv2_b, linear1_w, linear1_b, linear2_w, linear2_b = weights
    with torch.no_grad():  # a Conv2d weight has PyTorch's layout; nnlib's Linear stores the transpose
        for layer, W, b in ((model[0], conv1_w, conv1_b), (model[3], conv2_w, conv2_b),
                            (model[7], linear1_w.T, linear1_b), (model[9], linear2_w.T, linear2_b)):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
            layer.bias.copy_(torch.from_numpy(b))
    return model


def make_runs(seed: int, total_steps: int) -> list:
    """nnlib's run for seed, and PyTorch's from the same initial weights if it is installed."""
    runs = [race.NnlibRun(nnlib_model(np.random.default_rng(seed)), total_steps, MAX_LR, MOMENTUM, EVAL_BATCH)]
    if torch is not None:
        runs.append(race.TorchRun(torch_model(runs[0].initial_weights()), total_steps, MAX_LR, MOMENTUM, EVAL_BATCH))
    return runs


def profile_layers(train_data, num_steps: int = 1000, warm_up: int = 200) -> None:
    """Train nnlib's run of the race (first seed) for warm_up steps, then time each layer's forward and backward
    pass over the next num_steps steps and print their means and shares of the step."""
    X, y = train_data
    seed = OPTIONS.seeds[0]
    run = race.NnlibRun(nnlib_model(np.random.default_rng(seed)), NUM_EPOCHS * -(-len(X) // BATCH_SIZE), MAX_LR,
                        MOMENTUM)
    mini_batches = batches(X, y, BATCH_SIZE, rng=seed)
    run.train(islice(mini_batches, warm_up))
    seconds = {}  # (layer index, "forward" or "backward") -> total seconds

    def timed(i: int, name: str, method):
        def call(*args):
            start = time.perf_counter()
            result = method(*args)
            seconds[i, name] = seconds.get((i, name), 0.0) + time.perf_counter() - start
            return result
        return call

    for i, layer in enumerate(run.model.layers):  # instance attributes: what Sequential calls from now on
        layer.forward, layer.backward = timed(i, "forward", layer.forward), timed(i, "backward", layer.backward)
    start = time.perf_counter()
    run.train(islice(mini_batches, num_steps))
    step = (time.perf_counter() - start) / num_steps
    print(f"nnlib, mean over steps {warm_up}-{warm_up + num_steps} of seed {seed}: {1e3 * step:.2f} ms per step of "
          f"{BATCH_SIZE} images")
    for i, layer in enumerate(run.model.layers):
        forward, backward = seconds[i, "forward"] / num_steps, seconds[i, "backward"] / num_steps
        print(f"  {layer!r:62} forward {1e3 * forward:6.3f} ms  backward {1e3 * backward:6.3f} ms  "
              f"({(forward + backward) / step:4.0%})")
    rest = step - sum(seconds.values()) / num_steps
    print(f"  {'loss, optimizer step and loop':62} {1e3 * rest:6.3f} ms ({rest / step:.0%})")


def main() -> None:
    race.print_setup(OPTIONS, torch)
    print(f"allocator: {ALLOCATOR}")
    train_data, test_data = load_data()
    if OPTIONS.profile:
        profile_layers(train_data)
        return
    rates = gemm_rates()
    print(f"float32 GEMM rate of the network's products for a batch of {BATCH_SIZE}: numpy "
          f"{rates['numpy'] / 1e9:.1f} GFLOP/s" + (f", torch {rates['torch'] / 1e9:.1f} GFLOP/s" if "torch" in rates
                                                  else "") +
          f"; numpy on a 1024^3 product: {rates['numpy 1024^3'] / 1e9:.1f} GFLOP/s")
    print(f"recipe: conv{K}x{K}-{C1} ReLU maxpool2 conv{K}x{K}-{C2} ReLU maxpool2 Linear({FEATURES}, {HIDDEN}) ReLU "
          f"Linear({HIDDEN}, 10), batch {BATCH_SIZE}, SGD momentum {MOMENTUM}, one-cycle max_lr {MAX_LR} over "
          f"{NUM_EPOCHS} epochs; target {OPTIONS.target:.1%} test accuracy, evaluated every half epoch\n")

    per_seed = race.race_seeds(OPTIONS.seeds, make_runs, train_data, test_data, BATCH_SIZE, NUM_EPOCHS,
                               OPTIONS.target)
    epoch_medians = race.print_summary(per_seed, OPTIONS.target, ratio_target=0.7)
    flops = flops_per_epoch(len(train_data[0]))
    for name, epoch in epoch_medians.items():
        rate = rates["numpy" if name == "nnlib" else "torch"]
        bound = flops / rate
        print(f"{name:8s} epoch time (median of {len(per_seed)} seeds): {epoch:.2f} s; lower bound "
              f"{flops / 1e9:.0f} GFLOP / {rate / 1e9:.1f} GFLOP/s (its GEMM rate on these products) = {bound:.2f} s "
              f"({epoch / bound:.1f}x the bound); at the 1024^3 rate: {flops / rates['numpy 1024^3']:.2f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
