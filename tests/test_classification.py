"""nnlib.classification (chapter 4): stable log-sum-exp, LogSoftmax, NLLLoss, CrossEntropyLoss, and for two classes
binary_cross_entropy_with_logits and BCEWithLogitsLoss.

References are computed independently of the implementation: exact sums in decimal arithmetic
(no max subtracted, no overflow), values that PyTorch gives, and central differences in float64.
"""
import math
import re
from decimal import Decimal, localcontext

import numpy as np
import pytest

from nnlib.classification import (BCEWithLogitsLoss, CrossEntropyLoss, LogSoftmax, NLLLoss,
                                  binary_cross_entropy_with_logits, log_softmax, logsumexp, nll_loss, softmax)
from nnlib.derivatives import numerical_gradient
from nnlib.gradcheck import gradcheck
from nnlib.layers import Linear, ReLU
from nnlib.module import Sequential
from nnlib.optim import SGD
from nnlib.testing import assert_close
from nnlib.training import fit


def exact_logsumexp(x, dim=-1, keepdims=False):
    """log(sum(exp(x))) along `dim` in 28-digit decimal arithmetic, straight from the definition."""
    def one(values):
        return float(sum(Decimal(float(v)).exp() for v in values).ln())
    out = np.apply_along_axis(one, dim, np.asarray(x, dtype=np.float64))
    return np.expand_dims(out, dim) if keepdims else out


def exact_log_softmax(x, dim=-1):
    """x - log(sum(exp(x))) along `dim`, in decimal arithmetic."""
    def one(values):
        lse = sum(Decimal(float(v)).exp() for v in values).ln()
        return np.array([float(Decimal(float(v)) - lse) for v in values])
    return np.apply_along_axis(one, dim, np.asarray(x, dtype=np.float64))


def random_batch(rng, n, c, scale=1.0):
    """Logits (n, c) and integer targets (n,)."""
    return rng.normal(scale=scale, size=(n, c)), rng.integers(0, c, size=n)


