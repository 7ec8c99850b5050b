"""nnlib.conv: conv2d, Conv2d, max_pool2d, MaxPool2d and Flatten.

The forward passes are checked against entries built one at a time (impulse responses: a single 1 in the input and
in the kernel lands on one output entry, or on none; a single spike in a max-pool's input appears in exactly the
windows that contain it), against hand-worked examples and PyTorch's rules (output sizes, floor mode, the first
maximum on a tie), and through properties that pin them down (bilinearity, the bias, stride as subsampling, padding
as zeros around the image). The backward passes are checked against central differences in float64 (gradcheck) on
random shapes, strides and paddings, with overlapping windows and gaps between them.
"""
import itertools

import numpy as np
import pytest

from nnlib.classification import LogSoftmax
from nnlib.conv import Conv2d, Flatten, MaxPool2d, check_conv_input, conv2d, conv_output_size, max_pool2d
from nnlib.gradcheck import gradcheck
from nnlib.layers import Linear, ReLU
from nnlib.module import Sequential
from nnlib.testing import assert_close

# (N, C, H, W, F, kH, kW, stride, padding): overlapping windows (stride < k), gaps (stride > k), rectangular images
# and kernels, a kernel as large as the padded image, images much wider than the kernel is tall times the channels
CONFIGS = [(2, 3, 6, 7, 4, 3, 3, 1, 0), (1, 2, 7, 7, 3, 3, 3, 2, 1), (3, 1, 5, 6, 2, 2, 2, 3, 2),
           (2, 2, 6, 5, 3, 2, 3, 1, 1), (1, 3, 4, 4, 2, 4, 4, 1, 0), (2, 1, 9, 8, 2, 3, 2, 2, 0),
           (1, 2, 3, 3, 1, 5, 5, 2, 1), (2, 2, 1, 1, 3, 1, 1, 1, 0), (1, 2, 5, 14, 3, 3, 3, 1, 1)]
SQUARE = [config for config in CONFIGS if config[5] == config[6]]


def output_size(config):
    N, C, H, W, F, kH, kW, stride, padding = config
    return conv_output_size(H, kH, stride, padding), conv_output_size(W, kW, stride, padding)


def conv_layer(C, F, k, stride, padding, rng, bias=True, **options):
    """A Conv2d with a random (nonzero) bias, so that every term matters."""
    layer = Conv2d(C, F, k, stride=stride, padding=padding, bias=bias, rng=rng, **options)
    if bias:
        layer.bias.data = rng.standard_normal(F).astype(layer.bias.data.dtype)
    return layer


# ---------------------------------------------------------------- sizes and shapes


def test_output_sizes_follow_pytorchs_formula():
    # floor((size + 2 padding - kernel) / stride) + 1, as torch.nn.Conv2d's documentation states it
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(24, 2, 2) == 12
    assert conv_output_size(28, 3, 1, 1) == 28          # "same" padding
    assert conv_output_size(7, 3, 2, 1) == 4
    assert conv_output_size(5, 2, 2) == 2                # floor mode: the last row is left out
    assert conv_output_size(4, 3, 2) == 1


@pytest.mark.parametrize("X_shape, weight_shape, bias_shape, stride, padding, words", [
    ((2, 3, 8, 8), (4, 1, 3, 3), (4,), 1, 0, ["(2, 3, 8, 8)", "(4, 1, 3, 3)", "channels) is 3"]),
    ((2, 1, 4, 4), (4, 1, 5, 5), (4,), 1, 0, ["(2, 1, 4, 4)", "(4, 1, 5, 5)", "smaller"]),
    ((2, 1, 4, 3), (4, 1, 5, 5), (4,), 1, 0, ["(2, 1, 4, 3)", "(4, 1, 5, 5)", "smaller"]),
    ((2, 1, 8, 8), (4, 1, 3, 3), (3,), 1, 0, ["(4,)", "(3,)"]),
    ((1, 8, 8), (4, 1, 3, 3), None, 1, 0, ["(1, 8, 8)", "(N, C, H, W)"]),
    ((2, 1, 8, 8), (4, 1, 3, 3), None, 0, 0, ["stride"]),
    ((2, 1, 8, 8), (4, 1, 3, 3), None, 1, -1, ["padding"]),
])
def test_shapes_that_do_not_fit_are_refused_naming_both(X_shape, weight_shape, bias_shape, stride, padding, words):
    bias = None if bias_shape is None else np.zeros(bias_shape)
    with pytest.raises(ValueError) as error:
        conv2d(np.zeros(X_shape), np.zeros(weight_shape), bias, stride, padding)
    for word in words:
        assert word in str(error.value), f"the message {str(error.value)!r} does not say {word!r}"
    with pytest.raises(ValueError):
        check_conv_input(np.zeros(X_shape), np.zeros(weight_shape), bias, stride, padding)


