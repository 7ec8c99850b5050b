"""nnlib.gradcheck: it passes correct backward passes, catches planted bugs, reports the worst element,
handles kinks, and leaves the caller's module and inputs alone.

The planted bugs live in modules and functions written here (y = amplitude * sin(X + phase) and the like),
none of them a layer of the course, or perturb the result of a real layer's backward pass."""
import re

import numpy as np
import pytest

from nnlib.gradcheck import gradcheck
from nnlib.layers import LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from nnlib.losses import MSELoss
from nnlib.module import Module, Parameter, Sequential

REPORT = re.compile(r"(?P<name>input \d+|parameter '[\w.]+'), shape \((?P<shape>[\d, ]*)\): (?P<count>\d+) of "
                    r"(?P<size>\d+) elements differ.*?; worst at index \((?P<index>[\d, ]*)\): analytic \(backward\) "
                    r"(?P<analytic>\S+), numerical (?P<numerical>\S+), relative error (?P<relative>\S+)")


def failure(*args, **kwargs) -> str:
    """The message of the AssertionError that gradcheck must raise."""
    with pytest.raises(AssertionError) as info:
        gradcheck(*args, **kwargs)
    return str(info.value)


def reports(message: str) -> dict[str, re.Match]:
    """The report lines of a failure message, by the name of the wrong gradient."""
    return {match["name"]: match for match in REPORT.finditer(message)}


def wave(X, amplitude, phase):
    """y = amplitude * sin(X + phase), elementwise: X (N, n), amplitude and phase (n,), one per column."""
    return amplitude * np.sin(X + phase)


def wave_backward(grad_output, X, amplitude, phase):
    """The gradients of sum(grad_output * wave(X, amplitude, phase)) with respect to X, amplitude and phase."""
    cos = np.cos(X + phase)
    return (grad_output * amplitude * cos, np.sum(grad_output * np.sin(X + phase), axis=0),
            np.sum(grad_output * amplitude * cos, axis=0))


def waves(seed, n):
    """A random amplitude (|a| in [0.5, 2]) and phase for n columns."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n), rng.uniform(-3.0, 3.0, n)


def outer_wave(x, y):
    """sin(x[i] + y[j]): x (m,) and y (n,) -> (m, n), an output of neither input's shape."""
    return np.sin(np.add.outer(x, y))


def outer_wave_backward(grad_output, x, y):
    slope = grad_output * np.cos(np.add.outer(x, y))
    return slope.sum(axis=1), slope.sum(axis=0)


class Wave(Module):
    """y = amplitude * sin(X + phase) as a module: a module written here, not one of the course's layers.

    X (N, n) -> y (N, n), with the parameters amplitude and phase of shape (n,), one per column.
    """

    def __init__(self, n: int, seed: int = 0):
        amplitude, phase = waves(seed, n)
        self.amplitude = Parameter(amplitude)
        self.phase = Parameter(phase)

    def forward(self, X):
        self.save_for_backward(X)
        return wave(X, self.amplitude.data, self.phase.data)

    def backward(self, grad_output):
        X, = self.saved_tensors
        grad_X, grad_amplitude, grad_phase = self.gradients(grad_output, X)
        self.amplitude.grad += grad_amplitude
        self.phase.grad += grad_phase
        return grad_X

    def gradients(self, grad_output, X):
        """dL/dX, dL/d(amplitude), dL/d(phase)."""
        return wave_backward(grad_output, X, self.amplitude.data, self.phase.data)


def square_layer(cls=Linear, seed=0, n=4):
    """A square layer (so that a transposed gradient still has the right shape) with a random nonzero bias."""
    layer = cls(n, n, rng=seed)
    layer.bias.data = np.random.default_rng(seed + 1).standard_normal(n)
    return layer


# ---------------------------------------------------------------- correct backward passes pass


@pytest.mark.parametrize("seed", range(3))
def test_correct_modules_and_functions_pass(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 3))
    assert gradcheck(wave, X, *waves(seed, 3), backward=wave_backward, seed=seed) is True
    assert gradcheck(outer_wave, X[0], X[1, :2], backward=outer_wave_backward, seed=seed) is True
    for module in [Wave(3, seed), Linear(3, 2, rng=seed), ReLU(), LeakyReLU(), Sigmoid(), Tanh(),
                   Sequential(Linear(3, 6, rng=seed), Tanh(), Linear(6, 2, rng=seed + 1)),
                   Sequential(Wave(3, seed), Linear(3, 2, rng=seed))]:
        assert gradcheck(module, X, seed=seed) is True, type(module).__name__
    assert gradcheck(MSELoss(), rng.standard_normal((4, 2)), rng.standard_normal((4, 2)), seed=seed)