def extreme_logits(seed, n, scale):
    """Logits (n, 4) of magnitude ~scale: each row shifted by -scale or +scale, row 0 mixing +-scale and 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)) * 10 + rng.choice([-scale, scale], size=(n, 1))
    x[0] = [scale, -scale, 0.0, scale]
    return x


# ---------------------------------------------------------------- logsumexp


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 5)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_matches_exact_sum_on_every_axis(shape, keepdims):
    x = np.random.default_rng(0).normal(scale=20.0, size=shape)
    for dim in range(-len(shape), len(shape)):
        out = logsumexp(x, dim=dim, keepdims=keepdims)
        assert_close(out, exact_logsumexp(x, dim, keepdims), rtol=1e-13,
                     msg=f"logsumexp(shape {shape}, dim={dim}, keepdims={keepdims})")


def test_logsumexp_matches_fsum_of_the_formula():
    x = np.array([0.3, -1.2, 2.5, 0.0, 1.1])
    assert_close(logsumexp(x), math.log(math.fsum(math.exp(v) for v in x)), rtol=1e-15)


@pytest.mark.parametrize("scale", [1e4, 1e5, 7e5])
def test_logsumexp_of_extreme_logits_is_finite_and_exact(scale):
    x = extreme_logits(1, 6, scale)
    out = logsumexp(x)
    assert np.isfinite(out).all(), f"logsumexp of logits of magnitude {scale:g} is not finite: {out}"
    assert_close(out, exact_logsumexp(x), rtol=1e-14)


def test_logsumexp_near_the_float64_limit():
    x = np.array([[1e300, 1e300], [-1e300, -1e300], [1e300, -1e300]])
    assert_close(logsumexp(x), np.array([1e300, -1e300, 1e300]), rtol=1e-15)


def test_logsumexp_of_masked_and_infinite_entries():
    x = np.array([[-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 0.0], [np.inf, 0.0, 1.0]])
    with np.errstate(divide="ignore"):
        out = logsumexp(x)
    assert_close(out, np.array([-np.inf, np.log(2.0), np.inf]))


def test_logsumexp_shapes_and_input_untouched():
    x = np.random.default_rng(2).normal(size=(3, 4))
    before = x.copy()
    assert logsumexp(x).shape == (3,), logsumexp(x).shape
    assert logsumexp(x, keepdims=True).shape == (3, 1)
    assert logsumexp(x, dim=0).shape == (4,)
    assert np.ndim(logsumexp(x[0])) == 0, "a 1-D input gives a scalar"
    assert_close(x, before, rtol=0, atol=0, msg="logsumexp modified its input")


def test_logsumexp_keeps_float32_without_overflow():
    # exp overflows above 88.7 in float32
    x = np.array([[100.0, 101.0, 102.0]], dtype=np.float32)
    out = logsumexp(x)
    assert out.dtype == np.float32, out.dtype
    assert_close(out, np.array([102.40760596444439]), rtol=1e-6)  # torch.logsumexp in float64


# ---------------------------------------------------------------- log_softmax and softmax


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax_matches_exact_values(dim):
    x = np.random.default_rng(3).normal(scale=10.0, size=(5, 6))
    assert_close(log_softmax(x, dim=dim), exact_log_softmax(x, dim), rtol=1e-12, atol=1e-13)


def test_log_softmax_on_every_axis_of_a_3d_array_gives_log_probabilities():
    x = np.random.default_rng(4).normal(scale=5.0, size=(4, 3, 5))
    for dim in (0, 1, 2):
        out = log_softmax(x, dim=dim)
        assert_close(out, exact_log_softmax(x, dim), rtol=1e-12, atol=1e-12, msg=f"log_softmax(dim={dim})")
        assert_close(logsumexp(out, dim=dim), np.zeros(out.sum(axis=dim).shape), atol=1e-13,
                     msg=f"the probabilities along dim={dim} sum to 1")


def test_softmax_rows_are_probabilities_and_match_the_formula():
    x = np.random.default_rng(5).normal(scale=3.0, size=(7, 5))
    p = softmax(x)
    assert (p > 0).all(), "softmax must be positive"
    assert_close(p.sum(axis=-1), np.ones(7), rtol=1e-14)
    assert_close(p, np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True), rtol=1e-13)
    assert_close(softmax(x, dim=0).sum(axis=0), np.ones(5), rtol=1e-14)


@pytest.mark.parametrize("scale", [1e4, 1e5])
def test_log_softmax_of_extreme_logits(scale):
    x = extreme_logits(6, 5, scale)
    out = log_softmax(x)
    assert np.isfinite(out).all(), f"log_softmax of logits of magnitude {scale:g}: {out}"
    assert_close(out, exact_log_softmax(x), rtol=1e-12, atol=1e-9)
    assert_close(softmax(x).sum(axis=-1), np.ones(5), rtol=1e-14)


def test_log_softmax_is_shift_invariant():
    x = np.random.default_rng(7).normal(size=(4, 6))
    assert_close(log_softmax(x + 1e4), log_softmax(x), atol=1e-10)
    assert_close(log_softmax(x - 1e4), log_softmax(x), atol=1e-10)


# ---------------------------------------------------------------- LogSoftmax module


@pytest.mark.parametrize("shape, dim", [((4, 5), -1), ((5, 3), 0), ((2, 4, 3), 1), ((6,), 0)])
def test_log_softmax_backward_matches_finite_differences(shape, dim):
    rng = np.random.default_rng(8)
    x, g = rng.normal(scale=2.0, size=shape), rng.normal(size=shape)
    layer = LogSoftmax(dim=dim)
    out = layer(x)
    assert_close(out, log_softmax(x, dim=dim), rtol=0, atol=0, msg="forward is log_softmax")
    g_before = g.copy()
    grad = layer.backward(g)
    expected = numerical_gradient(lambda z: np.sum(g * exact_log_softmax(z, dim)), x, h=1e-6)
    assert_close(grad, expected, rtol=1e-6, atol=1e-8)
    assert_close(g, g_before, rtol=0, atol=0, msg="backward modified grad_output")


def test_log_softmax_backward_matches_a_fourth_order_difference():
    """Richardson's extrapolation of two central differences (steps h and h / 2) of the exact values is
    accurate to ~1e-12, where a single central difference is accurate to ~1e-7 only."""
    x = np.random.default_rng(9).normal(size=(3, 4))
    g = np.random.default_rng(10).normal(size=(3, 4))
    layer = LogSoftmax()
    layer(x)
    grad = layer.backward(g)

    def L(z):
        return np.sum(g * exact_log_softmax(z))

    expected = (4 * numerical_gradient(L, x, h=5e-4) - numerical_gradient(L, x, h=1e-3)) / 3
    assert_close(grad, expected, rtol=1e-9, atol=1e-11)
    # adding a number to a row of x changes no output, so nudging all of a row's entries together changes nothing
    assert_close(grad.sum(axis=1), np.zeros(3), atol=1e-14, msg="the sum of each row of the gradient")


def test_log_softmax_gradient_at_extreme_logits_is_finite():
    rng = np.random.default_rng(11)
    x, g = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    layer = LogSoftmax()
    layer(x)
    reference = layer.backward(g)
    for shift in (1e4, -1e4, 1e6):
        layer(x + shift)
        grad = layer.backward(g)
        assert np.isfinite(grad).all(), f"gradient at logits shifted by {shift:g}: {grad}"
        assert_close(grad, reference, atol=1e-9, msg=f"gradient at logits shifted by {shift:g}")


def test_log_softmax_backward_errors():
    layer = LogSoftmax()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        layer.backward(np.ones((3, 2)))


def test_log_softmax_has_no_parameters():
    assert not LogSoftmax().parameters(), "LogSoftmax has no parameters"


# ---------------------------------------------------------------- NLLLoss


def test_nll_loss_is_the_mean_negative_log_probability():
    log_probs = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]]))
    target = np.array([0, 2])  # probabilities 0.5 and 0.7 for the targets
    for loss in (nll_loss(log_probs, target), NLLLoss()(log_probs, target)):
        assert isinstance(loss, float), type(loss)
        assert_close(loss, 0.5249110622493389, rtol=1e-14)  # as torch.nn.functional.nll_loss gives


def test_nll_loss_matches_pytorch():
    rng = np.random.default_rng(12)
    logits, target = random_batch(rng, 9, 4)
    log_probs = exact_log_softmax(logits)
    for loss in (nll_loss(log_probs, target), NLLLoss()(log_probs, target)):
        assert isinstance(loss, float), type(loss)
        assert_close(loss, 1.0255527979428836, rtol=1e-14)  # torch.nn.functional.nll_loss(log_probs, target)


def test_nll_loss_mean_does_not_grow_with_the_batch():
    rng = np.random.default_rng(13)
    logits, target = random_batch(rng, 5, 3)
    log_probs = log_softmax(logits)
    twice = nll_loss(np.concatenate([log_probs, log_probs]), np.concatenate([target, target]))
    assert_close(twice, nll_loss(log_probs, target), rtol=1e-14, msg="mean over a duplicated batch")


@pytest.mark.parametrize("n, c, grad_output", [(6, 4, 1.0), (1, 3, 2.5), (8, 2, -0.5)])
def test_nll_loss_backward_matches_finite_differences(n, c, grad_output):
    rng = np.random.default_rng(14)
    logits, target = random_batch(rng, n, c)
    log_probs = log_softmax(logits)
    loss_fn = NLLLoss()
    loss_fn(log_probs, target)
    grad = loss_fn.backward(grad_output)
    expected = numerical_gradient(lambda z: grad_output * nll_loss(z, target), log_probs, h=1e-6)
    assert_close(grad, expected, rtol=1e-7, atol=1e-10)
    # the loss is linear in log_probs: a central difference with a large step is exact but for rounding
    expected = numerical_gradient(lambda z: grad_output * nll_loss(z, target), log_probs, h=0.5)
    assert_close(grad, expected, rtol=1e-13, atol=1e-15, msg="against a central difference with step 0.5")


def test_nll_loss_backward_by_hand():
    loss_fn = NLLLoss()
    for grad_output, expected in ((None, [[0.0, 0.0, -0.5], [-0.5, 0.0, 0.0]]), (-4.0, [[0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])):
        loss_fn(np.log(np.full((2, 3), 1 / 3)), np.array([2, 0]))  # a forward before each backward
        grad = loss_fn.backward() if grad_output is None else loss_fn.backward(grad_output)
        assert_close(grad, np.array(expected), rtol=1e-15, atol=0)


def test_nll_loss_backward_before_forward():
    with pytest.raises(RuntimeError, match="before forward"):
        NLLLoss().backward()


# ---------------------------------------------------------------- CrossEntropyLoss


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_cross_entropy_is_nll_of_log_softmax(scale):
    rng = np.random.default_rng(15)
    logits, target = random_batch(rng, 7, 5, scale=scale)
    log_softmax_layer, nll, cross_entropy = LogSoftmax(), NLLLoss(), CrossEntropyLoss()
    loss = cross_entropy(logits, target)
    assert isinstance(loss, float), type(loss)
    assert_close(loss, nll(log_softmax_layer(logits), target), rtol=1e-14)
    assert_close(loss, nll_loss(exact_log_softmax(logits), target), rtol=1e-12)
    grad = cross_entropy.backward()
    assert np.isfinite(grad).all(), grad
    assert_close(grad, log_softmax_layer.backward(nll.backward()), atol=1e-15)
    p = np.exp(exact_log_softmax(logits))
    assert_close(grad, (p - np.eye(5)[target]) / 7, atol=1e-15, msg="(softmax - onehot) / N")


def test_cross_entropy_backward_matches_finite_differences():
    rng = np.random.default_rng(16)
    logits, target = random_batch(rng, 4, 6, scale=2.0)
    cross_entropy = CrossEntropyLoss()
    cross_entropy(logits, target)
    expected = numerical_gradient(lambda z: 3.0 * CrossEntropyLoss()(z, target), logits, h=1e-6)
    assert_close(cross_entropy.backward(3.0), expected, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- gradcheck and training


@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_gradcheck_accepts_every_module(scale):
    rng = np.random.default_rng(17)
    logits, target = random_batch(rng, 5, 4, scale=scale)
    assert gradcheck(LogSoftmax(), logits)
    assert gradcheck(LogSoftmax(dim=0), logits)
    assert gradcheck(LogSoftmax(dim=1), rng.normal(size=(2, 3, 4)))
    assert gradcheck(NLLLoss(), log_softmax(logits), target)
    assert gradcheck(CrossEntropyLoss(), logits, target)
    model = Sequential(Linear(3, 6, rng=rng), ReLU(), Linear(6, 4, rng=rng), LogSoftmax())
    assert gradcheck(model, rng.normal(size=(5, 3)))


def test_gradcheck_rejects_a_log_softmax_without_its_second_term():
    class IdentityBackward(LogSoftmax):
        def backward(self, grad_output):
            return grad_output

    with pytest.raises(AssertionError):
        gradcheck(IdentityBackward(), np.random.default_rng(18).normal(size=(3, 4)))


def test_a_classifier_learns_three_blobs():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 60)
    X = np.array([[-2.0, -1.0], [2.0, -1.0], [0.0, 2.0]])[y] + rng.normal(scale=0.7, size=(180, 2))
    model = Sequential(Linear(2, 16, rng=rng), ReLU(), Linear(16, 3, rng=rng), LogSoftmax())
    loss_fn = NLLLoss()
    before = loss_fn(model(X), y)
    history = fit(model, loss_fn, SGD(model.parameters(), lr=0.1, momentum=0.9), X, y,
                  batch_size=30, num_epochs=20, rng=1)
    assert history["train_loss"][-1] < 0.3 < before, (before, history["train_loss"])
    probs = np.exp(model(X))
    confident = sum(np.count_nonzero(probs[y == k, k] > 0.5) for k in range(3))
    assert confident > 0.95 * 180, f"only {confident} of 180 points get a probability > 1/2 for their own blob"


# ---------------------------------------------------------------- target errors


LOSSES = {
    "nll_loss": lambda scores, target: nll_loss(scores, target),
    "NLLLoss": lambda scores, target: NLLLoss()(scores, target),
    "CrossEntropyLoss": lambda scores, target: CrossEntropyLoss()(scores, target),
}


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
@pytest.mark.parametrize("bad_index", [3, 7, -1])
def test_target_out_of_range(loss, bad_index):
    scores = log_softmax(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=rf"target\[2\] = {bad_index}.* 3 classes.*0\.\.2"):
        loss(scores, np.array([0, 2, bad_index, 1]))


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
@pytest.mark.parametrize("bad_target, dtype", [(np.array([0.0, 1.0, 2.0, 1.0]), "float64"),
                                               ([0.0, 1.5, 2.0, 1.0], "float64"),
                                               (np.array([True, False, True, True]), "bool")])
def test_non_integer_target(loss, bad_target, dtype):
    with pytest.raises(TypeError, match=f"integer.*{dtype}"):
        loss(log_softmax(np.zeros((4, 3))), bad_target)


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
@pytest.mark.parametrize("target_shape", [(3,), (5,), (4, 1)])
def test_batch_size_mismatch(loss, target_shape):
    target = np.zeros(target_shape, dtype=int)
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4,\).*" + re.escape(str(target_shape))):
        loss(log_softmax(np.zeros((4, 3))), target)


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
def test_scores_must_be_a_batch_of_rows(loss):
    with pytest.raises(ValueError, match=r"\(N, C\).*\(3,\)"):
        loss(np.zeros(3), np.array([0]))


def test_cross_entropy_errors_name_the_logits():
    with pytest.raises(ValueError, match="logits has shape"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 1, 2]))


# ---------------------------------------------------------------- binary cross-entropy on logits


def exact_bce_terms(z, y):
    """-[y log(sigmoid(z)) + (1 - y) log(1 - sigmoid(z))] elementwise, in 40-digit decimal arithmetic, from the
    definition (1 - sigmoid(z) = 1 / (1 + e^z)); no shift, no overflow (decimal exponents reach 1e999999)."""
    with localcontext() as context:
        context.prec = 40
        terms = []
        for z_i, y_i in zip(np.ravel(z).tolist(), np.ravel(y).tolist()):
            z_i, y_i = Decimal(z_i), Decimal(y_i)
            log_p, log_not_p = -(1 + (-z_i).exp()).ln(), -(1 + z_i.exp()).ln()
            terms.append(-(y_i * log_p + (1 - y_i) * log_not_p))
        return terms


def exact_bce(z, y):
    """The mean of exact_bce_terms, rounded once to float64."""
    terms = exact_bce_terms(z, y)
    with localcontext() as context:
        context.prec = 40
        return float(sum(terms) / len(terms))


def exact_sigmoid(z):
    """1 / (1 + e^-z) elementwise in 40-digit decimal arithmetic, as a float64 array of z's shape."""
    with localcontext() as context:
        context.prec = 40
        return np.array([float(1 / (1 + (-Decimal(v)).exp())) for v in np.ravel(z).tolist()]).reshape(np.shape(z))