def test_padding_lets_a_kernel_larger_than_the_image_fit():
    assert conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 5, 5)), padding=1).shape == (1, 1, 1, 1)


def test_the_modules_check_their_inputs():
    layer = Conv2d(3, 4, 3, rng=0)
    with pytest.raises(ValueError, match=r"\(2, 1, 8, 8\).*\(4, 3, 3, 3\)"):
        layer(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="smaller"):
        layer(np.zeros((2, 3, 2, 2)))
    layer(np.zeros((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="grad_output"):
        layer.backward(np.zeros((2, 4, 7, 7)))
    with pytest.raises(ValueError, match="kernel_size"):
        max_pool2d(np.zeros((1, 1, 1, 5)), 2)
    pool = MaxPool2d(2)
    pool(np.zeros((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="grad_output"):
        pool.backward(np.zeros((2, 3, 8, 8)))
    with pytest.raises(ValueError):
        Conv2d(0, 4, 3)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="forward"):
        Conv2d(1, 2, 3, rng=0).backward(np.zeros((1, 2, 3, 3)))
    with pytest.raises(RuntimeError, match="forward"):
        MaxPool2d(2).backward(np.zeros((1, 2, 3, 3)))


# ---------------------------------------------------------------- conv2d's forward pass


def test_conv2d_by_hand():
    X = np.array([[[[2.0, 0.0, 1.0],
                    [1.0, 3.0, -1.0],
                    [0.0, 1.0, 2.0]]]])
    weight = np.array([[[[0.0, 1.0], [-1.0, 2.0]]]])  # Y[i, j] = X[i, j + 1] - X[i + 1, j] + 2 X[i + 1, j + 1] + b
    assert_close(conv2d(X, weight, np.array([1.0])), np.array([[[[0 - 1 + 6 + 1.0, 1 - 3 - 2 + 1.0],
                                                                 [3 - 0 + 2 + 1.0, -1 - 1 + 4 + 1.0]]]]), rtol=1e-12)
    # stride 2, padding 1, a 2 x 2 kernel of ones: the 2 x 2 sums of the padded image, every other one
    assert_close(conv2d(X, np.ones((1, 1, 2, 2)), stride=2, padding=1), np.array([[[[2.0, 1.0], [1.0, 5.0]]]]))


@pytest.mark.parametrize("config", CONFIGS)
def test_conv2d_impulse_responses(config):
    """A single 1 at input (n, c, h, w) and a single 1 at kernel entry (f, c, u, v) give a single 1 at the output
    entry (n, f, i, j) whose window puts (u, v) on (h, w): stride * i + u = h + padding (and the same for the
    columns), if there is such an output; elsewhere 0. With bilinearity (next test), this is the whole forward pass."""
    N, C, H, W, F, kH, kW, stride, padding = config
    H_out, W_out = output_size(config)
    rng = np.random.default_rng(sum(config))
    for n, c, h, w, f, u, v in itertools.islice(itertools.product(range(N), range(C), range(H), range(W), range(F),
                                                                  range(kH), range(kW)), 0, None, 7):
        X, weight = np.zeros((N, C, H, W)), np.zeros((F, C, kH, kW))
        X[n, c, h, w], weight[f, c, u, v] = 1.0, 1.0
        expected = np.zeros((N, F, H_out, W_out))
        i, row_rest = divmod(h + padding - u, stride)
        j, column_rest = divmod(w + padding - v, stride)
        if row_rest == column_rest == 0 and 0 <= i < H_out and 0 <= j < W_out:
            expected[n, f, i, j] = 1.0
        assert_close(conv2d(X, weight, stride=stride, padding=padding), expected, rtol=0, atol=0,
                     msg=f"input entry {(n, c, h, w)}, kernel entry {(f, c, u, v)}")
    X, weight = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, kH, kW))
    assert conv2d(X, weight, stride=stride, padding=padding).shape == (N, F, H_out, W_out)


@pytest.mark.parametrize("config", CONFIGS)
def test_conv2d_is_bilinear_and_adds_the_bias_to_every_entry_of_its_map(config):
    N, C, H, W, F, kH, kW, stride, padding = config
    rng = np.random.default_rng(sum(config) + 1)
    X, X2 = rng.standard_normal((2, N, C, H, W))
    weight, weight2 = rng.standard_normal((2, F, C, kH, kW))
    bias, a, b = rng.standard_normal(F), rng.uniform(-2, 2), rng.uniform(-2, 2)

    def conv(X_, weight_, bias_=None):
        return conv2d(X_, weight_, bias_, stride, padding)

    assert_close(conv(a * X + b * X2, weight), a * conv(X, weight) + b * conv(X2, weight), rtol=1e-10, atol=1e-12)
    assert_close(conv(X, a * weight + b * weight2), a * conv(X, weight) + b * conv(X, weight2), rtol=1e-10, atol=1e-12)
    assert_close(conv(X, weight, bias) - conv(X, weight), np.broadcast_to(bias[:, None, None], conv(X, weight).shape[1:])
                 * np.ones((N, 1, 1, 1)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS)
def test_stride_subsamples_and_padding_adds_zeros_around(config):
    N, C, H, W, F, kH, kW, stride, padding = config
    rng = np.random.default_rng(sum(config) + 2)
    X, weight, bias = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, kH, kW)), rng.standard_normal(F)
    zeros_around = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    zeros_around[:, :, padding:padding + H, padding:padding + W] = X
    assert_close(conv2d(X, weight, bias, stride, padding), conv2d(zeros_around, weight, bias, stride, 0), rtol=1e-12)
    assert_close(conv2d(X, weight, bias, stride, padding), conv2d(X, weight, bias, 1, padding)[:, :, ::stride, ::stride],
                 rtol=1e-12)


