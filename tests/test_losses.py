"""nnlib.losses: MSELoss against PyTorch's values and finite differences in float64 on random shapes."""
import numpy as np
import pytest

from nnlib.derivatives import numerical_gradient
from nnlib.gradcheck import gradcheck
from nnlib.losses import MSELoss
from nnlib.testing import assert_close

SHAPES = [(1,), (5,), (4, 1), (3, 4), (2, 3, 2)]


PYTORCH = {  # seed: torch.nn.functional.mse_loss(y_hat, y) for each shape of SHAPES, on the inputs drawn below
    0: [0.0664789307396629, 0.768956468392068, 2.26948661731194, 1.74528218898967, 3.21300642114752],
    1: [0.226608322920127, 0.913354745788924, 0.360476806688878, 1.58805909045142, 0.769409076593008],
    2: [0.50666183561659, 2.87774340317161, 0.38373060841282, 2.63159615910337, 3.72314112036011],
}


def test_forward_by_hand():
    y_hat = np.array([[1.0, -2.0], [0.5, 3.0]])
    y = np.array([[0.0, -2.0], [2.5, 1.0]])  # errors 1, 0, -2 and 2
    loss = MSELoss()(y_hat, y)
    assert isinstance(loss, float), "MSELoss returns a Python float"
    assert_close(loss, 2.25, rtol=1e-15)


@pytest.mark.parametrize("seed", range(3))
def test_forward_matches_pytorch(seed):
    rng = np.random.default_rng(seed)
    for shape, expected in zip(SHAPES, PYTORCH[seed]):
        y_hat, y = rng.standard_normal(shape), rng.standard_normal(shape)
        loss = MSELoss()(y_hat, y)
        assert isinstance(loss, float), "MSELoss returns a Python float"
        assert_close(loss, expected, rtol=1e-12, msg=f"MSELoss on {shape}")


@pytest.mark.parametrize("seed", range(3))
def test_backward_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        y_hat, y = rng.standard_normal(shape), rng.standard_normal(shape)
        y_before = y.copy()
        loss_fn = MSELoss()
        loss_fn(y_hat, y)
        expected = numerical_gradient(lambda v: MSELoss()(v, y), y_hat)
        assert_close(loss_fn.backward(), expected, rtol=1e-6, atol=1e-9, msg=f"backward() on {shape}")
        scale = rng.uniform(0.1, 3.0)
        loss_fn(y_hat, y)  # each backward uses what one forward saved
        assert_close(loss_fn.backward(scale), scale * expected, rtol=1e-6, atol=1e-9,
                     msg="backward(grad_output) scales the gradient")
        assert_close(y, y_before, rtol=0, atol=0, msg="the target is not modified")
        assert gradcheck(MSELoss(), y_hat, y, seed=seed)


def test_a_perfect_prediction_has_zero_loss_and_gradient():
    y = np.random.default_rng(0).standard_normal((3, 2))
    loss_fn = MSELoss()
    assert_close(loss_fn(y.copy(), y), 0.0, atol=0)
    assert_close(loss_fn.backward(), np.zeros((3, 2)), atol=0)


def test_mismatched_shapes_are_refused_naming_both():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        MSELoss()(np.zeros((4, 1)), np.zeros(4))


def test_backward_errors():
    with pytest.raises(RuntimeError, match="MSELoss.backward was called before forward"):
        MSELoss().backward()
    loss_fn = MSELoss()
    loss_fn(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        loss_fn.backward(np.ones(3))
