"""nnlib.neurons: Neuron, Layer and MLP made of Values: forward passes, parameters, seeding, gradients, training."""
import math

import numpy as np
import pytest

from nnlib.derivatives import numerical_derivative, numerical_gradient
from nnlib.engine import Value
from nnlib.neurons import MLP, Layer, Module, Neuron
from nnlib.testing import assert_close

ACTIVATIONS = {"tanh": math.tanh, "relu": lambda z: max(z, 0.0), "linear": lambda z: z}

NEURONS_BY_HAND = [  # (weights, bias, input, the weighted sum of the input plus the bias, worked out by hand)
    ([2.0], 0.5, [0.25], 1.0),
    ([2.0], 0.5, [-1.0], -1.5),
    ([0.5, -1.0, 0.25, 2.0], 0.25, [1.0, 0.5, -2.0, 0.5], 0.75),
    ([0.5, -1.0, 0.25, 2.0], -0.5, [-1.0, 1.0, 2.0, -0.25], -2.0),
]


def weights_of(neuron):
    return np.array([w.data for w in neuron.w]), neuron.b.data


def neuron_by_neuron(model, x):
    """The MLP's output computed one neuron at a time on plain numbers, each layer's outputs feeding the next."""
    h = [float(v) for v in x]
    for layer in model.layers:
        h = [neuron(h).data for neuron in layer.neurons]
    return np.array(h)


@pytest.mark.parametrize("nonlin", ["tanh", "relu", "linear"])
def test_neuron_forward_by_hand(nonlin):
    for w, b, x, z in NEURONS_BY_HAND:
        neuron = Neuron(len(w), nonlin=nonlin, rng=0)
        for weight, value in zip(neuron.w, w):
            weight.data = value
        neuron.b.data = b
        out = neuron(x)
        assert isinstance(out, Value)
        assert_close(out.data, ACTIVATIONS[nonlin](z), rtol=1e-12, atol=1e-15,
                     msg=f"{nonlin} neuron output for w={w}, b={b}, x={x}")


def test_neuron_gradients_reach_weights_bias_and_inputs():
    rng = np.random.default_rng(1)
    neuron = Neuron(3, rng=rng)
    neuron.b.data = 0.3
    x = [Value(float(v)) for v in rng.normal(size=3)]
    out = neuron(x)
    out.backward()
    leaves = neuron.w + [neuron.b] + x
    backprop = np.array([leaf.grad for leaf in leaves])

    def output_of(values):
        for leaf, value in zip(leaves, values.tolist()):
            leaf.data = value
        return neuron(x).data

    point = np.array([leaf.data for leaf in leaves])
    expected = numerical_gradient(output_of, point)
    output_of(point)
    assert_close(backprop[:3], expected[:3], rtol=1e-7, atol=1e-9, msg="weight gradients")
    assert_close(backprop[3], expected[3], rtol=1e-7, atol=1e-9, msg="bias gradient")
    assert_close(backprop[4:], expected[4:], rtol=1e-7, atol=1e-9, msg="input gradients")


def test_initial_weights_are_uniform_in_minus_one_one_and_biases_zero():
    model = MLP(10, [50, 50, 1], rng=3)
    weights = np.array([w.data for layer in model.layers for n in layer.neurons for w in n.w])
    biases = np.array([n.b.data for layer in model.layers for n in layer.neurons])
    assert weights.min() >= -1 and weights.max() <= 1
    assert weights.min() < -0.95 and weights.max() > 0.95, "weights should fill [-1, 1]"
    assert_close(weights.mean(), 0.0, atol=0.03, msg="mean of the initial weights")
    assert_close(biases, np.zeros_like(biases), msg="initial biases")


def test_parameter_counts_and_order():
    neuron = Neuron(3)
    assert len(neuron.parameters()) == 4 and neuron.parameters()[-1] is neuron.b
    layer = Layer(3, 5)
    assert len(layer.parameters()) == 20
    model = MLP(3, [4, 4, 1])
    assert len(model.parameters()) == 4 * 4 + 4 * 5 + 1 * 5
    assert all(isinstance(p, Value) for p in model.parameters())
    assert len({id(p) for p in model.parameters()}) == 41, "parameters must be distinct Values"
    assert Module().parameters() == []


def test_hidden_layers_use_the_nonlinearity_and_the_last_layer_is_linear():
    for nonlin in ("tanh", "relu"):
        model = MLP(2, [3, 4, 2], nonlin=nonlin, rng=0)
        kinds = [[n.nonlin for n in layer.neurons] for layer in model.layers]
        assert kinds == [[nonlin] * 3, [nonlin] * 4, ["linear"] * 2]
    model = MLP(2, [3, 1], rng=0)
    for n in model.layers[-1].neurons:
        for w in n.w:
            w.data = 5.0
    assert abs(model([1.0, 1.0]).data) > 1.0, "the linear output layer can leave (-1, 1)"