def test_one_by_one_kernels_mix_the_channels_of_each_pixel():
    rng = np.random.default_rng(5)
    X, weight = rng.standard_normal((3, 4, 5, 6)), rng.standard_normal((2, 4, 1, 1))
    for f in range(2):
        expected = sum(weight[f, c, 0, 0] * X[:, c] for c in range(4))
        assert_close(conv2d(X, weight)[:, f], expected, rtol=1e-12, atol=1e-14)


def test_no_flip_a_cross_correlation_as_in_pytorch():
    """A kernel read as it is: np.convolve, a true convolution, agrees only with the flipped kernel."""
    rng = np.random.default_rng(6)
    row, kernel = rng.standard_normal(9), rng.standard_normal(4)
    out = conv2d(row.reshape(1, 1, 1, 9), kernel.reshape(1, 1, 1, 4))[0, 0, 0]
    assert_close(out, np.convolve(row, kernel[::-1], mode="valid"), rtol=1e-12)
    assert np.abs(out - np.convolve(row, kernel, mode="valid")).max() > 1e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_output_keeps_the_float_type(dtype):
    rng = np.random.default_rng(7)
    X, weight, bias = (rng.standard_normal(shape).astype(dtype) for shape in ((2, 3, 8, 8), (4, 3, 3, 3), (4,)))
    assert conv2d(X, weight, bias, 2, 1).dtype == dtype
    layer = Conv2d(3, 4, 3, padding=1, rng=0, dtype=dtype)
    Y = layer(X)
    assert Y.dtype == dtype
    assert layer.backward(np.ones_like(Y)).dtype == dtype
    assert layer.weight.grad.dtype == dtype and layer.bias.grad.dtype == dtype
    pool = MaxPool2d(2)
    assert pool(X).dtype == dtype and pool.backward(np.ones_like(pool(X))).dtype == dtype


