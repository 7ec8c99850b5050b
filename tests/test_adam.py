"""nnlib.optim.adam: Adam against PyTorch's torch.optim.Adam, its defaults, float32, and a quadratic."""
import inspect

import numpy as np
import pytest

from nnlib.module import Parameter
from nnlib.optim import Adam
from nnlib.testing import assert_close


def run_adam(starts, grads_per_step, **options):
    """nnlib's Adam on the same parameters and gradients: the values after each step, and the final grads."""
    params = [Parameter(x.copy()) for x in starts]
    optimizer = Adam(params, **options)
    history = []
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = g.copy()
        optimizer.step()
        for p, g in zip(params, grads):
            assert_close(p.grad, g, rtol=0, atol=0, msg="step must not change p.grad")
        history.append([p.data.copy() for p in params])
    return history


START = np.array([0.5, -1.0, 2.0])
# The gradients at steps 1 to 6: the three entries on very different scales, with signs that change.
GRADS = [np.array(g) * np.array([1e-4, 1.0, 1e3]) for g in ([0.3, 1.5, -0.2], [-1.2, 0.8, 0.5], [0.7, -2.0, 0.1],
                                                             [0.05, 0.4, -1.3], [-0.9, -0.6, 2.2], [1.1, 0.0, -0.4])]
OPTIONS = {
    "defaults": {},  # PyTorch's defaults
    "weight decay": {"weight_decay": 0.1},
    "lr, betas, eps": {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    "all": {"lr": 0.3, "betas": (0.0, 0.5), "eps": 0.1, "weight_decay": 2.0},
}
PYTORCH = {  # the parameter after each step, as torch.optim.Adam(**OPTIONS[name]) gives it from START with GRADS
    "defaults": [
        [0.499000333222259, -1.00099999999333, 2.00099999999995],
        [0.499559772768348, -1.00194148076829, 2.00055778473618],
        [0.499621367040257, -1.00192565590819, 2.0001050078841],
        [0.499651342212002, -1.00200046232333, 2.00049675284822],
        [0.499964700586027, -1.00194174247838, 2.0002161133055],
        [0.49990475503403, -1.00189113356797, 2.00005607304718],
    ],
    "weight decay": [
        [0.49900000019988, -1.00099999999286, 2.00099999999995],
        [0.498000134113295, -1.00193215871597, 2.00055735125143],
        [0.497000243606605, -1.00185011683909, 2.00010406288023],
        [0.496000475429058, -1.00184949034308, 2.0004955598216],
        [0.495000950402334, -1.00170878749057, 2.00021475996548],
        [0.494001482464258, -1.00156840825788, 2.00005453861458],
    ],
    "lr, betas, eps": [
        [0.451612903225806, -1.04999996666669, 2.04999999975],
        [0.481691041547084, -1.09628088394821, 2.02524267721798],
        [0.483367107091838, -1.09087913154656, 2.00112436284306],
        [0.483470617235436, -1.09190085440244, 2.02505326457352],
        [0.501091598388351, -1.08533293404444, 2.00740430232308],
        [0.494950988386288, -1.08007501222537, 1.99843433696083],
    ],
    "all": [
        [0.227271983491359, -0.75, 2.29984701682815],
        [0.0538959959289371, -0.466335977534775, 1.94562738219851],
        [-0.00423668404427747, -0.0929333967952305, 1.83838460106335],
        [0.00192958288743796, -0.131886216115403, 2.24039510232474],
        [-0.00163691488594239, 0.0609887783492697, 1.85608221344084],
        [0.00212552353552263, 0.0235193734945382, 1.95197688504977],
    ],
}


@pytest.mark.parametrize("name", OPTIONS)
def test_steps_match_pytorch(name):
    history = run_adam([START], [[g] for g in GRADS], **OPTIONS[name])
    for step, (got, want) in enumerate(zip(history, PYTORCH[name]), start=1):
        assert_close(got[0], np.array(want), rtol=1e-10, atol=1e-13, msg=f"{name}: the parameter after step {step}")


@pytest.mark.parametrize("name", OPTIONS)
def test_every_entry_of_every_parameter_moves_on_its_own(name):
    """Parameters of any shape, several at once: each entry takes the steps that a parameter of one entry, with
    the same gradients and an optimizer of its own, takes."""
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (5,), (2, 1, 3)]
    starts = [rng.standard_normal(shape) for shape in shapes]
    # gradients of very different scales, and signs that change from step to step
    grads = [[rng.standard_normal(shape) * scale for shape, scale in zip(shapes, (1e-4, 1.0, 1e3))]
             for _ in range(10)]
    together = run_adam(starts, grads, **OPTIONS[name])
    for k, start in enumerate(starts):
        for i in np.ndindex(start.shape):
            alone = run_adam([start[i].reshape(1)], [[step[k][i].reshape(1)] for step in grads], **OPTIONS[name])
            got = np.array([values[k][i] for values in together])
            assert_close(got, np.concatenate([values[0] for values in alone]), rtol=1e-12, atol=1e-15,
                         msg=f"entry {i} of parameter {k}, over the 10 steps")


