"""The headline result of each tutorial the course grew from (/work/shared/seeds/), reproduced with nnlib.

Each test runs a tutorial's own experiment (its data, sizes, learning rate, epochs, initialization) on nnlib's
reference modules, and says in its docstring where it departs from the tutorial and why:

- 004_a4a951ae83adcde8.txt: a linear layer recovers the weights of noise-free linear data; y = x1 * x2 is
  learned by two layers and not by one.
- 001_17b3edecfa4d28c8.txt: XOR with its 2-3-1 tanh network, and its layer API (a network of layer objects
  that add, use a loss, fit one sample at a time and predict) on nnlib's modules.
- 002_2d40d183b1691657.txt: its four-sample training of a scalar MLP, and the graph it draws of one neuron.
- 003_03fd025673cb2350.txt: its synthetic regression, to within 10 % of the noise floor.
- 000_5356e8f6f27e4821.txt: 98 % on MNIST is tested in tests/test_mnist_accuracy.py (chapter 5's recipe,
  about 20 s per seed); it is not repeated here.

Where a result depends on the random seed, a test runs the seeds 0 .. n-1 and requires k of the n to succeed.
k was fixed before these seeds were run, by one rule: the experiment ran first on the 200 calibration seeds
1000-1199, which the tests do not use; p_low is the one-sided 95 % (Clopper-Pearson) lower bound of the
success rate measured there, and k is the largest number of successes that n seeds reach with probability
at least 99 % if the success rate were p_low. Each test states its calibration rate, n and k.
"""
import re

import numpy as np

import nnlib.graph
from nnlib.derivatives import numerical_gradient
from nnlib.engine import Value
from nnlib.gradcheck import gradcheck
from nnlib.graph import draw_dot, trace
from nnlib.layers import Linear, ReLU, Sigmoid, Tanh
from nnlib.losses import MSELoss
from nnlib.module import Module, Parameter, Sequential
from nnlib.neurons import MLP, Layer
from nnlib.optim import SGD
from nnlib.testing import assert_close
from nnlib.training import fit


def mse(y_hat: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.square(y_hat - y)))


def set_parameters(layer: Linear, weight: np.ndarray, bias: np.ndarray | float) -> Linear:
    """Overwrite a Linear's initial weight (in_features, out_features) and bias (out_features,) in place."""
    layer.weight.data[...] = weight
    layer.bias.data[...] = bias
    return layer


def k_of_n(figures: dict[int, float], succeeded, k: int, what: str) -> None:
    """Assert that at least k of the seeds' figures succeed; the message lists every seed's figure."""
    wins = [seed for seed, figure in figures.items() if succeeded(figure)]
    listing = ", ".join(f"seed {seed}: {figure:.3g}" for seed, figure in figures.items())
    assert len(wins) >= k, f"{what}: {len(wins)} of {len(figures)} seeds succeed, at least {k} must ({listing})"


# 004_a4a951ae83adcde8.txt ----------------------------------------------------------------------------------

def tutorial_004_linear(in_features: int, out_features: int, rng: np.random.Generator) -> Linear:
    """A Linear initialized as tutorial 004 does: W ~ N(0, 1 / in_features), b = 0."""
    weight = rng.standard_normal((in_features, out_features)) * np.sqrt(1 / in_features)
    return set_parameters(Linear(in_features, out_features), weight, 0.0)