# ---------------------------------------------------------------- Conv2d


def test_conv2d_module_parameters_and_initialization():
    layer = Conv2d(16, 32, 5, rng=0)
    assert [(name, p.data.shape) for name, p in layer.named_parameters()] == [("weight", (32, 16, 5, 5)),
                                                                             ("bias", (32,))]
    assert_close(layer.bias.data, np.zeros(32))
    # He initialization: standard deviation sqrt(2 / fan_in), fan_in = 16 * 5 * 5 = 400 (12,800 draws: within 3 %)
    assert abs(layer.weight.data.std() / np.sqrt(2 / 400) - 1) < 0.03
    assert_close(Conv2d(16, 32, 5, rng=0).weight.data, layer.weight.data, rtol=0, atol=0, msg="a seed repeats")
    assert Conv2d(3, 4, 3, bias=False, rng=0).bias is None
    assert Conv2d(3, 4, 3, rng=0, dtype=np.float32).weight.data.dtype == np.float32
    assert "Conv2d(16, 32, kernel_size=5" in repr(layer)


@pytest.mark.parametrize("config", SQUARE)
def test_conv2d_module_forward_is_conv2d(config):
    N, C, H, W, F, k, _, stride, padding = config
    rng = np.random.default_rng(sum(config) + 3)
    layer = conv_layer(C, F, k, stride, padding, rng)
    X = rng.standard_normal((N, C, H, W))
    assert_close(layer(X), conv2d(X, layer.weight.data, layer.bias.data, stride, padding), rtol=1e-12)


@pytest.mark.parametrize("config", SQUARE)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_gradients_match_central_differences(config, bias):
    N, C, H, W, F, k, _, stride, padding = config
    rng = np.random.default_rng(sum(config) + 4)
    layer = conv_layer(C, F, k, stride, padding, rng, bias=bias)
    assert gradcheck(layer, rng.standard_normal((N, C, H, W)), seed=sum(config))


@pytest.mark.parametrize("config", SQUARE)
def test_conv2d_parameter_gradients_without_the_input_gradient(config):
    """input_grad=False: backward returns None, and the parameters' gradients are those of a layer that computes dX."""
    N, C, H, W, F, k, _, stride, padding = config
    rng = np.random.default_rng(sum(config) + 5)
    full = conv_layer(C, F, k, stride, padding, rng)
    first = Conv2d(C, F, k, stride=stride, padding=padding, rng=0, input_grad=False)
    first.weight.data, first.bias.data = full.weight.data.copy(), full.bias.data.copy()
    X = rng.standard_normal((N, C, H, W))
    grad_output = rng.standard_normal(full(X).shape)
    first(X)
    assert first.backward(grad_output) is None
    full.backward(grad_output)
    assert_close(first.weight.grad, full.weight.grad, rtol=1e-12, atol=1e-14)
    assert_close(first.bias.grad, full.bias.grad, rtol=1e-12, atol=1e-14)


def test_conv2d_gradients_add_up_over_backward_calls():
    rng = np.random.default_rng(8)
    layer = conv_layer(2, 3, 3, 2, 1, rng)
    X = rng.standard_normal((2, 2, 7, 6))
    grad_output = rng.standard_normal(layer(X).shape)
    dX = layer.backward(grad_output)
    once = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer(X)  # each backward uses what one forward saved: forward again, as PyTorch requires
    assert_close(layer.backward(grad_output), dX, rtol=1e-12)
    assert_close(layer.weight.grad, 2 * once[0], rtol=1e-12)
    assert_close(layer.bias.grad, 2 * once[1], rtol=1e-12)


def test_conv2d_backward_leaves_grad_output_and_input_alone():
    rng = np.random.default_rng(9)
    layer = conv_layer(2, 3, 3, 1, 1, rng)
    X = rng.standard_normal((2, 2, 5, 5))
    X_before = X.copy()
    grad_output = rng.standard_normal(layer(X).shape)
    grad_before = grad_output.copy()
    layer.backward(grad_output)
    assert_close(X, X_before, rtol=0, atol=0)
    assert_close(grad_output, grad_before, rtol=0, atol=0)