def test_scalar_inputs_and_none_gradients():
    assert gradcheck(np.sin, np.array(1.3), backward=lambda g, x: np.cos(x) * g)
    message = failure(np.sin, np.array(1.3), backward=lambda g, x: -np.cos(x) * g)
    assert "worst at index ()" in message
    # backward may return None for an input that is not differentiated: only W is checked here.
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(3), rng.standard_normal((3, 2))

    def ripple(x, W):  # (3,) and (3, 2) -> (3, 2)
        return np.cos(W - x[:, None])

    assert gradcheck(ripple, x, W, backward=lambda g, x, W: (None, -np.sin(W - x[:, None]) * g))
    assert "input 1" in failure(ripple, x, W, backward=lambda g, x, W: (None, np.sin(W - x[:, None]) * g))


# ---------------------------------------------------------------- planted bugs


class ForgetsTheAmplitude(Wave):
    def gradients(self, grad_output, X):
        _, grad_amplitude, grad_phase = super().gradients(grad_output, X)
        return grad_output * np.cos(X + self.phase.data), grad_amplitude, grad_phase  # should be times amplitude


class MeanPhase(Wave):
    def gradients(self, grad_output, X):
        grad_X, grad_amplitude, _ = super().gradients(grad_output, X)
        grad_phase = np.mean(grad_output * self.amplitude.data * np.cos(X + self.phase.data), axis=0)
        return grad_X, grad_amplitude, grad_phase  # should be a sum over the batch


class AmplitudeSummedOverColumns(Wave):
    def gradients(self, grad_output, X):
        grad_X, _, grad_phase = super().gradients(grad_output, X)
        grad_amplitude = np.sum(grad_output * np.sin(X + self.phase.data), axis=1)  # should be axis 0, the batch:
        return grad_X, grad_amplitude, grad_phase                                   # it fits as X is square


class MeanBias(Linear):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.bias.grad /= len(grad_output)  # bias.grad was zero: now the right gradient divided by the batch size
        return grad_input


class TransposedWeightGrad(Linear):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.weight.grad = self.weight.grad.T.copy()  # the same shape only because the layer is square
        return grad_input


class WrongSignReLU(ReLU):
    def backward(self, grad_output):
        return -super().backward(grad_output)


class IgnoresGradOutput(Sigmoid):
    def backward(self, grad_output):
        return super().backward(np.ones_like(grad_output))  # as if grad_output were all ones


@pytest.mark.parametrize("buggy, wrong", [(ForgetsTheAmplitude, "input 0"), (MeanPhase, "parameter 'phase'"),
                                          (AmplitudeSummedOverColumns, "parameter 'amplitude'")])
def test_planted_bugs_are_caught_and_located(buggy, wrong):
    message = failure(buggy(4, seed=1), np.random.default_rng(2).standard_normal((4, 4)))
    assert list(reports(message)) == [wrong], f"only {wrong} is wrong, the report says:\n{message}"
    assert "gradcheck of " + buggy.__name__ in message and "1 of 3 gradients are wrong" in message


@pytest.mark.parametrize("buggy, wrong", [(MeanBias, "parameter 'bias'"), (TransposedWeightGrad, "parameter 'weight'")])
def test_planted_bugs_in_linear_are_caught_and_located(buggy, wrong):
    message = failure(square_layer(buggy), np.random.default_rng(2).standard_normal((5, 4)))
    assert list(reports(message)) == [wrong], f"only {wrong} is wrong, the report says:\n{message}"
    assert "gradcheck of " + buggy.__name__ in message and "1 of 3 gradients are wrong" in message


@pytest.mark.parametrize("buggy", [WrongSignReLU, IgnoresGradOutput])
def test_planted_bugs_in_activations_are_caught(buggy):
    X = np.random.default_rng(0).uniform(0.1, 2, (3, 4)) * np.array([1.0, -1.0, 1.0, 1.0])
    assert "input 0" in reports(failure(buggy(), X))


def test_a_backward_pass_with_a_wrong_shape_or_no_result_fails():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))

    def transposed(g, X, amplitude, phase):
        grad_X, grad_amplitude, grad_phase = wave_backward(g, X, amplitude, phase)
        return grad_X.T, grad_amplitude, grad_phase

    message = failure(wave, X, *waves(0, 3), backward=transposed)
    assert "input 0: the gradient has shape (3, 5), but input 0 has shape (5, 3)" in message

    class ForgetsToReturn(ReLU):
        def backward(self, grad_output):
            super().backward(grad_output)

    assert "returned None" in failure(ForgetsToReturn(), X)


