"""nnlib.referee: PyTorch as an optional referee of chapter 2's Value and chapter 3's modules.

The idea comes from 002_2d40d183b1691657.txt, which checks its Value's gradients against PyTorch's. PyTorch is
never required: the tests of the comparisons themselves skip, with the reason, where torch is not installed
(CI does not install it); the branch without torch is tested always, by making `import torch` fail.
Planted bugs (a wrong local derivative, a transposed weight gradient, a mean for a sum) show that the referee
reports a difference where one exists, under the right name.
"""
import subprocess
import sys

import numpy as np
import pytest

from nnlib import conv, layers
from nnlib.conv import Conv2d, Flatten, MaxPool2d
from nnlib.engine import Value
from nnlib.layers import LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from nnlib.losses import MSELoss
from nnlib.module import Module, Parameter, Sequential
from nnlib.referee import MODULES, SKIPPED, Comparison, Skipped, compare_expression, compare_module

NO_TORCH = "PyTorch is optional (the course never requires it, CI does not install it): `pip install torch` runs this"


def needs_torch():
    return pytest.importorskip("torch", reason=NO_TORCH)


def agrees(result: Comparison, tolerance: float = 1e-12) -> bool:
    """Every difference is float64 round-off: at most tolerance times the size of what is compared (or 1)."""
    return all(result.differences[name] <= tolerance * max(1.0, result.scales[name]) for name in result.differences)


def neuron(x1, x2, w1, w2, b):
    return (x1 * w1 + x2 * w2 + b).tanh()


NEURON_POINT = dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)

# Expressions written with operations that Value and torch.Tensor both have.
EXPRESSIONS = {
    "neuron": neuron,
    "sum, difference, quotient": lambda a, b: (a + b) * (a - b) / (b * b + 1),
    "numbers on both sides": lambda a, b: 2 - a / 3 + 1 / (b * b + 0.5) + 4 * a,
    "powers": lambda a, b: (a * a + 1) ** -0.5 + b ** 3 + (b * b + 2) ** 1.5,
    "exp, log, sigmoid": lambda a, b: (a.exp() + b * b).log() * (a - b).sigmoid(),
    "relu": lambda a, b: (a * b).relu() + (a - b).relu() * a,
    "a node used twice": lambda a, b: (a * b).tanh() * (a * b).tanh() + a * a * a,
    "a leaf it ignores": lambda a, b: a.exp() * a,
}


# Without PyTorch: always tested.

@pytest.fixture
def without_torch(monkeypatch):
    """`import torch` raises ImportError, whether or not torch is installed."""
    monkeypatch.setitem(sys.modules, "torch", None)


def test_importing_the_referee_does_not_import_torch():
    code = "import sys, nnlib.referee; assert 'torch' not in sys.modules, 'imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


def test_without_torch_every_comparison_is_skipped_with_one_line(without_torch):
    for result in (compare_expression(neuron, NEURON_POINT, Value),
                   compare_expression(lambda a, b: a * b, [1.0, 2.0], Value),
                   compare_module(Sequential(Linear(3, 2, rng=0), ReLU()), np.ones((4, 3))),
                   compare_module(MSELoss(), np.zeros((4, 1)), np.ones((4, 1)))):
        assert isinstance(result, Skipped)
        assert str(result) == SKIPPED
    assert "\n" not in SKIPPED and "not installed" in SKIPPED and "pip install torch" in SKIPPED


def test_a_broken_torch_install_is_a_skip_too(tmp_path, monkeypatch):
    (tmp_path / "torch").mkdir()
    broken = "raise OSError('libtorch_cpu.so: cannot open shared object file')\n"
    (tmp_path / "torch" / "__init__.py").write_text(broken)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    result = compare_expression(neuron, NEURON_POINT, Value)
    assert isinstance(result, Skipped)
    assert "OSError" in str(result) and "libtorch_cpu.so" in str(result) and "skipped" in str(result)


def test_without_torch_the_caller_module_is_untouched(without_torch):
    model = Sequential(Linear(3, 2, rng=0), Tanh())
    weight = model[0].weight.data.copy()
    model[0].weight.grad[:] = 7.0
    compare_module(model, np.ones((4, 3)))
    assert np.array_equal(model[0].weight.data, weight) and np.all(model[0].weight.grad == 7.0)


class Dropout(Module):
    def forward(self, X):
        return X

    def backward(self, grad_output):
        return grad_output