def linear_recovery(seed: int, num_epochs: int) -> float:
    """The larger of |W - W_true| (Euclidean norm) and |b - b_true| after training Linear(10, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((100, 10))
    W_true, b_true = rng.standard_normal((10, 1)), rng.standard_normal(1)
    y = X @ W_true + b_true
    model = tutorial_004_linear(10, 1, rng)
    fit(model, MSELoss(), SGD(model.parameters(), lr=0.05), X, y, batch_size=10, num_epochs=num_epochs, rng=rng)
    return max(float(np.linalg.norm(model.weight.data - W_true)), float(abs(model.bias.data - b_true)[0]))


def test_004_linear_layer_recovers_the_true_weights_within_1e_4():
    """004_a4a951ae83adcde8.txt: Linear(10, 1) trained on 100 noise-free rows y = X W + b (X, W, b standard
    normal), MSE, plain SGD with lr 0.05, batches of 10, reaches the true W and b: the tutorial prints errors
    of 1.8e-5 (weights, Euclidean norm) and 5.7e-6 (bias). Here both must be below 1e-4.

    Epochs: the tutorial's code calls fit for 10 epochs, but 10 epochs do not reach its figures: on the 200
    calibration seeds the error after 10 epochs has a median of 3.2e-3 and never goes below 1e-4, in nnlib and
    in a plain numpy loop written from the tutorial's description alike. After 20 epochs the median is 1.2e-5,
    the size the tutorial prints, so the test trains for 20. k of n: 187 of the 200 calibration seeds (93.5 %)
    get below 1e-4 in 20 epochs (p_low = 0.899); n = 20, k = 14.
    """
    errors = {seed: linear_recovery(seed, num_epochs=20) for seed in range(20)}
    k_of_n(errors, lambda error: error < 1e-4, k=14, what="|learned - true| < 1e-4 after 20 epochs")


def product_experiment(seed: int) -> tuple[float, float]:
    """Test MSEs of one Linear and of Linear-Sigmoid-Linear trained on y = x1 * x2 as tutorial 004 trains them."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((1000, 2))
    y = X[:, :1] * X[:, 1:]
    X_test = rng.standard_normal((10_000, 2))
    y_test = X_test[:, :1] * X_test[:, 1:]
    one_layer = Sequential(tutorial_004_linear(2, 1, rng))
    two_layers = Sequential(tutorial_004_linear(2, 10, rng), Sigmoid(), tutorial_004_linear(10, 1, rng))
    for model, lr in [(one_layer, 0.01), (two_layers, 0.3)]:
        fit(model, MSELoss(), SGD(model.parameters(), lr=lr), X, y, batch_size=50, num_epochs=50, rng=rng)
    return mse(one_layer(X_test), y_test), mse(two_layers(X_test), y_test)


def test_004_two_layers_learn_x1_times_x2_and_one_layer_cannot():
    """004_a4a951ae83adcde8.txt: y = x1 * x2 on 1000 standard normal points; Linear(2, 1) with lr 0.01 against
    Linear(2, 10), Sigmoid, Linear(10, 1) with lr 0.3; MSE, plain SGD, batches of 50, 50 epochs. The tutorial
    plots both loss curves and shows that two layers win; here the MSEs are measured on 10,000 new points of
    the same distribution (y is a column (N, 1): the tutorial's 1-D y would broadcast against the (N, 1)
    output).

    The threshold comes from the math, for x1, x2 independent standard normals:
    - any linear model (one layer) has an MSE of at least E[(x1 x2)^2] = 1, since x1 x2 is uncorrelated with
      x1, with x2 and with 1: the best linear predictor is 0. On 10,000 test points that floor is measured
      to about 0.03 (the standard deviation of (x1 x2)^2 is sqrt(8)), so the one layer must end within 0.2
      of 1: it learns what a linear model can, and no more;
    - any function of a single direction u = c x1 + s x2 (c = cos t, s = sin t; e.g. a network whose hidden
      units all look the same way) has an MSE of at least 1/2: with v = -s x1 + c x2, independent of u,
      x1 x2 = cs u^2 + (c^2 - s^2) u v - cs v^2; the part (c^2 - s^2) u v - cs (v^2 - 1) is uncorrelated with
      every function of u, and its variance is (c^2 - s^2)^2 + 2 c^2 s^2 = 1 - sin(2t)^2 / 2 >= 1/2.
    So two layers must beat one by more than a factor of 2, MSE(two) / MSE(one) < 1/2, which no function
    of one direction does: the network uses how x1 and x2 interact. k of n: all 200 calibration seeds
    succeed (ratios 0.0066 to 0.17, median 0.022; one layer 0.945 to 1.101; p_low = 0.985); n = 5, k = 4.
    """
    mses = {seed: product_experiment(seed) for seed in range(5)}
    for seed, (one, _) in mses.items():
        assert abs(one - 1.0) < 0.2, f"seed {seed}: one layer's test MSE is {one:.3f}, not the linear floor 1"
    ratios = {seed: two / one for seed, (one, two) in mses.items()}
    k_of_n(ratios, lambda ratio: ratio < 0.5, k=4, what="MSE(two layers) / MSE(one layer) < 1/2")


# 001_17b3edecfa4d28c8.txt ----------------------------------------------------------------------------------

