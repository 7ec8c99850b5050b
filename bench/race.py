"""What bench/mnist.py and bench/cnn.py share: the setup report, the race of nnlib against PyTorch from the same
start, half an epoch at a time, and the summary of the times to the target.

A framework's side of the race is an object with `name`, `step` (the steps taken so far), `train(mini_batches)`
and `test_accuracy(X, y)`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from types import ModuleType
from typing import Protocol

import numpy as np

from nnlib.classification import NLLLoss
from nnlib.data import batches
from nnlib.module import Module
from nnlib.optim import SGD
from nnlib.optim.lr_scheduler import one_cycle_lr
from nnlib.steps import train_step


class Run(Protocol):
    name: str
    step: int

    def train(self, mini_batches) -> None: ...

    def test_accuracy(self, X: np.ndarray, y: np.ndarray) -> float: ...


class NnlibRun:
    """nnlib's side: a model trained with NLLLoss, SGD with momentum, train_step and one_cycle_lr."""

    name = "nnlib"

    def __init__(self, model: Module, total_steps: int, max_lr: float, momentum: float, eval_batch: int = 1000):
        self.model, self.loss_fn = model, NLLLoss()
        self.optimizer = SGD(model.parameters(), lr=max_lr, momentum=momentum)
        self.step, self.total_steps, self.max_lr, self.eval_batch = 0, total_steps, max_lr, eval_batch

    def initial_weights(self) -> list[np.ndarray]:
        return [p.data.copy() for p in self.model.parameters()]

    def train(self, mini_batches) -> None:
        for X_batch, y_batch in mini_batches:
            self.optimizer.lr = one_cycle_lr(self.step, self.total_steps, self.max_lr)
            train_step(self.model, self.loss_fn, self.optimizer, X_batch, y_batch)
            self.step += 1

    def test_accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """The accuracy on X, y, evaluated eval_batch examples at a time."""
        correct = sum(int((self.model(X[i:i + self.eval_batch]).argmax(axis=1) == y[i:i + self.eval_batch]).sum())
                      for i in range(0, len(X), self.eval_batch))
        return correct / len(X)


class TorchRun:
    """PyTorch's side: a torch model (with nnlib's initial weights) trained with the same loss, optimizer, schedule
    and batches."""

    name = "PyTorch"

    def __init__(self, model, total_steps: int, max_lr: float, momentum: float, eval_batch: int = 1000):
        import torch
        self.torch, self.model, self.loss_fn = torch, model, torch.nn.NLLLoss()
        self.optimizer = torch.optim.SGD(model.parameters(), lr=max_lr, momentum=momentum)
        self.step, self.total_steps, self.max_lr, self.eval_batch = 0, total_steps, max_lr, eval_batch

    def train(self, mini_batches) -> None:
        torch = self.torch
        for X_batch, y_batch in mini_batches:
            self.optimizer.param_groups[0]["lr"] = one_cycle_lr(self.step, self.total_steps, self.max_lr)
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(torch.from_numpy(X_batch)), torch.from_numpy(y_batch))
            loss.backward()
            self.optimizer.step()
            self.step += 1

    def test_accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """The accuracy on X, y, evaluated eval_batch examples at a time."""
        torch = self.torch
        with torch.no_grad():
            correct = sum(int((self.model(torch.from_numpy(X[i:i + self.eval_batch])).argmax(dim=1).numpy()
                               == y[i:i + self.eval_batch]).sum()) for i in range(0, len(X), self.eval_batch))
        return correct / len(X)


def import_torch(options: argparse.Namespace) -> ModuleType | None:
    """PyTorch, with options.threads threads; None if it is not installed or --no-torch."""
    if options.no_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(options.threads)
    return torch


def cpu_model() -> str:
    """The CPU's model name and its widest vector instructions (AVX-512, AVX2), read from /proc/cpuinfo on Linux.

    The ratio of two frameworks' times depends on it: PyTorch's CPU kernels (oneDNN) gain more from AVX-512 than
    numpy's element-wise passes do."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "CPU model unknown (no /proc/cpuinfo)"
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{fields.get('model name', 'CPU model unknown')} ({vector})"


def print_setup(options: argparse.Namespace, torch: ModuleType | None) -> None:
    """Print the thread counts (limited with threadpoolctl where it is installed), the machine's load, versions."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        how = "environment variables OMP/OPENBLAS/MKL_NUM_THREADS, set before numpy was imported"
    else:
        threadpool_limits(options.threads)
        how = "threadpoolctl: " + ", ".join(f"{info['internal_api']} {info['version']} ({info['num_threads']} threads)"
                                            for info in threadpool_info())
    print(f"BLAS threads: {options.threads} ({how})" +
          (f"; torch threads: {torch.get_num_threads()}" if torch is not None else ""))
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, load average at start {os.getloadavg()[0]:.2f} "
          "(other processes running at the same time slow both frameworks down)")
    print(f"numpy {np.__version__}; " + (f"PyTorch {torch.__version__}" if torch is not None else
                                        "PyTorch not installed: its half of the benchmark is skipped "
                                        "(it is optional: pip install torch)"))


