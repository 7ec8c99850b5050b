"""Benchmark: nnlib's scalar Value engine against a faithful micrograd-style baseline.

Both engines train MLP(2, [16, 16, 1]) (ReLU hidden layers and a linear output, as micrograd's demo) on 100
points, full batch, mean squared error, plain gradient descent, starting from the same weights. The script
prints, for each engine, training steps per second and the memory of a built graph per node (tracemalloc, after
the forward and backward pass of one step, divided by the graph's node count), and the ratios. Target: nnlib at
least 2x the baseline's steps per second and at most half its bytes per node.

The baseline is the tutorial design (micrograd's engine.py and nn.py): children in a `set`, a recursive
topological sort, a `_backward` closure per node that refers to the node itself (one reference cycle per node),
instance `__dict__`s. nnlib's engine uses `__slots__`, tuples of children, one backward function per operation
(shared, no cycles) and an iterative sort.

Everything is pure Python (numpy only makes the data and checks results): BLAS libraries and thread settings
(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) make no difference, and it runs on one core. Python's
cyclic garbage collector is left on, with its default thresholds, as in any training script.

    python bench/value_engine.py [--steps 5] [--points 100]
"""
from __future__ import annotations

import argparse
import gc
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nnlib.graph import trace  # noqa: E402
from nnlib.neurons import MLP  # noqa: E402


# ---- The baseline: micrograd's engine.py and nn.py (Andrej Karpathy, MIT license), as in the tutorial -----------

class MicroValue:
    """micrograd's Value: a set of children, a closure per node that captures `out`, a recursive sort."""

    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        out = MicroValue(self.data + other.data, (self, other), '+')

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        out = MicroValue(self.data * other.data, (self, other), '*')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = MicroValue(self.data**other, (self,), f'**{other}')

        def _backward():
            self.grad += (other * self.data**(other-1)) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = MicroValue(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1


class MicroModule:
    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []


class MicroNeuron(MicroModule):
    def __init__(self, nin, nonlin=True):
        self.w = [MicroValue(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = MicroValue(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi*xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class MicroLayer(MicroModule):
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [MicroNeuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MicroMLP(MicroModule):
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [MicroLayer(sz[i], sz[i+1], nonlin=i != len(nouts)-1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


# ---- The benchmark ------------------------------------------------------------------------------------------------

def loss_of(model, X, y):
    """Mean squared error over the points, built the same way for both engines."""
    return sum((model(x) - t) ** 2 for x, t in zip(X, y)) / len(y)


def train_step(model, X, y, lr=0.01) -> float:
    loss = loss_of(model, X, y)
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data


def steps_per_second(model, X, y, steps: int) -> tuple[float, list[float]]:
    train_step(model, X, y)  # warm-up, not timed
    gc.collect()
    start = time.perf_counter()
    losses = [train_step(model, X, y) for _ in range(steps)]
    return steps / (time.perf_counter() - start), losses


def bytes_per_node(model, X, y) -> tuple[float, int]:
    """Memory allocated by one step's graph (forward and backward), per node of that graph."""
    gc.collect()
    tracemalloc.start()
    loss = loss_of(model, X, y)
    loss.backward()
    allocated, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nodes = len(trace(loss)[0])  # works for both engines: it reads only `_prev`
    return allocated / nodes, nodes


def make_models(seed: int):
    ours = MLP(2, [16, 16, 1], nonlin="relu", rng=seed)
    baseline = MicroMLP(2, [16, 16, 1])
    for mine, theirs in zip(ours.parameters(), baseline.parameters(), strict=True):
        theirs.data = mine.data  # the same starting weights
    return ours, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per engine (default 5)")
    parser.add_argument("--points", type=int, default=100, help="number of training points (default 100)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.points, 2)).tolist()
    y = np.where(rng.normal(size=args.points) > 0, 1.0, -1.0).tolist()
    print(f"Python {platform.python_version()} ({platform.python_implementation()}), "
          f"gc thresholds {gc.get_threshold()}; MLP(2, [16, 16, 1]) on {args.points} points, "
          f"{args.steps} timed steps per engine")

    ours, baseline = make_models(seed=0)
    baseline_rate, baseline_losses = steps_per_second(baseline, X, y, args.steps)
    ours_rate, our_losses = steps_per_second(ours, X, y, args.steps)
    np.testing.assert_allclose(our_losses, baseline_losses, rtol=1e-9)  # the same computation
    ours, baseline = make_models(seed=1)
    baseline_bytes, nodes = bytes_per_node(baseline, X, y)
    our_bytes, our_nodes = bytes_per_node(ours, X, y)

    print(f"graph of one step: {our_nodes:,} nodes (nnlib), {nodes:,} nodes (baseline); losses agree")
    print(f"{'':22}{'steps/s':>10}{'bytes/node':>12}")
    print(f"{'micrograd baseline':22}{baseline_rate:10.2f}{baseline_bytes:12.0f}")
    print(f"{'nnlib.engine':22}{ours_rate:10.2f}{our_bytes:12.0f}")
    print(f"speed-up: {ours_rate / baseline_rate:.1f}x (target >= 2x)   "
          f"memory: {our_bytes / baseline_bytes:.2f} of the baseline's (target <= 0.5)")


if __name__ == "__main__":
    main()
