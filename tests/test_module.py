"""nnlib.module: Parameter, the Module protocol, and Sequential against finite differences in float64."""
import numpy as np
import pytest

from nnlib.derivatives import numerical_gradient
from nnlib.gradcheck import gradcheck
from nnlib.layers import LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from nnlib.module import Module, Parameter, Sequential
from nnlib.testing import assert_close


class Scale(Module):
    """y = s * x with a learnable number s: a module written here, independent of nnlib.layers."""

    def __init__(self, s: float):
        self.s = Parameter(np.array(s))

    def forward(self, x):
        self.save_for_backward(x)
        return self.s.data * x

    def backward(self, grad_output):
        x, = self.saved_tensors
        self.s.grad += np.sum(grad_output * x)
        return self.s.data * grad_output


# ---------------------------------------------------------------- Parameter


def test_parameter_holds_a_float_copy_and_zero_gradient():
    source = np.array([[1, 2], [3, 4]])
    p = Parameter(source)
    source[0, 0] = 100
    assert_close(p.data, np.array([[1.0, 2.0], [3.0, 4.0]]), rtol=0, msg="Parameter keeps a copy")
    assert p.data.dtype == np.float64, "integers become float64"
    assert_close(p.grad, np.zeros((2, 2)), atol=0, check_dtype=True)
    p32 = Parameter(np.ones(3, dtype=np.float32))
    assert p32.data.dtype == np.float32 and p32.grad.dtype == np.float32, "float32 stays float32"
    assert "shape=(2, 2)" in repr(p)


# ---------------------------------------------------------------- Module


class Nested(Module):
    """Parameters in every place Module must search: attributes, lists, tuples, sub-modules."""

    def __init__(self):
        self.a = Parameter(np.zeros(1))
        self.not_a_parameter = np.zeros(3)
        self.blocks = [Parameter(np.zeros(2)), Scale(2.0)]
        self.pair = (Parameter(np.zeros(4)), self.a)   # self.a again: listed once
        self.child = Scale(3.0)


def test_parameters_are_found_in_order_without_duplicates():
    module = Nested()
    names = [name for name, _ in module.named_parameters()]
    assert names == ["a", "blocks.0", "blocks.1.s", "pair.0", "child.s"], names
    expected = [module.a, module.blocks[0], module.blocks[1].s, module.pair[0], module.child.s]
    found = module.parameters()
    assert len(found) == len(expected) and all(p is q for p, q in zip(found, expected)), \
        "parameters() returns the Parameter objects themselves, in order"


def test_zero_grad_resets_every_parameter():
    module = Nested()
    for p in module.parameters():
        p.grad += 5.0
    module.zero_grad()
    for p in module.parameters():
        assert_close(p.grad, np.zeros_like(p.data), atol=0)


def test_calling_a_module_runs_forward_and_backward_needs_forward_first():
    module = Scale(2.5)
    with pytest.raises(RuntimeError, match="Scale.backward was called before forward"):
        module.backward(np.ones(2))
    assert_close(module(np.array([1.0, -2.0])), np.array([2.5, -5.0]), rtol=1e-12)
    assert gradcheck(module, np.array([1.0, -2.0, 0.5]))


def test_the_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        Module()(np.ones(2))
    with pytest.raises(NotImplementedError):
        Module().backward(np.ones(2))


# ---------------------------------------------------------------- Sequential


def random_network(seed: int, sizes: list[int]) -> Sequential:
    """Linear layers of the given sizes with a different activation after each but the last."""
    activations = [ReLU, Tanh, Sigmoid, lambda: LeakyReLU(0.1)]
    modules = []
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layer = Linear(n_in, n_out, rng=seed + k)
        layer.bias.data = np.random.default_rng(seed + 50 + k).standard_normal(n_out) * 0.5
        modules.append(layer)
        if k < len(sizes) - 2:
            modules.append(activations[(seed + k) % 4]())
    return Sequential(*modules)


def test_sequential_forward_composes_in_order():
    linear = Linear(3, 2, rng=1)
    linear.weight.data = np.array([[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]])
    linear.bias.data = np.array([0.25, -0.5])
    model = Sequential(Scale(2.0), linear, Tanh())
    X = np.array([[1.0, -2.0, 0.5], [0.0, 0.5, -0.25]])
    # 2 X = [[2, -4, 1], [0, 1, -0.5]]; then [[2 - 2, 4 + 2], [0.5, -1 - 1]] + b; then tanh.
    assert_close(model(X), np.tanh(np.array([[0.25, 5.5], [0.75, -2.5]])), rtol=1e-12)
    assert len(model) == 3
    reordered = Sequential(Tanh(), Scale(2.0))
    assert_close(reordered(np.array([0.5, -1.0])), 2.0 * np.tanh(np.array([0.5, -1.0])), rtol=1e-12,
                 msg="tanh first, then the scale")


@pytest.mark.parametrize("seed", range(4))
def test_sequential_gradients_match_finite_differences(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(1, 6, size=rng.integers(2, 5))]
    model = random_network(seed, sizes)
    X = rng.standard_normal((int(rng.integers(1, 5)), sizes[0]))
    G = rng.standard_normal((len(X), sizes[-1]))
    model(X)
    dX = model.backward(G)
    assert_close(dX, numerical_gradient(lambda v: np.sum(G * model(v)), X), rtol=1e-5, atol=1e-8,
                 msg=f"dX of a network of sizes {sizes}")
    for name, p in model.named_parameters():
        grad = p.grad.copy()

        def L(value, p=p):
            original, p.data = p.data, value
            try:
                return np.sum(G * model(X))
            finally:
                p.data = original

        assert_close(grad, numerical_gradient(L, p.data), rtol=1e-5, atol=1e-8, msg=f"gradient of {name}")
    assert gradcheck(model, X, seed=seed)


def test_sequential_collects_the_parameters_of_its_modules_in_order():
    model = random_network(0, [3, 4, 2])
    assert [name for name, _ in model.named_parameters()] == \
        ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert model.parameters()[2] is model[2].weight


def test_sequential_backward_runs_in_reverse_order_and_accumulates():
    rng = np.random.default_rng(1)
    scale = Scale(3.0)
    model = Sequential(Linear(2, 3, rng=0), scale, Linear(3, 1, rng=1))  # shapes only fit in reverse order
    X, G = rng.standard_normal((4, 2)), rng.standard_normal((4, 1))
    model(X)
    model.backward(G)
    first = scale.s.grad.copy()
    model.backward(G)
    assert_close(scale.s.grad, 2 * first, rtol=1e-12, msg="two backward calls: twice the gradient")


def test_sequential_errors():
    with pytest.raises(TypeError, match="Sequential takes modules"):
        Sequential(Linear, ReLU())
    model = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(5, 2, rng=1))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(5, 2\)"):
        model(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        Sequential(Linear(3, 2, rng=0)).backward(np.ones((1, 2)))
    assert "(1): ReLU()" in repr(model)