def test_defaults_are_pytorchs():
    defaults = {name: p.default for name, p in inspect.signature(Adam).parameters.items()}
    assert defaults["lr"] == 1e-3 and defaults["betas"] == (0.9, 0.999)
    assert defaults["eps"] == 1e-8 and defaults["weight_decay"] == 0.0


def test_bias_correction_makes_a_constant_gradient_move_by_lr_at_every_step():
    # With g constant, m_hat = g and v_hat = g**2 exactly at every step, so each step is lr * g / (|g| + eps).
    # Without bias correction the first steps would be sqrt(1 - beta2) / (1 - beta1) ~ 0.32 times as large.
    g = np.array([2.0, -0.5, 1e-3])
    p = Parameter(np.zeros(3))
    optimizer = Adam([p], lr=0.01)
    for t in range(1, 6):
        p.grad = g.copy()
        optimizer.step()
        assert_close(p.data, -t * 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-9, msg=f"after {t} steps")


def test_float32_parameters_stay_float32_and_match_float64():
    rng = np.random.default_rng(1)
    start = rng.standard_normal((6, 5)).astype(np.float32)
    grads = [[rng.standard_normal((6, 5)).astype(np.float32)] for _ in range(5)]
    expected = run_adam([start.astype(np.float64)], [[g.astype(np.float64) for g in step] for step in grads], lr=0.01)
    for got, want in zip(run_adam([start], grads, lr=0.01), expected):
        assert got[0].dtype == np.float32, "a step must not change the dtype"
        assert_close(got[0], want[0], rtol=1e-5, atol=1e-6)


def test_each_optimizer_counts_its_own_steps():
    a, b = Parameter(np.array([0.0])), Parameter(np.array([0.0]))
    first, second = Adam([a], lr=0.1), Adam([b], lr=0.1)
    for g in (1.0, -3.0, 0.5):
        a.grad = np.array([g])
        first.step()
    b.grad = np.array([4.0])
    second.step()
    assert_close(b.data, np.array([-0.1 * 4.0 / (4.0 + 1e-8)]), rtol=1e-12, msg="a fresh optimizer's first step")
    assert first.t == 3 and second.t == 1


def test_zero_grad_resets_the_gradients():
    params = [Parameter(np.ones((2, 3))), Parameter(np.ones(4))]
    for p in params:
        p.grad += 5.0
    Adam(params).zero_grad()
    for p in params:
        assert_close(p.grad, np.zeros_like(p.data), atol=0)


def test_converges_on_an_ill_conditioned_quadratic():
    # f(p) = sum(c * (p - target)**2) / 2 with curvatures from 1e-2 to 1e2: Adam's per-coordinate step size
    # makes the flat and the steep directions converge alike.
    curvature = np.array([1e-2, 1e-1, 1.0, 10.0, 100.0])
    target = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    p = Parameter(np.zeros(5))
    optimizer = Adam([p], lr=0.05)
    for step in range(3000):
        optimizer.lr = 0.05 * (1 - step / 3000)  # decaying, so that it settles instead of hovering around
        optimizer.zero_grad()
        p.grad += curvature * (p.data - target)
        optimizer.step()
    assert_close(p.data, target, atol=1e-2, rtol=0, msg="Adam's solution of the quadratic")


def test_invalid_arguments():
    one = [Parameter(np.ones(1))]
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    for options in ({"lr": -1e-3}, {"eps": -1.0}, {"weight_decay": -0.1}, {"betas": (1.0, 0.999)},
                    {"betas": (0.9, -0.1)}):
        with pytest.raises(ValueError, match="Adam needs"):
            Adam(one, **options)