def bce_from_log1p(z, y):
    """The loss for y in {0, 1} as math gives it: -log(sigmoid(z)) = log1p(e^-z) for y = 1, log1p(e^z) for y = 0
    (math.exp overflows above 709, so only for moderate logits)."""
    return math.fsum(math.log1p(math.exp(-z_i if y_i == 1 else z_i)) for z_i, y_i in zip(z, y)) / len(z)


@pytest.mark.parametrize("shape", [(7,), (5, 1), (3, 4), (1,), (2, 3, 2), ()])
def test_bce_matches_the_exact_definition(shape):
    rng = np.random.default_rng(20)
    z = rng.normal(scale=4.0, size=shape)
    for y in (rng.integers(0, 2, size=shape).astype(float), rng.uniform(size=shape)):
        for loss in (binary_cross_entropy_with_logits(z, y), BCEWithLogitsLoss()(z, y)):
            assert isinstance(loss, float), type(loss)
            assert_close(loss, exact_bce(z, y), rtol=1e-13, atol=1e-15, msg=f"shape {shape}")


def test_bce_matches_math_log1p():
    z = np.array([0.5, -1.0, 2.0, 0.0, 3.5, -7.25])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    assert_close(binary_cross_entropy_with_logits(z, y), bce_from_log1p(z, y), rtol=1e-15)


