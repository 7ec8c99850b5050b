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
    model(X)  # each backward uses what one forward saved: forward again, as PyTorch requires
    model.backward(G)
    assert_close(scale.s.grad, 2 * first, rtol=1e-12, msg="two forward-backward passes: twice the gradient")


def test_sequential_errors():
    with pytest.raises(TypeError, match="Sequential takes modules"):
        Sequential(Linear, ReLU())
    model = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(5, 2, rng=1))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(5, 2\)"):
        model(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        Sequential(Linear(3, 2, rng=0)).backward(np.ones((1, 2)))
    assert "(1): ReLU()" in repr(model)


# ---------------------------------------------------------------- one forward, one backward; one instance, one place
#
# A module keeps what its forward saved on the instance. An instance placed at two points of one model would keep only
# what its last call saved, and a backward after two forwards would use the wrong arrays. The Module base refuses
# both (issue 16, item 1): never a wrong gradient, while forwards without a backward (evaluation, gradcheck's finite
# differences) keep working.


def shared_relu_network(relu_second=None) -> Sequential:
    """Linear(2, 8), ReLU, Linear(8, 8), ReLU: the second ReLU is relu_second, or the first one again."""
    relu = ReLU()
    return Sequential(Linear(2, 8, rng=0), relu, Linear(8, 8, rng=1), relu if relu_second is None else relu_second)


class ForwardSequential(Sequential):
    """A learner's Sequential that calls layer.forward(X) instead of layer(X) (correct, and a catalogue alternative)."""

    def forward(self, X):
        for layer in self.layers:
            X = layer.forward(X)
        return X


def test_one_instance_at_two_places_of_a_sequential_raises_at_forward():
    X = np.random.default_rng(0).standard_normal((5, 2))
    with pytest.raises(RuntimeError, match=r"this ReLU was called twice in one forward pass.*own ReLU.*Parameter"):
        shared_relu_network()(X)
    separate = shared_relu_network(relu_second=ReLU())
    assert separate(X).shape == (5, 8), "two ReLU instances: no error"


def assert_no_wrong_gradient(model: Module, reference: Module, X: np.ndarray, G: np.ndarray) -> str:
    """Run forward and backward on `model`; return "raised" if that raises a RuntimeError, else "right". Either
    way every gradient it filled must equal the one of `reference` (the same weights, one instance per place):
    a parameter the backward did not reach yet keeps a zero gradient, which is not a wrong one."""
    reference(X)
    dX_reference = reference.backward(G)
    try:
        model(X)
        dX = model.backward(G)
        outcome = "right"
    except RuntimeError:
        outcome, dX = "raised", None
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        if np.any(p.grad != 0):
            assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-14, msg=f"gradient of {name} ({outcome})")
    if dX is not None:
        assert_close(dX, dX_reference, rtol=1e-12, atol=1e-14, msg="dX")
    return outcome


def test_a_learners_sequential_calling_forward_directly_raises_at_backward_before_a_wrong_gradient():
    rng = np.random.default_rng(1)
    X, G = rng.standard_normal((6, 2)), rng.standard_normal((6, 8))
    relu = ReLU()
    model = ForwardSequential(Linear(2, 8, rng=0), relu, Linear(8, 8, rng=1), relu)
    model(X)  # no error at forward time: layer.forward bypasses the check of module(X)
    with pytest.raises(RuntimeError, match=r"ReLU.backward: what forward saved was already used by a backward"):
        model.backward(G)
    reference = ForwardSequential(Linear(2, 8, rng=0), ReLU(), Linear(8, 8, rng=1), ReLU())
    assert assert_no_wrong_gradient(
        ForwardSequential(Linear(2, 8, rng=0), relu, Linear(8, 8, rng=1), relu), reference, X, G) == "raised"


class TwoBranches(Module):
    """y = act_a(linear_a(X)) + act_b(linear_b(X)); backward visits the branches in `order` ("ab" or "ba")."""

    def __init__(self, act_a: Module, act_b: Module, order: str):
        self.linear_a, self.linear_b = Linear(3, 4, rng=2), Linear(3, 4, rng=3)
        self.act_a, self.act_b, self.order = act_a, act_b, order

    def forward(self, X):
        return self.act_a(self.linear_a(X)) + self.act_b(self.linear_b(X))

    def backward(self, grad_output):
        dX = 0.0
        for branch in self.order:
            linear, act = (self.linear_a, self.act_a) if branch == "a" else (self.linear_b, self.act_b)
            dX = dX + linear.backward(act.backward(grad_output))
        return dX


