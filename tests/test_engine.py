"""nnlib.engine.Value: values and gradients against float64 finite differences, graph structure, errors."""
import gc
import math
from fractions import Fraction

import numpy as np
import pytest

from nnlib.derivatives import numerical_derivative, numerical_gradient
from nnlib.engine import Value
from nnlib.testing import assert_close


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# name: (operation on a Value, the same function on a float from `math`, sampler of the input)
UNARY = {
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0), lambda rng: rng.choice([-1, 1]) * rng.uniform(0.01, 3)),
    "tanh": (lambda v: v.tanh(), math.tanh, lambda rng: rng.normal(scale=2)),
    "exp": (lambda v: v.exp(), math.exp, lambda rng: rng.uniform(-5, 5)),
    "log": (lambda v: v.log(), math.log, lambda rng: rng.uniform(0.05, 10)),
    "sigmoid": (lambda v: v.sigmoid(), sigmoid, lambda rng: rng.normal(scale=3)),
    "neg": (lambda v: -v, lambda x: -x, lambda rng: rng.normal()),
    "square": (lambda v: v ** 2, lambda x: x * x, lambda rng: rng.normal()),
    "cube": (lambda v: v ** 3, lambda x: x * x * x, lambda rng: rng.normal()),
    "reciprocal": (lambda v: v ** -1, lambda x: 1 / x, lambda rng: rng.choice([-1, 1]) * rng.uniform(0.2, 3)),
    "sqrt": (lambda v: v ** 0.5, math.sqrt, lambda rng: rng.uniform(0.05, 5)),
    "power -1.5": (lambda v: v ** -1.5, lambda x: x ** -1.5, lambda rng: rng.uniform(0.2, 5)),
    "power 0": (lambda v: v ** 0, lambda x: 1.0, lambda rng: rng.normal()),
}

# name: (operation on two Values or numbers, the same on floats); second_input draws a divisor-safe y
BINARY = {
    "add": (lambda a, b: a + b, lambda x, y: x + y),
    "sub": (lambda a, b: a - b, lambda x, y: x - y),
    "mul": (lambda a, b: a * b, lambda x, y: x * y),
    "div": (lambda a, b: a / b, lambda x, y: x / y),
}


def second_input(rng):
    return float(rng.choice([-1, 1]) * rng.uniform(0.3, 3))


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("seed", range(4))
def test_unary_values_and_gradients_match_math_and_finite_differences(name, seed):
    op, reference, sample = UNARY[name]
    rng = np.random.default_rng(seed)
    x = float(sample(rng))
    g = float(rng.normal())
    a = Value(x)
    out = op(a)
    assert_close(out.data, reference(x), rtol=1e-12, atol=1e-14, msg=f"{name}({x})")
    out.backward()
    slope = numerical_derivative(reference, x)
    assert_close(a.grad, slope, rtol=1e-6, atol=1e-8, msg=f"d {name} / dx at x = {x}")
    # the protocol: out._backward(out) adds out.grad * (local derivative) to the child's grad
    b = Value(x)
    out = op(b)
    b.grad, out.grad = 0.75, g
    out._backward(out)
    assert_close(b.grad, 0.75 + g * slope, rtol=1e-6, atol=1e-8, msg=f"{name}: _backward with out.grad = {g}")


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("seed", range(4))
def test_binary_values_and_gradients_match_finite_differences(name, seed):
    op, reference = BINARY[name]
    rng = np.random.default_rng(100 + seed)
    x, y = float(rng.normal() * 2), second_input(rng)
    a, b = Value(x), Value(y)
    out = op(a, b)
    assert_close(out.data, reference(x, y), rtol=1e-12, msg=f"{name}({x}, {y})")
    out.backward()
    expected = numerical_gradient(lambda v: reference(v[0], v[1]), np.array([x, y]))
    assert_close(np.array([a.grad, b.grad]), expected, rtol=1e-6, atol=1e-8, msg=f"gradient of {name}")


@pytest.mark.parametrize("name", BINARY)
def test_plain_numbers_work_on_either_side(name):
    op, reference = BINARY[name]
    x, k = 1.7, -2.5
    left, right = Value(x), Value(x)
    out_left, out_right = op(k, left), op(right, k)
    assert isinstance(out_left, Value) and isinstance(out_right, Value)
    assert_close(out_left.data, reference(k, x), rtol=1e-12, msg=f"{name}(number, Value)")
    assert_close(out_right.data, reference(x, k), rtol=1e-12, msg=f"{name}(Value, number)")
    out_left.backward()
    out_right.backward()
    assert_close(left.grad, numerical_derivative(lambda t: reference(k, t), x), rtol=1e-6,
                 msg=f"d {name}(number, x) / dx")
    assert_close(right.grad, numerical_derivative(lambda t: reference(t, k), x), rtol=1e-6,
                 msg=f"d {name}(x, number) / dx")