def test_conv2d_input_gradient_is_a_convolution_with_the_flipped_kernel():
    """With stride 1 and no padding, dL/dX is the 'full' convolution of grad_output with the kernel (np.convolve, on
    a kernel with a single nonzero row): the transposed convolution."""
    rng = np.random.default_rng(10)
    layer = Conv2d(1, 1, 4, rng=0)
    kernel_row = rng.standard_normal(4)
    layer.weight.data = np.zeros((1, 1, 4, 4))
    layer.weight.data[0, 0, 0] = kernel_row
    layer(rng.standard_normal((1, 1, 4, 9)))
    grad_output = rng.standard_normal((1, 1, 1, 6))
    dX = layer.backward(grad_output)
    assert_close(dX[0, 0, 0], np.convolve(grad_output[0, 0, 0], kernel_row, mode="full"), rtol=1e-12)
    assert_close(dX[0, 0, 1:], np.zeros((3, 9)), rtol=0, atol=0)


# ---------------------------------------------------------------- max pooling


def test_max_pool2d_by_hand():
    X = np.array([[[[1.0, 5.0, 2.0, 0.0, 4.0],
                    [3.0, 4.0, 8.0, 1.0, 9.0],
                    [0.0, 2.0, 6.0, 7.0, 3.0],
                    [9.0, 1.0, 3.0, 2.0, 1.0]]]])
    # 2 x 2 side by side: the last column is in no window (floor mode, as PyTorch)
    assert_close(max_pool2d(X, 2), np.array([[[[5.0, 8.0], [9.0, 7.0]]]]), rtol=0, atol=0)
    assert_close(max_pool2d(X, 2, 1), np.array([[[[5.0, 8.0, 8.0, 9.0], [4.0, 8.0, 8.0, 9.0], [9.0, 6.0, 7.0, 7.0]]]]),
                 rtol=0, atol=0)
    assert_close(max_pool2d(X, 3, 2), np.array([[[[8.0, 9.0]]]]), rtol=0, atol=0)
    assert_close(max_pool2d(-X, 2), np.array([[[[-1.0, 0.0], [0.0, -2.0]]]]), rtol=0, atol=0)


POOLS = [(2, 3, 6, 6, 2, 2), (1, 2, 7, 9, 2, 2), (2, 2, 7, 7, 3, 2), (1, 3, 6, 5, 2, 1), (3, 1, 8, 8, 2, 3),
         (2, 2, 5, 7, 3, 3), (1, 1, 4, 6, 4, 1), (2, 1, 9, 6, 3, 1)]  # (N, C, H, W, kernel_size, stride)


@pytest.mark.parametrize("config", POOLS)
def test_max_pool2d_spikes_and_slopes(config):
    """A single positive spike on zeros appears exactly in the windows that contain it; on an image that increases
    to the right and downwards, every window's maximum is its lower-right entry."""
    N, C, H, W, k, stride = config
    H_out, W_out = conv_output_size(H, k, stride), conv_output_size(W, k, stride)
    for h, w in itertools.product(range(H), range(W)):
        X = np.zeros((N, C, H, W))
        X[-1, -1, h, w] = 5.0
        expected = np.zeros((N, C, H_out, W_out))
        for i, j in itertools.product(range(H_out), range(W_out)):
            if stride * i <= h < stride * i + k and stride * j <= w < stride * j + k:
                expected[-1, -1, i, j] = 5.0
        assert_close(max_pool2d(X, k, stride), expected, rtol=0, atol=0, msg=f"a spike at {(h, w)}")
    slope = np.arange(H)[:, None] * 100.0 + np.arange(W) + np.arange(N * C).reshape(N, C, 1, 1) * 1e4
    corners = slope[:, :, k - 1::stride, k - 1::stride][:, :, :H_out, :W_out]
    assert_close(max_pool2d(slope, k, stride), corners, rtol=0, atol=0)
    assert_close(max_pool2d(-slope, k, stride), -slope[:, :, ::stride, ::stride][:, :, :H_out, :W_out], rtol=0, atol=0)