def test_bce_of_a_single_logit_by_hand():
    assert_close(binary_cross_entropy_with_logits(np.array([0.0]), np.array([0.3])), math.log(2.0), rtol=1e-15)
    assert_close(binary_cross_entropy_with_logits(np.array([math.log(3.0)]), np.array([1.0])), math.log(4 / 3),
                 rtol=1e-15)  # sigmoid(log 3) = 3/4
    assert_close(binary_cross_entropy_with_logits(np.array([math.log(3.0)]), np.array([0.0])), math.log(4.0),
                 rtol=1e-15)  # 1 - sigmoid(log 3) = 1/4


@pytest.mark.parametrize("scale", [40.0, 800.0, 1e4, 3e5, 1e300])
def test_bce_of_extreme_logits_is_finite_with_the_right_limits(scale):
    z = np.array([scale, -scale, scale, -scale, scale, -scale])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5])  # right and sure, right and sure, wrong, wrong, soft, soft
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, log(0) or 0 * inf, not even a warning
        for i in range(6):
            loss = binary_cross_entropy_with_logits(z[i:i + 1], y[i:i + 1])
            assert np.isfinite(loss), (scale, i, loss)
            # right and sure: e^-scale (0 in float64 beyond 745); wrong: scale; soft: scale / 2 (+ e^-scale)
            limit = [0.0, 0.0, scale, scale, scale / 2, scale / 2][i]
            assert_close(loss, limit, rtol=1e-15, atol=1e-15 if scale < 100 else 0.0,
                         msg=f"the loss of logit {z[i]:g} against target {y[i]:g}")
    if scale < 1e5:
        assert_close(binary_cross_entropy_with_logits(z, y), exact_bce(z, y), rtol=1e-15)