@pytest.mark.parametrize("torch_installed", [False, True], ids=["without torch", "torch if installed"])
def test_a_module_it_does_not_know_is_a_type_error(torch_installed, monkeypatch):
    if not torch_installed:
        monkeypatch.setitem(sys.modules, "torch", None)
    for module in (Dropout(), Sequential(Linear(3, 3), Dropout())):
        with pytest.raises(TypeError, match=r"compare_module knows Linear, .* not Dropout"):
            compare_module(module, np.ones((2, 3)))
    assert set(MODULES) == {"Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "MSELoss", "Conv2d", "MaxPool2d", "Flatten",
                            "Sequential"}


def test_the_report_names_each_difference_and_the_round_off_of_its_dtype():
    result = Comparison("tanh(a * b)", {"output": 1e-16, "a.grad": 3e-16, "b.grad": 0.0},
                        {"output": 0.5, "a.grad": 1.5, "b.grad": 0.0})
    text = str(result).splitlines()
    assert text[0] == "tanh(a * b): yours vs PyTorch (float64)"
    assert [line.split()[:2] for line in text[2:5]] == [["output", "1.0e-16"], ["a.grad", "3.0e-16"],
                                                        ["b.grad", "0.0e+00"]]
    assert text[-1] == "largest difference 3.0e-16 (float64 round-off is about 1e-15 on numbers of size 1)"
    assert result.largest == 3e-16
    single = Comparison("Linear", {"output": 2e-8}, {"output": 1.0}, "float32")
    assert str(single).endswith("(float32 round-off is about 1e-06 on numbers of size 1)")
    assert np.isnan(Comparison("x", {"output": 0.0, "a.grad": float("nan")}, {"output": 0, "a.grad": 0}).largest)


# With PyTorch: skipped, with the reason, where it is not installed.

@pytest.mark.parametrize("name", EXPRESSIONS)
def test_value_agrees_with_torch_on_expressions(name):
    needs_torch()
    rng = np.random.default_rng(sorted(EXPRESSIONS).index(name))
    for _ in range(5):
        point = {"a": float(rng.uniform(0.2, 2.0) * rng.choice([-1, 1])), "b": float(rng.normal())}
        result = compare_expression(EXPRESSIONS[name], NEURON_POINT if name == "neuron" else point, Value, what=name)
        assert isinstance(result, Comparison)
        assert agrees(result), str(result)
        assert list(result.differences) == ["output"] + [f"{leaf}.grad" for leaf in
                                                         (NEURON_POINT if name == "neuron" else point)]
        assert result.dtype == "float64"


def test_the_seed_neuron_with_positional_inputs():
    """002_2d40d183b1691657.txt's neuron: tanh(x1 w1 + x2 w2 + b); positional inputs are named by position."""
    needs_torch()
    result = compare_expression(neuron, list(NEURON_POINT.values()), Value)
    assert list(result.differences) == ["output"] + [f"input {i}.grad" for i in range(5)]
    assert agrees(result), str(result)
    assert result.scales["output"] == pytest.approx(np.tanh(sum([2.0 * -3.0, 6.8813735870195432])), rel=1e-12)
    assert result.scales["input 0.grad"] == pytest.approx(1.5, rel=1e-9)  # w1 * (1 - tanh^2) = -3 * 0.5


def test_a_wrong_local_derivative_shows_up_at_the_leaves_that_reach_it(monkeypatch):
    needs_torch()
    monkeypatch.setattr(Value, "_tanh_backward", staticmethod(lambda out: None))  # tanh passes nothing back
    result = compare_expression(lambda a, b: a.tanh() * 2 + b * b, {"a": 0.3, "b": -1.2}, Value)
    assert result.differences["output"] <= 1e-15  # the forward pass is right
    assert result.differences["a.grad"] == pytest.approx(2 * (1 - np.tanh(0.3) ** 2), rel=1e-12)
    assert result.differences["b.grad"] <= 1e-15
    assert not agrees(result)


def test_a_wrong_forward_shows_up_in_the_output(monkeypatch):
    needs_torch()
    right = Value.exp
    monkeypatch.setattr(Value, "exp", lambda self: right(self) * 1.001)
    result = compare_expression(lambda a: a.exp(), {"a": 1.0}, Value)
    assert result.differences["output"] == pytest.approx(0.001 * np.e, rel=1e-9)