@pytest.mark.parametrize("order", ["ab", "ba"])
@pytest.mark.parametrize("make", [ReLU, Tanh, Sigmoid, lambda: LeakyReLU(0.1)])
def test_a_custom_model_reusing_one_instance_never_gets_a_wrong_gradient_in_either_backward_order(order, make):
    rng = np.random.default_rng(2)
    X, G = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    shared = make()
    reference = TwoBranches(make(), make(), order)
    assert assert_no_wrong_gradient(TwoBranches(shared, shared, order), reference, X, G) == "raised"
    assert gradcheck(TwoBranches(make(), make(), order), X), "the model itself, one instance per place, is right"


def test_backward_twice_after_one_forward_raises_and_a_new_forward_allows_the_next_backward():
    module = Scale(2.0)
    x, g = np.array([1.0, -3.0]), np.array([0.5, 2.0])
    module(x)
    module.backward(g)
    with pytest.raises(RuntimeError, match=r"Scale.backward: what forward saved was already used by a backward.*"
                                           r"run forward again.*two places.*read it once"):
        module.backward(g)
    module(x)
    assert_close(module.backward(g), 2.0 * g, rtol=1e-15)
    assert_close(module.s.grad, np.array(2 * np.sum(g * x)), rtol=1e-15, msg="two passes: twice the gradient")


def test_evaluation_forwards_then_a_training_step_work_and_hold_one_saved_input():
    rng = np.random.default_rng(3)
    X, G, X_val = rng.standard_normal((4, 2)), rng.standard_normal((4, 8)), rng.standard_normal((50, 2))
    model, fresh = shared_relu_network(relu_second=ReLU()), shared_relu_network(relu_second=ReLU())
    for _ in range(20):  # evaluation: forwards without a backward
        model(X_val)
    relu = model[1]
    assert len(relu.saved_tensors) == 1, "only the last forward's input is kept, however many forwards ran"
    model(X)
    fresh(X)
    assert_close(model.backward(G), fresh.backward(G), rtol=1e-15, msg="dX after evaluation forwards")
    for (name, p), (_, q) in zip(model.named_parameters(), fresh.named_parameters()):
        assert_close(p.grad, q.grad, rtol=1e-15, msg=f"{name}.grad after evaluation forwards")
    assert all(vars(layer)["_saved"] is None for layer in model.layers), \
        "after backward no module holds what its forward saved"


def test_gradcheck_still_runs_forward_many_times_after_one_backward():
    rng = np.random.default_rng(4)
    model = Sequential(Linear(3, 5, rng=0), Tanh(), Linear(5, 4, rng=1), ReLU(), Linear(4, 2, rng=2), Sigmoid())
    assert gradcheck(model, rng.standard_normal((6, 3)))
    assert gradcheck(ForwardSequential(Linear(3, 4, rng=0), LeakyReLU(0.2), Linear(4, 1, rng=1)),
                     rng.standard_normal((5, 3)))


def test_a_forward_that_raises_leaves_later_passes_working():
    model = shared_relu_network(relu_second=ReLU())
    with pytest.raises(ValueError):
        model(np.ones((3, 5)))  # the wrong number of columns: Linear refuses it inside the pass
    assert model(np.ones((3, 2))).shape == (3, 8), "the next pass starts afresh"
    with pytest.raises(RuntimeError, match="called twice in one forward pass"):
        shared_relu_network()(np.ones((3, 2)))


def test_nested_models_and_a_model_called_once_per_pass_are_fine():
    inner = Sequential(Linear(3, 3, rng=0), Tanh())
    outer = Sequential(Linear(2, 3, rng=1), inner, Linear(3, 1, rng=2))
    X = np.random.default_rng(5).standard_normal((4, 2))
    for _ in range(3):  # the same instances in successive passes
        outer(X)
    assert gradcheck(outer, X)
    with pytest.raises(RuntimeError, match="this Sequential was called twice"):
        Sequential(inner, inner)(np.ones((1, 3)))


def test_weight_sharing_shares_parameters_not_instances():
    """A layer reused at two places, PyTorch-style: two instances share the Parameter objects; each place keeps its
    own saved input, and the shared .grad collects both contributions (the chain rule sums over paths)."""
    first = Linear(4, 4, rng=0)
    second = Linear(4, 4, rng=1)
    second.weight, second.bias = first.weight, first.bias
    model = Sequential(first, Tanh(), second)
    assert len(model.parameters()) == 2, "the shared weight and bias, each once"
    rng = np.random.default_rng(6)
    X, G = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    model(X)
    model.backward(G)
    W, b = first.weight.data, first.bias.data

    def L(W_):
        return np.sum(G * (np.tanh(X @ W_ + b) @ W_ + b))

    assert_close(first.weight.grad, numerical_gradient(L, W.copy()), rtol=1e-6, atol=1e-9,
                 msg="the shared weight's gradient: both places")
    assert gradcheck(model, X)