def race(runs: list[Run], seed: int, train_data, test_data, batch_size: int, num_epochs: int,
         target: float) -> dict[str, dict]:
    """Train every run from the same start, half an epoch at a time, in alternating order, until each reaches target.

    Every run gets the same shuffled batches (one generator per epoch, seeded with (seed, epoch)). Returns
    {name: {"seconds": training time to the target or None, "epochs": epochs to the target or None,
    "epoch_seconds": training time per epoch (over the steps it took), "accuracies": [test accuracy at each
    evaluation]}}. Only training is timed, not the evaluations.
    """
    (X, y), (X_test, y_test) = train_data, test_data
    steps_per_epoch = -(-len(X) // batch_size)
    results = {run.name: {"seconds": None, "epochs": None, "accuracies": [], "clock": 0.0} for run in runs}
    half = steps_per_epoch // 2
    chunk_number = 0
    for epoch in range(num_epochs):
        streams = {run.name: batches(X, y, batch_size, rng=np.random.default_rng((seed, epoch))) for run in runs}
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
                if result["accuracies"][-1] >= target:
                    result["seconds"] = result["clock"]
                    result["epochs"] = epoch + part
        if all(result["seconds"] is not None for result in results.values()):
            break
    for run in runs:
        result = results[run.name]
        result["epoch_seconds"] = result.pop("clock") / run.step * steps_per_epoch
    return results


def race_seeds(seeds: list[int], make_runs: Callable[[int, int], list[Run]], train_data, test_data, batch_size: int,
               num_epochs: int, target: float) -> list[dict[str, dict]]:
    """`race` for every seed, with the runs make_runs(seed, total_steps) gives; prints each seed's results."""
    total_steps = num_epochs * -(-len(train_data[0]) // batch_size)
    per_seed = []
    for seed in seeds:
        per_seed.append(race(make_runs(seed, total_steps), seed, train_data, test_data, batch_size, num_epochs,
                             target))
        print_seed(seed, per_seed[-1], target, num_epochs)
    return per_seed


def print_seed(seed: int, results: dict[str, dict], target: float, num_epochs: int) -> None:
    """One line per framework: its time to the target, epoch time and test accuracy at every evaluation."""
    for name, result in results.items():
        reached = (f"{result['seconds']:.2f} s ({result['epochs']:g} epochs)" if result["seconds"] is not None
                   else f"not reached in {num_epochs} epochs")
        accuracies = " ".join(f"{a:.2%}" for a in result["accuracies"])
        print(f"seed {seed} {name:8s} time to {target:.0%}: {reached}; epoch time {result['epoch_seconds']:.2f} s; "
              f"test accuracy per half epoch: {accuracies}", flush=True)


def print_summary(per_seed: list[dict[str, dict]], target: float, ratio_target: float) -> dict[str, float]:
    """The median time to the target per framework, and the ratios nnlib / PyTorch of those times and of the epoch
    times. Returns each framework's median epoch time."""
    print()
    medians, epoch_medians = {}, {}
    for name in per_seed[0]:
        seconds = [results[name]["seconds"] for results in per_seed]
        epochs = ", ".join(f"{results[name]['epochs']:g}" for results in per_seed if results[name]["epochs"])
        epoch_medians[name] = statistics.median(results[name]["epoch_seconds"] for results in per_seed)
        if None in seconds:
            print(f"{name:8s} reached {target:.0%} in {len(seconds) - seconds.count(None)} of {len(seconds)} seeds")
        else:
            medians[name] = statistics.median(seconds)
            print(f"{name:8s} median time to {target:.0%} over {len(seconds)} seeds: {medians[name]:.2f} s "
                  f"(epochs: {epochs})")
    if len(medians) == 2:
        print(f"ratio nnlib / PyTorch of the times to {target:.0%}: {medians['nnlib'] / medians['PyTorch']:.2f} "
              f"(target: <= {ratio_target})")
    if len(epoch_medians) == 2:
        print(f"ratio nnlib / PyTorch of the epoch times: {epoch_medians['nnlib'] / epoch_medians['PyTorch']:.2f} "
              "(the same work for both: steadier than the times to the target, which jump by half an epoch when one "
              "framework crosses it one evaluation later)")
    return epoch_medians