class Network(Module):
    """Tutorial 001's network API, on nnlib's modules: add layers, use a loss, fit one sample at a time, predict.

    A sample is a (1, in_features) row, as in the tutorial (inputs of shape (samples, 1, features)). fit
    runs, for each sample in order: zero the gradients, forward through every layer, the loss, backward
    through the layers in reverse (each layer takes dE/d(its output) and returns dE/d(its input), adding
    dE/d(its parameters) to their .grad), then an SGD step with the learning rate lr.
    """

    def __init__(self):
        self.layers: list[Module] = []
        self.loss_fn: Module | None = None

    def add(self, layer: Module) -> None:
        self.layers.append(layer)

    def use(self, loss_fn: Module) -> None:
        self.loss_fn = loss_fn

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (N, in_features) -> the last layer's output (N, out_features): nnlib's Sequential of the layers."""
        self.chain = Sequential(*self.layers)
        return self.chain(X)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dE/d(output) (N, out_features) -> dE/dX (N, in_features)."""
        return self.chain.backward(grad_output)

    def fit(self, x_train: np.ndarray, y_train: np.ndarray, num_epochs: int, lr: float) -> list[float]:
        """x_train (samples, 1, in_features), y_train (samples, 1, out_features) -> the error of every epoch:
        the mean over the samples of the loss of each, measured just before its own update (the tutorial's)."""
        optimizer = SGD(self.parameters(), lr=lr)
        errors = []
        for _ in range(num_epochs):
            total = 0.0
            for x, y in zip(x_train, y_train):
                optimizer.zero_grad()
                total += self.loss_fn(self(x), y)
                self.backward(self.loss_fn.backward())
                optimizer.step()
            errors.append(total / len(x_train))
        return errors

    def predict(self, x_train: np.ndarray) -> list[np.ndarray]:
        """x_train (samples, 1, in_features) -> a list of one (1, out_features) output per sample."""
        return [self(x) for x in x_train]


X_XOR = np.array([[[0.0, 0.0]], [[0.0, 1.0]], [[1.0, 0.0]], [[1.0, 1.0]]])  # (4, 1, 2): one row per sample
Y_XOR = np.array([[[0.0]], [[1.0]], [[1.0]], [[0.0]]])  # (4, 1, 1)


def xor_network(rng: np.random.Generator) -> Network:
    """Tutorial 001's XOR network: fully connected 2 -> 3, tanh, 3 -> 1, tanh, MSE; every weight and bias
    uniform in [-0.5, 0.5)."""

    def fully_connected(n_in: int, n_out: int) -> Linear:
        return set_parameters(Linear(n_in, n_out), rng.uniform(-0.5, 0.5, (n_in, n_out)), rng.uniform(-0.5, 0.5, n_out))

    net = Network()
    net.add(fully_connected(2, 3))
    net.add(Tanh())
    net.add(fully_connected(3, 1))
    net.add(Tanh())
    net.use(MSELoss())
    return net


def test_001_xor_error_below_1e_3_after_its_1000_epochs():
    """001_17b3edecfa4d28c8.txt: XOR, trained through the tutorial's API (Network above: add, use, fit,
    predict) with its setup: layers 2-3-1, tanh after each fully connected layer, weights and biases uniform
    in [-0.5, 0.5), MSE, one sample at a time in the samples' order, lr 0.1, 1000 epochs. The tutorial prints
    an error of 0.000242 at epoch 1000 and predictions 0.0008, 0.978, 0.978, -0.0013. (The stored text of the
    tutorial shows its output, not its code: the architecture, the initialization and the learning rate are
    those of the tutorial's repository, which the post embeds.)

    Here the error of epoch 1000, measured as the tutorial measures it (the mean over the 4 samples of each
    one's loss just before its update), must be below 1e-3, and every prediction of such a run within 0.1 of
    its target. Not every initialization gets there: on the 200 calibration seeds 138 do (69 %; median error
    2.9e-4); 60 stay near 0.279, a local minimum. A plain numpy loop written from the tutorial's description
    gives the same errors to the last digit (compared on 12 of the calibration seeds, two of them stuck), so
    the stuck runs are the tutorial's setup, not nnlib. p_low = 0.632; n = 10, k = 3.
    """
    errors = {}
    for seed in range(10):
        net = xor_network(np.random.default_rng(seed))
        errors[seed] = net.fit(X_XOR, Y_XOR, num_epochs=1000, lr=0.1)[-1]
        if errors[seed] < 1e-3:
            predictions = net.predict(X_XOR)
            assert len(predictions) == 4 and all(p.shape == (1, 1) for p in predictions)
            assert_close(np.array(predictions), Y_XOR, atol=0.1, rtol=0.0, msg=f"seed {seed}: XOR predictions")
    k_of_n(errors, lambda error: error < 1e-3, k=3, what="XOR error after 1000 epochs < 1e-3")