@pytest.mark.parametrize("config", POOLS)
def test_max_pool_gradient_matches_central_differences(config):
    N, C, H, W, k, stride = config
    rng = np.random.default_rng(sum(config))
    X = rng.permutation(N * C * H * W).reshape(N, C, H, W) / 10.0   # no ties: the maximum is differentiable
    assert gradcheck(MaxPool2d(k, stride), X, seed=sum(config))


@pytest.mark.parametrize("config", POOLS)
def test_max_pool_gradient_goes_to_the_first_maximum_and_adds_up(config):
    """On ties, each window's gradient goes to its first maximum in row-major order (PyTorch's rule on the CPU),
    once; an entry that wins several overlapping windows receives the sum of their gradients."""
    N, C, H, W, k, stride = config
    H_out, W_out = conv_output_size(H, k, stride), conv_output_size(W, k, stride)
    rng = np.random.default_rng(sum(config) + 1)
    pool = MaxPool2d(k, stride)
    grad_output = rng.standard_normal((N, C, H_out, W_out))
    pool(np.zeros((N, C, H, W)))          # every window tied: the first entry of each window wins
    expected = np.zeros((N, C, H, W))
    for i, j in itertools.product(range(H_out), range(W_out)):
        expected[:, :, stride * i, stride * j] += grad_output[:, :, i, j]
    assert_close(pool.backward(grad_output), expected, rtol=1e-12, atol=1e-15)
    ones = np.ones((N, C, H_out, W_out))
    for h, w in itertools.product(range(H), range(W)):   # a spike wins every window it is in
        X = np.zeros((N, C, H, W))
        X[:, :, h, w] = 1.0
        pool(X)
        dX = pool.backward(ones)
        wins = sum(stride * i <= h < stride * i + k and stride * j <= w < stride * j + k
                   for i, j in itertools.product(range(H_out), range(W_out)))
        assert_close(dX[:, :, h, w], np.full((N, C), float(wins)), rtol=0, atol=0, msg=f"the spike at {(h, w)}")
        assert_close(dX.sum(), float(ones.sum()), rtol=1e-12, msg="each window's gradient goes to one entry")


def test_max_pool_default_stride_is_the_kernel_size():
    assert MaxPool2d(3).stride == 3
    assert "MaxPool2d(kernel_size=3, stride=3)" == repr(MaxPool2d(3))


# ---------------------------------------------------------------- Flatten and a whole CNN


def test_flatten_keeps_numpys_order_and_unflattens_the_gradient():
    X = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    flatten = Flatten()
    assert_close(flatten(X), X.reshape(2, 60), rtol=0, atol=0)
    assert_close(flatten.backward(np.arange(120.0).reshape(2, 60)), np.arange(120.0).reshape(2, 3, 4, 5), rtol=0, atol=0)
    flatten(X)
    with pytest.raises(ValueError, match="grad_output"):
        flatten.backward(np.zeros((2, 59)))
    assert gradcheck(Flatten(), np.random.default_rng(0).standard_normal((2, 3, 4)))


def test_a_small_cnn_end_to_end():
    """Conv2d, ReLU, MaxPool2d, Conv2d with padding and stride, Flatten, Linear, LogSoftmax: every parameter's
    gradient through the whole model, against central differences."""
    rng = np.random.default_rng(11)
    model = Sequential(Conv2d(2, 4, 3, rng=rng), ReLU(), MaxPool2d(2), Conv2d(4, 3, 3, stride=2, padding=1, rng=rng),
                       ReLU(), Flatten(), Linear(12, 5, rng=rng), LogSoftmax())
    for layer in model:
        if isinstance(layer, Conv2d):
            layer.bias.data = rng.standard_normal(layer.bias.data.shape)
    X = rng.standard_normal((3, 2, 10, 10))
    assert model(X).shape == (3, 5)
    assert gradcheck(model, X)