def test_bce_of_a_sure_right_answer_costs_next_to_nothing():
    """At |z| = 40 the right class has probability 1 - 4.25e-18: its loss is 4.25e-18, to float64's absolute
    precision (a loss that clips probabilities to [1e-7, 1 - 1e-7] gives 1e-7)."""
    z, y = np.array([-40.0, 40.0, -20.0]), np.array([0.0, 1.0, 0.0])
    for i in range(3):
        assert_close(binary_cross_entropy_with_logits(z[i:i + 1], y[i:i + 1]), exact_bce(z[i:i + 1], y[i:i + 1]),
                     rtol=1e-15, atol=1e-17, msg=f"logit {z[i]:g}, target {y[i]:g}")


def test_bce_keeps_float32_without_overflow():
    z = np.array([-100.0, -30.0, -2.0, 0.5, 20.0, 100.0], dtype=np.float32)  # exp overflows above 88.7 in float32
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0], dtype=np.float32)
    loss_fn = BCEWithLogitsLoss()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = loss_fn(z, y)
        grad = loss_fn.backward()
    assert_close(loss, exact_bce(z, y), rtol=1e-6)
    assert grad.dtype == np.float32, grad.dtype
    assert_close(grad, (exact_sigmoid(z) - y) / 6, rtol=1e-6, atol=1e-8)