def test_001_layer_api_nnlib_modules_do_what_its_layers_do():
    """001_17b3edecfa4d28c8.txt: the tutorial's layer API is a network of layer objects, fully connected and
    activation layers apart, each with a forward pass and a backward pass that, given dE/d(its output), updates
    the layer's parameters with the learning rate and returns dE/d(its input) for the layer before it; the
    network adds layers, uses a loss and its derivative, fits one sample at a time and predicts one output per
    sample. nnlib splits the update out of the layer (backward adds dE/dp to p.grad, SGD steps) and takes
    batches, so this test checks, on the XOR network above (float64, untrained):
    - predict, one (1, 2) sample at a time, gives the rows of one forward pass of the 4 samples as a batch;
    - one fit step on one sample moves every parameter by -lr * dE/dp, dE/dp by central differences;
    - the network's backward (the layers' backward passes chained in reverse) returns dE/dX and fills every
      dE/dp: nnlib.gradcheck on random inputs.
    """
    rng = np.random.default_rng(0)
    net = xor_network(rng)
    batch_output = net(X_XOR[:, 0, :])
    assert batch_output.shape == (4, 1)
    assert_close(np.concatenate(net.predict(X_XOR)), batch_output, rtol=1e-12, atol=1e-15,
                 msg="outputs of predict (one sample at a time) against one batch forward")

    x, y, lr = X_XOR[1], Y_XOR[1], 0.1

    def loss_with(p: Parameter):
        def loss_at(value: np.ndarray) -> float:
            original, p.data = p.data, value
            try:
                return MSELoss()(net(x), y)
            finally:
                p.data = original
        return loss_at

    before = [p.data.copy() for p in net.parameters()]
    expected_grads = [numerical_gradient(loss_with(p), p.data.copy()) for p in net.parameters()]
    net.fit(x[None], y[None], num_epochs=1, lr=lr)
    for (name, p), start, grad in zip(net.named_parameters(), before, expected_grads):
        assert_close(p.data, start - lr * grad, rtol=1e-6, atol=1e-9,
                     msg=f"{name} after one fit step (expected: start - lr * dE/dp by central differences)")

    assert gradcheck(net, rng.standard_normal((5, 2)))


# 002_2d40d183b1691657.txt ----------------------------------------------------------------------------------

XS_002 = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS_002 = [1.0, -1.0, -1.0, 1.0]


def four_sample_losses(seed: int, num_steps: int = 50, lr: float = 0.1) -> list[float]:
    """The loss at each of tutorial 002's training steps, each measured before its update."""
    rng = np.random.default_rng(seed)
    model = MLP(3, [4, 4, 1], rng=rng)
    model.layers[-1] = Layer(4, 1, nonlin="tanh", rng=rng)  # the tutorial's output neuron is tanh too
    for p in model.parameters():  # the tutorial's initialization: every weight and bias uniform in [-1, 1)
        p.data = float(rng.uniform(-1.0, 1.0))
    losses = []
    for _ in range(num_steps):
        loss = sum(((model(x) - y) ** 2 for x, y in zip(XS_002, YS_002)), Value(0.0))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data = p.data - lr * p.grad
        losses.append(loss.data)
    return losses


def test_002_four_sample_training_loss_below_0_01_within_50_steps():
    """002_2d40d183b1691657.txt: an MLP of scalar Values with 3 inputs, layers of 4, 4 and 1 tanh neurons
    (weights and biases uniform in [-1, 1)), trained on its four samples and targets +-1: the loss is the sum
    of the squared errors, 50 steps of gradient descent with lr 0.1. The tutorial prints the loss before each
    update, 3.64 at the first step and 0.0057 at the 50th (below 0.01 from the 30th on).

    Here the 50th loss must be below 0.01. nnlib's MLP makes its last layer linear, so the test replaces it by
    a tanh Layer(4, 1), as in the tutorial. k of n: 171 of the 200 calibration seeds (85.5 %; median 0.0064)
    succeed; p_low = 0.808; n = 20, k = 12.
    """
    final = {seed: four_sample_losses(seed)[-1] for seed in range(20)}
    k_of_n(final, lambda loss: loss < 0.01, k=12, what="loss at step 50 < 0.01")