def test_a_smooth_function_with_large_curvature_is_still_checked():
    """The kink rule must not excuse a wrong gradient where the function is smooth, even a steep one."""
    x = np.linspace(-1, 1, 7)
    assert gradcheck(lambda v: np.sinh(3 * v), x, backward=lambda g, v: 3 * np.cosh(3 * v) * g)
    assert "input 0" in failure(lambda v: np.sinh(3 * v), x, backward=lambda g, v: 2.99 * np.cosh(3 * v) * g)


def test_tolerances_decide():
    x = np.linspace(0.5, 2, 5)
    slightly_wrong = lambda g, v: 1.001 * np.cos(v) * g  # noqa: E731 (relative error 1e-3)
    failure(np.sin, x, backward=slightly_wrong)
    assert gradcheck(np.sin, x, backward=slightly_wrong, rtol=1e-2)


# ---------------------------------------------------------------- the report


def test_the_report_names_the_worst_element_with_both_values_and_the_relative_error():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3))
    amplitude, phase = waves(1, 3)
    seen = {}

    def backward_with_errors(grad_output, X, amplitude, phase):
        seen["G"] = grad_output
        grad_X, grad_amplitude, grad_phase = wave_backward(grad_output, X, amplitude, phase)
        grad_X[2, 1] += 0.5   # the worst error
        grad_X[0, 0] += 0.1
        return grad_X, grad_amplitude, grad_phase

    message = failure(wave, X, amplitude, phase, backward=backward_with_errors, seed=3)
    report = reports(message)["input 0"]
    correct = seen["G"] * amplitude * np.cos(X + phase)  # d/dX of sum(G * amplitude * sin(X + phase))
    assert report["shape"] == "4, 3" and report["count"] == "2" and report["size"] == "12"
    assert report["index"] == "2, 1", message
    assert abs(float(report["analytic"]) - (correct[2, 1] + 0.5)) < 1e-5
    assert abs(float(report["numerical"]) - correct[2, 1]) < 1e-5
    assert abs(float(report["relative"]) - 0.5 / abs(correct[2, 1])) < 1e-2 * 0.5 / abs(correct[2, 1])


def test_the_upstream_gradient_is_random_and_seeded():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(4), rng.standard_normal(2)
    upstream = []

    def record(grad_output, x, y):
        upstream.append(grad_output)
        return outer_wave_backward(grad_output, x, y)

    for seed in [0, 0, 1]:
        gradcheck(outer_wave, x, y, backward=record, seed=seed)
    assert upstream[0].shape == (4, 2), "the upstream gradient has the output's shape"
    assert np.array_equal(upstream[0], upstream[1]) and not np.allclose(upstream[0], upstream[2])
    assert len(np.unique(upstream[0])) == upstream[0].size, "a random upstream gradient, not ones"


# ---------------------------------------------------------------- kinks


def abs_slope(at_zero):
    """The slope of |v|: the sign of v, and `at_zero` where v is exactly 0 (any value in [-1, 1] is fair)."""
    return lambda v: np.where(v > 0, 1.0, np.where(v < 0, -1.0, at_zero))


@pytest.mark.parametrize("at_zero", [1.0, -1.0, 0.0], ids=["+1", "-1", "0"])
def test_abs_and_relu_at_and_near_their_kink_pass_with_any_convention(at_zero):
    x = np.array([-1.0, 0.0, -0.0, 3e-7, -3e-7, 9e-7, 2.0])
    assert gradcheck(np.abs, x, backward=lambda g, v: g * abs_slope(at_zero)(v))
    assert gradcheck(ReLU(), x.reshape(1, -1))
    assert gradcheck(LeakyReLU(0.3), x.reshape(-1, 1))


def test_kinks_do_not_hide_a_wrong_gradient_elsewhere():
    x = np.array([0.0, 1e-7, 1.5, -2.0, 0.7])
    message = failure(np.abs, x, backward=lambda g, v: 2 * g * abs_slope(1.0)(v))
    report = reports(message)["input 0"]
    assert report["count"] == "3", "the three elements away from the kink (1.5, -2 and 0.7) are wrong"
    assert "(2 more next to a kink, not counted)" in message, "0 and 1e-7 are within eps of the kink"