def test_bce_accepts_integer_and_boolean_labels():
    z = np.array([0.3, -2.0, 1.5])
    expected = exact_bce(z, [1.0, 0.0, 1.0])
    for y in (np.array([1, 0, 1]), np.array([True, False, True]), [1, 0, 1]):
        assert_close(binary_cross_entropy_with_logits(z, y), expected, rtol=1e-14, msg=repr(y))
    assert_close(binary_cross_entropy_with_logits(np.array([2, -1]), np.array([1, 0])), exact_bce([2, -1], [1, 0]),
                 rtol=1e-14, msg="integer logits")


def test_bce_does_not_modify_its_inputs():
    z, y = np.random.default_rng(21).normal(size=(4, 1)), np.array([[1.0], [0.0], [0.5], [1.0]])
    z_before, y_before = z.copy(), y.copy()
    loss_fn = BCEWithLogitsLoss()
    loss_fn(z, y)
    loss_fn.backward(2.0)
    assert_close(z, z_before, rtol=0, atol=0, msg="logits")
    assert_close(y, y_before, rtol=0, atol=0, msg="target")


@pytest.mark.parametrize("shape, grad_output", [((6,), 1.0), ((5, 1), 0.5), ((3, 4), -2.0), ((1,), 3.0)])
def test_bce_backward_matches_finite_differences(shape, grad_output):
    rng = np.random.default_rng(22)
    z = rng.normal(scale=3.0, size=shape)
    for y in (rng.integers(0, 2, size=shape).astype(float), rng.uniform(size=shape)):
        loss_fn = BCEWithLogitsLoss()
        loss_fn(z, y)
        grad = loss_fn.backward(grad_output)
        assert grad.shape == shape, grad.shape
        expected = numerical_gradient(lambda v: grad_output * exact_bce(v, y), z, h=1e-6)
        assert_close(grad, expected, rtol=1e-7, atol=1e-10)
        assert_close(grad, grad_output * (exact_sigmoid(z) - y) / z.size, rtol=1e-14, atol=1e-17,
                     msg="against (sigmoid(z) - y) / N in decimal arithmetic")