def drawing(source: str) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """The boxes {id: label}, ovals {id: operation} and arrows [(tail id, head id)] of draw_dot's Graphviz source."""
    boxes, ovals, arrows = {}, {}, []
    for line in source.splitlines():
        line = line.strip()
        if arrow := re.fullmatch(r"(\S+) -> (\S+)", line):
            arrows.append((arrow[1].strip('"'), arrow[2].strip('"')))
        elif box := re.fullmatch(r'(\S+) \[label="\{ (.*) \| data .*\}" shape=record\]', line):
            boxes[box[1].strip('"')] = box[2]
        elif oval := re.fullmatch(r'(\S+) \[label="?([^"]+?)"?\]', line):
            ovals[oval[1].strip('"')] = oval[2]
    return boxes, ovals, arrows


def test_002_graph_of_its_neuron_has_the_nodes_and_edges_of_its_drawing(monkeypatch):
    """002_2d40d183b1691657.txt: the neuron it draws, o = tanh(x1 w1 + x2 w2 + b) with x1 = 2, x2 = 0,
    w1 = -3, w2 = 1, b = 6, after o.backward(). Its drawing has one box per Value (10: five leaves and the
    results x1*w1, x2*w2, their sum, n and o), one oval per operation (5: two *, two +, tanh), an edge from
    each operation to its result (5) and from each operand to the operation (9). Its gradients, which the
    tutorial confirms with PyTorch: o = 0, x1 -3, w1 2, x2 1, w2 0 (and n, b 1, since tanh'(0) = 1).
    nnlib.graph.trace must find that graph and draw_dot must draw it; the gradients are also checked against
    central differences.
    """
    leaves = {name: Value(data, label=name) for name, data in
              [("x1", 2.0), ("x2", 0.0), ("w1", -3.0), ("w2", 1.0), ("b", 6.0)]}

    def neuron(v: dict[str, Value]) -> Value:
        x1w1 = v["x1"] * v["w1"]
        x1w1.label = "x1*w1"
        x2w2 = v["x2"] * v["w2"]
        x2w2.label = "x2*w2"
        total = x1w1 + x2w2
        total.label = "x1*w1 + x2*w2"
        n = total + v["b"]
        n.label = "n"
        o = n.tanh()
        o.label = "o"
        return o

    o = neuron(leaves)
    o.backward()
    nodes, edges = trace(o)
    assert sorted(node.label for node in nodes) == sorted(
        ["x1", "x2", "w1", "w2", "b", "x1*w1", "x2*w2", "x1*w1 + x2*w2", "n", "o"]), "one node per Value"
    assert {node.label: node._op for node in nodes if node._op} == {
        "x1*w1": "*", "x2*w2": "*", "x1*w1 + x2*w2": "+", "n": "+", "o": "tanh"}, "the operations"
    assert sorted((child.label, parent.label) for child, parent in edges) == sorted([
        ("x1", "x1*w1"), ("w1", "x1*w1"), ("x2", "x2*w2"), ("w2", "x2*w2"), ("x1*w1", "x1*w1 + x2*w2"),
        ("x2*w2", "x1*w1 + x2*w2"), ("x1*w1 + x2*w2", "n"), ("b", "n"), ("n", "o")]), "operand -> result edges"

    monkeypatch.setattr(nnlib.graph.shutil, "which", lambda name: f"/usr/bin/{name}")  # a Digraph, not text
    boxes, ovals, arrows = drawing(draw_dot(o).source)
    assert sorted(boxes.values()) == sorted(node.label for node in nodes), "one box per Value"
    results = {oval: boxes[head] for oval, head in arrows if oval in ovals}  # an oval's arrow points to its result
    assert sorted(f"{ovals[oval]} -> {result}" for oval, result in results.items()) == sorted(
        ["* -> x1*w1", "* -> x2*w2", "+ -> x1*w1 + x2*w2", "+ -> n", "tanh -> o"]), "one oval per operation"
    operands = sorted((boxes[tail], results[head]) for tail, head in arrows if tail in boxes)
    assert len(arrows) == len(results) + len(operands) == 5 + 9
    assert operands == sorted((child.label, parent.label) for child, parent in edges), \
        "an arrow from each operand to the oval of the operation that uses it"

    names = list(leaves)
    grads = np.array([leaves[name].grad for name in names])
    assert_close(o.data, 0.0, msg="o")
    assert_close(grads, np.array([-3.0, 1.0, 2.0, 0.0, 1.0]), rtol=1e-12, atol=1e-15,
                 msg=f"the gradients of {names}, which the tutorial checks with PyTorch")

    def output_at(values: np.ndarray) -> float:
        return neuron({name: Value(float(v)) for name, v in zip(names, values)}).data

    numerical = numerical_gradient(output_at, np.array([leaves[name].data for name in names]))
    assert_close(grads, numerical, rtol=1e-7, atol=1e-9,
                 msg="gradients of the neuron against central differences")