def random_input(module, rng, batch=5):
    if isinstance(module, Sequential):
        return random_input(module[0], rng, batch)
    if isinstance(module, Linear):
        return rng.standard_normal((batch, module.in_features))
    if isinstance(module, (Conv2d, MaxPool2d)):  # random floats: no two entries of a pooling window tie
        return rng.standard_normal((batch, getattr(module, "in_channels", 2), 9, 8))
    return rng.standard_normal((batch, 3, 2))


MODELS = {
    "Linear": lambda: Linear(4, 3, rng=1),
    "Linear without bias": lambda: Linear(4, 3, bias=False, rng=2),
    "ReLU": ReLU,
    "LeakyReLU(0.2)": lambda: LeakyReLU(0.2),
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
    "Sequential": lambda: Sequential(Linear(4, 8, rng=3), ReLU(), Linear(8, 8, rng=4), Tanh(), Linear(8, 2, rng=5),
                                     Sigmoid(), Linear(2, 3, rng=6), LeakyReLU()),
    "Conv2d": lambda: Conv2d(3, 4, 3, rng=7),
    "Conv2d with stride and padding, no bias": lambda: Conv2d(2, 3, 2, stride=2, padding=1, bias=False, rng=8),
    "MaxPool2d": lambda: MaxPool2d(2),
    "MaxPool2d with overlapping windows": lambda: MaxPool2d(3, stride=2),
    "a CNN": lambda: Sequential(Conv2d(2, 4, 3, padding=1, rng=9), ReLU(), MaxPool2d(2), Conv2d(4, 3, 2, stride=2, rng=10),
                                Tanh(), Flatten(), Linear(12, 5, rng=11)),
}


@pytest.mark.parametrize("name", MODELS)
def test_modules_agree_with_torch(name):
    needs_torch()
    rng = np.random.default_rng(len(name))
    module = MODELS[name]()
    X = random_input(module, rng)
    result = compare_module(module, X)
    assert agrees(result), str(result)
    expected = ["output", "input.grad"] + [f"{parameter}.grad" for parameter, _ in module.named_parameters()]
    assert list(result.differences) == expected
    given = compare_module(module, X, grad_output=rng.standard_normal(module(X).shape))  # a grad_output of ours
    assert agrees(given), str(given)
    assert given.scales != result.scales


def test_mse_loss_agrees_with_torch_and_leaves_the_target_alone():
    needs_torch()
    rng = np.random.default_rng(7)
    y_hat, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    for grad_output in (None, 1.0, -2.5):
        result = compare_module(MSELoss(), y_hat, y, grad_output=grad_output)
        assert list(result.differences) == ["output", "input.grad"]
        assert agrees(result), str(result)
    assert result.scales["output"] == pytest.approx(np.mean((y_hat - y) ** 2), rel=1e-12)
    assert result.scales["input.grad"] == pytest.approx(np.max(np.abs(2.5 * 2 * (y_hat - y) / 12)), rel=1e-12)


def test_the_callers_module_and_gradients_stay_as_they_were():
    needs_torch()
    model = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(4, 1, rng=1))
    before = {name: (p.data.copy(), p.grad.copy()) for name, p in model.named_parameters()}
    model[0].weight.grad[:] = 5.0
    state = [dict(vars(layer)) for layer in model]
    result = compare_module(model, np.random.default_rng(0).standard_normal((6, 3)))
    assert agrees(result), str(result)  # the gradients compared are this pass's alone, not 5 + ...
    for name, p in model.named_parameters():
        assert np.array_equal(p.data, before[name][0])
    assert np.all(model[0].weight.grad == 5.0) and np.array_equal(model[2].weight.grad, before["layers.2.weight"][1])
    assert [vars(layer).keys() for layer in model] == [state_i.keys() for state_i in state]


def test_a_shared_parameter_gets_both_contributions_on_both_sides():
    needs_torch()
    first, second = Linear(3, 3, rng=0), Linear(3, 3, rng=1)
    second.weight = first.weight  # one Parameter in two layers: its gradient is the sum of both uses
    model = Sequential(first, Tanh(), second)
    result = compare_module(model, np.random.default_rng(1).standard_normal((4, 3)))
    assert list(result.differences) == ["output", "input.grad", "layers.0.weight.grad", "layers.0.bias.grad",
                                        "layers.2.bias.grad"]
    assert agrees(result), str(result)