def test_mlp_chains_its_layers_and_returns_a_value_or_a_list():
    rng = np.random.default_rng(4)
    x = rng.normal(size=3)
    single = MLP(3, [5, 1], rng=rng)
    out = single(x.tolist())
    assert isinstance(out, Value)
    assert_close(np.array([out.data]), neuron_by_neuron(single, x), rtol=1e-12, msg="single-output MLP")
    several = MLP(3, [5, 2], nonlin="relu", rng=rng)
    outs = several(x.tolist())
    assert isinstance(outs, list) and len(outs) == 2
    assert_close(np.array([o.data for o in outs]), neuron_by_neuron(several, x), rtol=1e-12, msg="two-output MLP")
    layer_out = Layer(3, 1, rng=rng)(x.tolist())
    assert isinstance(layer_out, list) and len(layer_out) == 1, "a Layer always returns a list"
    narrow = MLP(2, [1, 1], rng=rng)  # a hidden layer of one neuron feeds the next layer
    assert_close(np.array([narrow([0.5, -0.5]).data]), neuron_by_neuron(narrow, [0.5, -0.5]), rtol=1e-12,
                 msg="MLP with a one-neuron hidden layer")


def test_seeding_is_reproducible_and_neurons_differ():
    def flat(model):
        return np.array([p.data for p in model.parameters()])

    assert_close(flat(MLP(2, [3, 1], rng=7)), flat(MLP(2, [3, 1], rng=7)), msg="same seed, same model")
    assert not np.allclose(flat(MLP(2, [3, 1], rng=7)), flat(MLP(2, [3, 1], rng=8))), "seeds 7 and 8 agree"
    generator = np.random.default_rng(7)
    assert_close(flat(MLP(2, [3, 1], rng=generator)), flat(MLP(2, [3, 1], rng=7)), msg="Generator vs seed")
    assert not np.allclose(flat(MLP(2, [3, 1], rng=generator)), flat(MLP(2, [3, 1], rng=7))), \
        "a Generator must advance"
    layer = Layer(4, 3, rng=0)
    rows = [weights_of(n)[0] for n in layer.neurons]
    assert not np.allclose(rows[0], rows[1]) and not np.allclose(rows[1], rows[2]), "neurons of a layer are equal"
    assert not np.allclose(flat(MLP(2, [3, 1])), flat(MLP(2, [3, 1]))), "the default generator must advance"


def test_zero_grad():
    model = MLP(2, [3, 1], rng=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert_close(np.array([p.grad for p in model.parameters()]), np.zeros(13), msg="grads after zero_grad")


def test_mlp_gradients_match_numerical_gradient():
    rng = np.random.default_rng(5)
    model = MLP(3, [4, 3, 1], rng=rng)
    X, y = rng.normal(size=(5, 3)).tolist(), rng.choice([-1.0, 1.0], size=5).tolist()
    params = model.parameters()

    def loss_of(theta):
        for p, t in zip(params, theta.tolist()):
            p.data = t
        return sum((model(x) - t) ** 2 for x, t in zip(X, y)).data

    theta = np.array([p.data for p in params]) + rng.normal(scale=0.1, size=len(params))  # nonzero biases too
    loss_of(theta)
    loss = sum((model(x) - t) ** 2 for x, t in zip(X, y))
    model.zero_grad()
    loss.backward()
    backprop = np.array([p.grad for p in params])
    assert_close(backprop, numerical_gradient(loss_of, theta), rtol=1e-6, atol=1e-8, msg="MLP loss gradient")


def test_on_the_tiny_dataset_the_loss_falls_fastest_against_the_gradient():
    """The slope of the loss along the gradient g that backward() leaves in the parameters, by a central
    difference, is |g|², and along other unit directions it is smaller: the loss falls fastest against g."""
    X = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    y = [1.0, -1.0, -1.0, 1.0]
    model = MLP(3, [4, 4, 1], rng=0)
    params = model.parameters()
    loss = sum((model(x) - t) ** 2 for x, t in zip(X, y)) / len(y)
    model.zero_grad()
    loss.backward()
    theta, g = np.array([p.data for p in params]), np.array([p.grad for p in params])

    def loss_at(point):
        for p, value in zip(params, point.tolist()):
            p.data = value
        return (sum((model(x) - t) ** 2 for x, t in zip(X, y)) / len(y)).data

    def slope(direction):
        return numerical_derivative(lambda s: loss_at(theta + s * direction), 0.0)

    assert np.linalg.norm(g) > 0.1, "the loss of an untrained model is not at a minimum"
    assert_close(slope(g), float(g @ g), rtol=1e-6, msg="the slope along g")
    unit = g / np.linalg.norm(g)
    rng = np.random.default_rng(0)
    for _ in range(5):
        other = unit + 0.3 * rng.normal(size=len(g)) / np.sqrt(len(g))
        assert slope(other / np.linalg.norm(other)) < slope(unit), "g is the steepest direction"


def test_errors():
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        Neuron(3)([1.0, 2.0])
    with pytest.raises(ValueError, match="nonlin"):
        Neuron(3, nonlin="sigmoid")
    with pytest.raises(ValueError, match="nonlin"):
        MLP(2, [3, 1], nonlin="softplus")


def test_reprs():
    assert repr(Neuron(2, nonlin="relu")) == "Neuron(2, nonlin='relu')"
    assert repr(MLP(1, [1, 1])) == ("MLP of [Layer of [Neuron(1, nonlin='tanh')], "
                                    "Layer of [Neuron(1, nonlin='linear')]]")