# 003_03fd025673cb2350.txt ----------------------------------------------------------------------------------

def synthetic_regression(seed: int, num_epochs: int = 2) -> float:
    """The test MSE of tutorial 003's network, trained with nnlib on its data and split."""
    rng = np.random.default_rng(seed)
    n = 100_000
    a, b, c = rng.standard_normal((3, n))
    d, e = rng.integers(0, 4, n), rng.binomial(1, 0.5, n)
    y = (50 + 0.8 * a + 0.4 * b - 0.2 * c + 10 * d + 20 * e + rng.normal(0.0, 10.0, n))[:, None]
    X = np.column_stack([a, b, c, d, e]).astype(np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardized, as the tutorial does, on all rows
    order = rng.permutation(n)
    test, val, train = order[:20_000], order[20_000:36_000], order[36_000:]  # 20 % test; 20 % of the rest val
    layers = []
    for n_in, n_out in [(5, 10), (10, 10), (10, 1)]:
        layers += [set_parameters(Linear(n_in, n_out), rng.uniform(-0.1, 0.1, (n_in, n_out)), 1.0), ReLU()]
    model = Sequential(*layers[:-1])  # 5-10-10-1, ReLU between the layers, none after the last
    lr = 1e-5 * 64 / 2  # the tutorial's 1e-5, for a gradient that nnlib's MSELoss scales by 2 / batch_size
    fit(model, MSELoss(), SGD(model.parameters(), lr=lr), X[train], y[train], batch_size=64, num_epochs=num_epochs,
        X_val=X[val], y_val=y[val], rng=rng)
    return mse(model(X[test]), y[test])


def test_003_synthetic_regression_test_mse_within_10_percent_of_the_noise_floor():
    """003_03fd025673cb2350.txt: 100,000 rows, a, b, c ~ N(0, 1), d uniform in {0, 1, 2, 3}, e ~ Bernoulli(0.5),
    target = 50 + 0.8 a + 0.4 b - 0.2 c + 10 d + 20 e + N(0, 10^2); the five features standardized; 20 % of
    the rows for the test, 20 % of the rest for validation (64,000 / 16,000 / 20,000); a 5-10-10-1 ReLU network
    (weights uniform in [-0.1, 0.1), biases 1), MSE, SGD, batches of 64. The noise alone has a variance of 100,
    the floor of any model's expected test MSE; the tutorial reports a test MSE of 105.4 after 20 epochs.

    Here the test MSE must be at most 110, within 10 % of the floor. Departures from the tutorial:
    - the learning rate: the tutorial's 1e-5 multiplies a weight gradient summed over the batch without the
      factor 2 of the squared error; nnlib's MSELoss averages over the batch and keeps the 2, so the same step
      is lr = 1e-5 * 64 / 2 = 3.2e-4 (the tutorial's bias gradient is a mean: for the biases the same step
      would be 5e-6; one SGD here uses 3.2e-4 for all parameters);
    - the epochs: the tutorial's loop runs over range(1, number of layers), so each of its epochs trains on
      two batches, rows 1-64 and 2-65 (from 0); here an epoch is all 1,000 batches of the training rows, and 2 epochs
      replace its 20, which would take 10 times as long (7.5 s for one seed on the shared 2-core machine
      this test was written on): after the first epoch, the validation MSE of the first 20 calibration seeds
      is already 99.4 to 103.6.
    k of n: 200 of the 200 calibration seeds succeed (test MSE 96.8 to 106.4, median 101.0); p_low = 0.985;
    n = 3, k = 2.
    """
    test_mses = {seed: synthetic_regression(seed) for seed in range(3)}
    k_of_n(test_mses, lambda test_mse: test_mse <= 110, k=2, what="test MSE <= 110 (noise floor 100)")