def test_float32_modules_differ_by_float32_round_off():
    needs_torch()
    module = Linear(16, 8, rng=0, dtype=np.float32)
    result = compare_module(module, np.random.default_rng(2).standard_normal((32, 16)).astype(np.float32))
    assert result.dtype == "float32"
    assert result.largest < 1e-5 * max(result.scales.values())
    assert not agrees(result)  # float32 is not float64: the report says which round-off to expect
    assert "float32 round-off is about 1e-06" in str(result)


def test_a_first_layer_without_input_gradient_is_compared_on_its_parameters():
    needs_torch()
    result = compare_module(Linear(3, 2, rng=0, input_grad=False), np.ones((4, 3)))
    assert list(result.differences) == ["output", "weight.grad", "bias.grad"]
    assert agrees(result), str(result)


# Planted bugs: subclasses named like the layer they break, so that the referee takes them for it. Each runs the
# right backward, then spoils one of its results.

def transposed_weight_grad():
    class Linear(layers.Linear):
        def backward(self, grad_output):
            before = self.weight.grad.copy()
            grad_input = super().backward(grad_output)
            self.weight.grad = before + (self.weight.grad - before).T  # fits a square weight, and is wrong
            return grad_input
    return Linear(3, 3, rng=0)


def mean_for_sum_in_bias():
    class Linear(layers.Linear):
        def backward(self, grad_output):
            before = self.bias.grad.copy()
            grad_input = super().backward(grad_output)
            self.bias.grad = before + (self.bias.grad - before) / len(grad_output)
            return grad_input
    return Linear(3, 2, rng=0)


def relu_without_grad_output():
    class ReLU(layers.ReLU):
        def backward(self, grad_output):
            return super().backward(np.ones_like(grad_output))
    return Sequential(Linear(3, 2, rng=0), ReLU())


@pytest.mark.parametrize("make, wrong", [(transposed_weight_grad, {"weight.grad"}),
                                         (mean_for_sum_in_bias, {"bias.grad"}),
                                         (relu_without_grad_output, {"input.grad", "layers.0.weight.grad",
                                                                     "layers.0.bias.grad"})],
                         ids=["transposed weight gradient", "bias: mean for sum", "ReLU ignores grad_output"])
def test_planted_bugs_are_reported_under_their_name(make, wrong):
    needs_torch()
    result = compare_module(make(), np.random.default_rng(3).standard_normal((5, 3)))
    flagged = {name for name, difference in result.differences.items()
               if difference > 1e-3 * max(1.0, result.scales[name])}
    assert flagged == wrong, str(result)


def test_a_convolution_with_a_flipped_kernel_in_its_input_gradient_is_reported_there():
    needs_torch()

    class Conv2d(conv.Conv2d):  # the input gradient of a true convolution (flipped kernel): a classic slip
        def backward(self, grad_output):
            right, self.weight.data = self.weight.data, self.weight.data[:, :, ::-1, ::-1].copy()
            grad_input = super().backward(grad_output)
            self.weight.data = right
            return grad_input

    model = Conv2d(2, 3, 3, stride=2, padding=1, rng=0)
    result = compare_module(model, np.random.default_rng(4).standard_normal((2, 2, 7, 6)))
    flagged = {name for name, difference in result.differences.items()
               if difference > 1e-3 * max(1.0, result.scales[name])}
    assert flagged == {"input.grad"}, str(result)  # the weight and bias gradients do not read the weight


def test_a_gradient_of_the_wrong_shape_is_a_value_error():
    needs_torch()

    class Linear(layers.Linear):
        def backward(self, grad_output):
            return super().backward(grad_output).T  # (in_features, N): the transpose of X's shape

    with pytest.raises(ValueError, match=r"input.grad: yours has shape \(3, 5\), PyTorch's has shape \(5, 3\)"):
        compare_module(Linear(3, 2, rng=0), np.ones((5, 3)))


def test_a_parameter_the_function_does_not_use_gets_a_zero_gradient_from_torch():
    needs_torch()

    class Linear(layers.Linear):  # an extra parameter that forward never reads
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.unused = Parameter(np.ones(2))

    result = compare_module(Linear(3, 2, rng=0), np.ones((4, 3)))
    assert result.differences["unused.grad"] == 0.0 and result.scales["unused.grad"] == 0.0