def test_several_kinks_at_once_are_skipped_whatever_the_backward_chose():
    """Nudging x moves four |.| units across their kinks at once: the slopes on the left and right are sums
    over the units, and the backward's choice at 0 (slope +1 for every unit) need not lie between them."""
    w, v = np.array([1.0, 2.0, -1.0, -0.5]), np.array([1.0, 0.3, -2.0, 0.7])

    def f(x):
        return np.abs(np.multiply.outer(x, w)) @ v

    def f_backward(g, x):
        return g * ((abs_slope(1.0)(np.multiply.outer(x, w)) * w) @ v)

    assert gradcheck(f, np.array([0.0, 0.5, -1.0]), backward=f_backward)
    wrong = reports(failure(f, np.array([0.0, 0.5, -1.0]), backward=lambda g, x: 2 * f_backward(g, x)))
    assert wrong["input 0"]["count"] == "2", "the elements away from the kinks are still checked"


def test_a_network_with_relu_units_exactly_at_zero_passes():
    layer = Linear(3, 4, rng=0)
    X = np.zeros((2, 3))  # every hidden unit's input is exactly 0 (bias 0)
    assert gradcheck(Sequential(layer, ReLU(), Linear(4, 2, rng=1)), X)


# ---------------------------------------------------------------- float64, and the caller's objects untouched


def test_float32_modules_are_checked_in_float64_and_left_untouched():
    layer = Linear(6, 5, rng=0)
    layer.weight.data = layer.weight.data.astype(np.float32)
    layer.weight.grad = np.full((6, 5), 7.0, dtype=np.float32)
    weight_before = layer.weight.data.copy()
    X = np.random.default_rng(1).standard_normal((8, 6)).astype(np.float32)
    X_before = X.copy()
    assert gradcheck(layer, X)  # float32 differences could never meet these tolerances
    assert layer.weight.data.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    assert np.array_equal(layer.weight.data, weight_before) and np.all(layer.weight.grad == 7.0)
    assert X.dtype == np.float32 and np.array_equal(X, X_before)


class ShiftedCosineLoss(Module):
    """sum(cos(scores[n, k] - labels[n])): a loss with integer targets, which gradcheck must pass as they are."""

    def forward(self, scores, labels):
        assert labels.dtype.kind == "i", "the labels must stay integers"
        self.save_for_backward(scores, labels)
        return float(np.sum(np.cos(scores - labels[:, None])))

    def backward(self, grad_output=1.0):
        scores, labels = self.saved_tensors
        return -grad_output * np.sin(scores - labels[:, None])


def test_losses_differentiate_only_the_prediction():
    rng = np.random.default_rng(0)
    assert gradcheck(ShiftedCosineLoss(), rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0]))

    class HalfMSE(MSELoss):
        def backward(self, grad_output=1.0):
            return 0.5 * super().backward(grad_output)

    y_hat, y = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    assert list(reports(failure(HalfMSE(), y_hat, y))) == ["input 0"]


def test_a_nan_gradient_is_never_excused_as_a_kink():
    message = failure(lambda v: np.maximum(v, 0.0), np.array([0.0, 1.0]), backward=lambda g, v: np.full(2, np.nan))
    assert reports(message)["input 0"]["count"] == "2", message


def test_a_kink_at_the_edge_of_the_window_under_a_steep_slope_is_excused():
    """f = 100 x + |x| / 2 at x = -0.95 eps: the window just reaches the kink, the slope there changes by only
    1 in 100 (too little for the fourth-difference test), and the central difference is off by 0.025 while the
    analytic slope 99.5 lies between the one-sided slopes 99.5 and 99.55."""
    x = np.array([-0.95e-6, 2.0])
    assert gradcheck(lambda v: 100 * v + np.abs(v) / 2, x, backward=lambda g, v: g * (100 + np.sign(v) / 2))


class DtypeProbe(Module):
    """y = w * x with a float32 parameter w, recording the dtype of w at every forward pass."""

    def __init__(self):
        self.w = Parameter(np.array([1.5, -0.5], dtype=np.float32))
        self.seen = []

    def forward(self, x):
        self.seen.append(self.w.data.dtype)
        self.save_for_backward(x)
        return self.w.data * x

    def backward(self, grad_output):
        x, = self.saved_tensors
        self.w.grad += np.sum(grad_output * x, axis=0)
        return grad_output * self.w.data


def test_parameters_are_cast_to_float64_in_a_copy():
    probe = DtypeProbe()
    assert gradcheck(probe, np.ones((3, 2), dtype=np.float32))
    assert probe.seen == [] and probe.w.data.dtype == np.float32, "the caller's module is neither run nor cast"

    seen = []

    class Recording(DtypeProbe):
        def forward(self, x):
            seen.append(self.w.data.dtype)
            return super().forward(x)

    assert gradcheck(Recording(), np.ones((3, 2), dtype=np.float32))
    assert seen and all(dtype == np.float64 for dtype in seen), "the copy computes in float64"