@pytest.mark.parametrize("shape", [(5,), (4, 1), (3, 3)])
def test_gradcheck_accepts_bce(shape):
    rng = np.random.default_rng(23)
    assert gradcheck(BCEWithLogitsLoss(), rng.normal(scale=2.0, size=shape), rng.uniform(size=shape))
    assert gradcheck(BCEWithLogitsLoss(), rng.normal(scale=2.0, size=shape),
                     rng.integers(0, 2, size=shape).astype(float))
    model = Sequential(Linear(3, 6, rng=rng), ReLU(), Linear(6, 1, rng=rng))

    class ModelAndLoss(BCEWithLogitsLoss):
        """A model and its loss as one module, so that gradcheck checks the parameters through the loss."""
        def forward(self, X, y):
            return super().forward(model(X), y)

        def backward(self, grad_output=1.0):
            return model.backward(super().backward(grad_output))

        def named_parameters(self):
            return model.named_parameters()

    assert gradcheck(ModelAndLoss(), rng.normal(size=(5, 3)), rng.integers(0, 2, size=(5, 1)).astype(float))


@pytest.mark.parametrize("scale", [1e4, 1e6])
def test_bce_gradient_at_extreme_logits_is_finite_with_the_right_limits(scale):
    z = np.array([scale, -scale, scale, -scale, scale, -scale, 0.0, 710.0, -710.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.25, 1.0, 0.0])
    loss_fn = BCEWithLogitsLoss()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss_fn(z, y)
        grad = loss_fn.backward()
    # right and sure: 0; wrong and sure: +-1/N; soft: +-1/2N; at 0: (1/2 - 1/4) / N
    assert_close(grad * 9, np.array([0.0, 0.0, 1.0, -1.0, 0.5, -0.5, 0.25, 0.0, 0.0]), rtol=1e-15, atol=1e-300)