def test_numpy_scalars_work_on_either_side():
    a = Value(3.0)
    for out, expected in [(np.float64(2.0) * a, 6.0), (a * np.float32(2.0), 6.0), (np.float64(1.0) - a, -2.0),
                          (a + np.int64(4), 7.0)]:
        assert isinstance(out, Value), f"got {type(out).__name__}"
        assert_close(out.data, expected)


def composite(v0, v1, v2, tanh, exp, log, sigmoid_, relu):
    """A messy expression in which every input is used several times (works on Values and floats)."""
    h = tanh(v0 * v1 + v2)
    k = exp(h * v0 - v1 / (v2 * v2 + 1))
    m = log(k + v0 * v0) * sigmoid_(v2 - v0)
    return m * h + relu(v1 - 0.2) ** 2 / (1 + k) - 3 / (2 + v0 * v0)


def composite_on_values(v0, v1, v2):
    return composite(v0, v1, v2, lambda t: t.tanh(), lambda t: t.exp(), lambda t: t.log(),
                     lambda t: t.sigmoid(), lambda t: t.relu())


def composite_on_floats(v):
    return composite(v[0], v[1], v[2], math.tanh, math.exp, math.log, sigmoid, lambda t: max(t, 0.0))


@pytest.mark.parametrize("seed", range(6))
def test_composite_expression_with_reused_nodes_matches_numerical_gradient(seed):
    rng = np.random.default_rng(200 + seed)
    point = rng.normal(size=3)
    inputs = [Value(float(p)) for p in point]
    out = composite_on_values(*inputs)
    assert_close(out.data, composite_on_floats(point), rtol=1e-12, msg="composite value")
    out.backward()
    assert_close(np.array([v.grad for v in inputs]), numerical_gradient(composite_on_floats, point),
                 rtol=1e-6, atol=1e-8, msg="composite gradient")