def test_bce_backward_scales_with_grad_output_and_is_bce_of_two_logits():
    rng = np.random.default_rng(24)
    z, labels = rng.normal(scale=3.0, size=8), rng.integers(0, 2, size=8)
    bce, cross_entropy = BCEWithLogitsLoss(), CrossEntropyLoss()
    two_logits = np.column_stack([np.zeros(8), z])  # softmax([0, z])[1] = sigmoid(z)
    assert_close(bce(z, labels.astype(float)), cross_entropy(two_logits, labels), rtol=1e-14)
    assert_close(bce.backward(-1.5), -1.5 * cross_entropy.backward()[:, 1], rtol=1e-13, atol=1e-17)


def test_bce_backward_before_forward_and_twice():
    loss_fn = BCEWithLogitsLoss()
    with pytest.raises(RuntimeError, match="before forward"):
        loss_fn.backward()
    loss_fn(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"grad_output has shape \(3,\)"):
        loss_fn.backward(np.ones(3))


@pytest.mark.parametrize("logits_shape, target_shape", [((4, 1), (4,)), ((4,), (4, 1)), ((4,), (3,)), ((2, 3), (3, 2))])
def test_bce_shape_mismatch_names_both_shapes(logits_shape, target_shape):
    for loss in (binary_cross_entropy_with_logits, BCEWithLogitsLoss()):
        with pytest.raises(ValueError, match=re.escape(f"logits of shape {logits_shape} and target of shape "
                                                       f"{target_shape}")):
            loss(np.zeros(logits_shape), np.zeros(target_shape))


@pytest.mark.parametrize("bad, where", [([0.0, 1.0, -1.0], "target[2] = -1.0"), ([0.0, 2.0, 1.0], "target[1] = 2.0"),
                                        ([np.nan, 0.0, 1.0], "target[0] = nan")])
def test_bce_targets_outside_0_1(bad, where):
    with pytest.raises(ValueError, match=re.escape(where) + r".*not in \[0, 1\]"):
        BCEWithLogitsLoss()(np.zeros(3), np.array(bad))


def test_bce_rejects_empty_and_non_numeric_targets():
    with pytest.raises(ValueError, match="at least one value"):
        binary_cross_entropy_with_logits(np.zeros(0), np.zeros(0))
    with pytest.raises(TypeError, match="numbers in \\[0, 1\\].*<U1"):
        binary_cross_entropy_with_logits(np.zeros(2), np.array(["a", "b"]))


def test_a_one_logit_classifier_learns_xor_clouds():
    """Four clouds at (+-2, +-2), class 1 where x1 and x2 share a sign: no straight line separates them."""
    rng = np.random.default_rng(0)
    corner = np.array([[-2.0, -2.0], [2.0, 2.0], [-2.0, 2.0], [2.0, -2.0]])
    cloud = np.repeat(np.arange(4), 50)
    X = corner[cloud] + rng.normal(scale=0.5, size=(200, 2))
    y = (cloud < 2).astype(float)[:, None]
    model = Sequential(Linear(2, 16, rng=rng), ReLU(), Linear(16, 1, rng=rng))
    loss_fn = BCEWithLogitsLoss()
    before = loss_fn(model(X), y)
    history = fit(model, loss_fn, SGD(model.parameters(), lr=0.1, momentum=0.9), X, y, batch_size=20,
                  num_epochs=30, rng=1)
    assert history["train_loss"][-1] < 0.1 < before, (before, history["train_loss"])
    accuracy = np.mean((model(X) > 0) == (y > 0.5))
    assert accuracy > 0.97, accuracy