def test_micrograd_reference_expression():
    """micrograd's test_more_ops, whose expected numbers micrograd computed with PyTorch."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert_close(g.data, 24.70408163265306, rtol=1e-9, msg="g")
    assert_close(a.grad, 138.83381924198252, rtol=1e-9, msg="dg/da")
    assert_close(b.grad, 645.5772594752186, rtol=1e-9, msg="dg/db")


@pytest.mark.parametrize("expression, derivatives", [  # the derivatives at -1.3, 0.4 and 2.2, as PyTorch gives them
    (lambda a: a + a, [2.0, 2.0, 2.0]),
    (lambda a: a * a, [-2.6, 0.8, 4.4]),
    (lambda a: a * a * a, [5.07, 0.48, 14.52]),
    (lambda a: (a * 2) * (a + 1), [-3.2, 3.6, 10.8]),
    (lambda a: a.tanh() * a.tanh() + a, [0.5563277048497719, 1.6501981376737276, 1.0935256507081106]),
    (lambda a: a / a.exp(), [8.439382335524261, 0.4021920276213836, -0.13296379003480066]),
])
def test_a_node_used_several_times_gets_every_contribution(expression, derivatives):
    for x, derivative in zip((-1.3, 0.4, 2.2), derivatives):
        a = Value(x)
        expression(a).backward()
        assert_close(a.grad, derivative, rtol=1e-10, atol=1e-12, msg=f"derivative at {x}")


def test_a_chain_100000_deep_backpropagates_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert_close(x.grad, 1.00001 ** 100_000, rtol=1e-9, msg="gradient through 100,000 products")
    assert_close(y.data, 1.00001 ** 100_000, rtol=1e-9, msg="value after 100,000 products")


def test_a_second_backward_adds_to_leaves_and_resets_interior_nodes():
    a, b = Value(0.6), Value(-1.7)
    h = a * b
    out = (h + a).tanh()
    out.backward()
    first = {"a": a.grad, "b": b.grad, "h": h.grad, "out": out.grad}
    out.backward()
    assert_close([a.grad, b.grad], [2 * first["a"], 2 * first["b"]], rtol=1e-12, msg="leaves accumulate")
    assert_close([h.grad, out.grad], [first["h"], 1.0], rtol=1e-12, msg="interior nodes hold one pass")
    a.grad = b.grad = 0.0
    out.backward()
    assert_close([a.grad, b.grad], [first["a"], first["b"]], rtol=1e-12, msg="after zeroing the leaves")


def test_stale_interior_gradients_do_not_leak():
    a, b = Value(1.5), Value(0.5)
    h = a * b
    out = h + b
    h.grad, out.grad = 100.0, -3.0
    out.backward()
    assert_close([a.grad, b.grad, h.grad, out.grad], [0.5, 2.5, 1.0, 1.0], msg="gradients with stale interior grads")


def test_backward_from_two_roots_sharing_a_subgraph_adds_up():
    x = Value(0.8)
    shared = x.tanh()
    first, second = shared * 3, shared * shared
    first.backward()
    second.backward()
    assert_close(x.grad, 2.4196318791616718, rtol=1e-12, msg="gradient summed over two backward() calls (PyTorch's)")


def test_backward_of_a_leaf():
    a = Value(3.0)
    a.backward()
    assert_close(a.grad, 1.0, msg="d a / d a")
    a.backward()
    assert_close(a.grad, 2.0, msg="a leaf accumulates")


def test_graph_records_children_and_operations():
    a, b = Value(2.0, label="a"), Value(3.0)
    assert (a + b)._prev[0] is a and (a + b)._prev[1] is b
    twice = a * a
    assert len(twice._prev) == 2 and all(child is a for child in twice._prev)
    assert a.tanh()._prev[0] is a and len(a.tanh()._prev) == 1
    assert (a ** 3)._prev[0] is a and (a ** 3)._prev[1].data == 3.0
    assert {op: out._op for op, out in [("+", a + b), ("*", a * b), ("tanh", a.tanh()), ("exp", a.exp()),
                                        ("log", a.log()), ("relu", a.relu()), ("sigmoid", a.sigmoid()),
                                        ("**", a ** 2)]} == {
        "+": "+", "*": "*", "tanh": "tanh", "exp": "exp", "log": "log", "relu": "ReLU", "sigmoid": "sigmoid",
        "**": "**"}
    assert a._prev == () and a._op == "" and a.label == "a"
    assert_close([a.data, b.data], [2.0, 3.0], msg="inputs are unchanged by operations")


def test_relu_gradient_at_zero_is_zero_as_in_pytorch():
    a = Value(0.0)
    a.relu().backward()
    assert_close(a.grad, 0.0, msg="relu'(0)")
    b = Value(-2.0)
    out = b.relu()
    out.backward()
    assert_close([out.data, b.grad], [0.0, 0.0], msg="relu at -2")


def test_extreme_inputs_do_not_overflow():
    for x, value, grad in [(-1000.0, 0.0, 0.0), (1000.0, 1.0, 0.0), (0.0, 0.5, 0.25)]:
        a = Value(x)
        out = a.sigmoid()
        out.backward()
        assert_close([out.data, a.grad], [value, grad], msg=f"sigmoid at {x}")
    for x in (400.0, -400.0):
        a = Value(x)
        out = a.tanh()
        out.backward()
        assert_close([out.data, a.grad], [math.copysign(1.0, x), 0.0], msg=f"tanh at {x}")


def test_data_is_stored_as_a_python_float():
    for data in (3, np.float32(2.5), np.int64(-4), np.float64(1.25), Fraction(1, 4), True):
        value = Value(data)
        assert type(value.data) is float, f"Value({data!r}).data is a {type(value.data).__name__}"
        assert_close(value.data, float(data))


@pytest.mark.parametrize("data, type_name", [("3", "str"), (None, "NoneType"), ([1.0], "list"),
                                             (np.array([1.0, 2.0]), "ndarray"), (1 + 2j, "complex")])
def test_a_value_of_a_non_number_is_a_type_error_naming_the_type(data, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(data)
    with pytest.raises(TypeError, match=type_name):
        Value(1.0) + data


def test_a_value_exponent_is_a_type_error():
    with pytest.raises(TypeError, match="exponent must be a number"):
        Value(2) ** Value(3)
    with pytest.raises(TypeError, match="str"):
        Value(2) ** "3"


@pytest.mark.parametrize("data", [0.0, -2.5])
def test_log_of_a_non_positive_number_is_a_value_error_naming_it(data):
    with pytest.raises(ValueError, match=str(data)):
        Value(data).log()


def test_a_negative_number_to_a_fractional_power_is_a_value_error():
    with pytest.raises(ValueError, match="-8.0"):
        Value(-8.0) ** (1 / 3)
    assert_close((Value(-2.0) ** 3).data, -8.0, msg="an integer power of a negative number is fine")


def test_repr():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(-1, label="w")) == "Value(data=-1.0, grad=0.0, label='w')"


def test_nodes_have_slots_and_no_reference_cycles():
    """A graph is freed by reference counting alone: nothing is left for the cycle collector."""
    assert not hasattr(Value(1.0), "__dict__"), "Value should use __slots__"
    gc.collect()
    gc.disable()
    try:
        a, b = Value(0.3), Value(-1.2)
        for _ in range(3):
            out = composite_on_values(a, b, a * b)
            out.backward()
        del out
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0, f"building and backpropagating left {unreachable} objects in reference cycles"
