# Generated from solutions/02_autograd/autograd.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""A scalar autograd engine: `Value` wraps a number, records how it was computed, and backpropagates."""
from __future__ import annotations

import math
import numbers


class Value:
    """A scalar that remembers how it was computed, so that gradients can flow back through it.

    Every operation on Values (+ - * / **, unary -, relu, tanh, exp, log, sigmoid) returns a new Value that
    records its inputs (`_prev`, its children in the graph), the operation (`_op`) and how to pass a gradient
    back to the inputs (`_backward`). Plain numbers work on either side of an operator: `2 * a`, `a - 1`.

    Attributes:
        data: the number, a Python float.
        grad: the derivative of the root of the last `backward()` call with respect to this Value; 0.0 before.
        label: a name for drawings (optional).

    Backward protocol: `out._backward(out)` adds `out.grad` times d out / d child to the `.grad` of every child
    of `out`. Each operation has one such function, shared by all the nodes it makes: it receives the node and
    reads the inputs from `out._prev`, so that no node refers to itself (no reference cycles to collect).
    """

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_backward")

    def __init__(self, data: float, _children: tuple[Value, ...] = (), _op: str = "", label: str = ""):
        if type(data) is not float:  # results of operations are floats already: they skip the checks
            if not isinstance(data, numbers.Real):
                raise TypeError(f"Value() takes a real number (int or float), not {type(data).__name__}")
            data = float(data)
        self.data = data
        self.grad = 0.0
        self.label = label
        self._prev = tuple(_children)  # the Values this one was computed from
        self._op = _op  # the operation that computed it, e.g. "+"
        self._backward = Value._leaf_backward

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"

    @staticmethod
    def _leaf_backward(out: Value) -> None:
        """The backward function of a leaf (an input, a parameter, a constant): it has no children."""

    # The worked example: ReLU.
    def relu(self) -> Value:
        """max(self, 0)."""
        out = Value(0.0 if self.data < 0 else self.data, (self,), "ReLU")
        out._backward = Value._relu_backward
        return out

    @staticmethod
    def _relu_backward(out: Value) -> None:
        """out = relu(x): d out / d x = 1 if x > 0 else 0 (0 at x = 0, as in PyTorch)."""
        (x,) = out._prev
        x.grad += (out.data > 0) * out.grad

    # Exercise 1: addition.
    def __add__(self, other: Value | float) -> Value:
        """self + other."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")
        out._backward = Value._add_backward
        return out

    @staticmethod
    def _add_backward(out: Value) -> None:
        """out = a + b: add out.grad times d out / d a to a.grad, and out.grad times d out / d b to b.grad."""
        a, b = out._prev
        a.grad += out.grad
        b.grad += out.grad

    # Exercise 2: multiplication.
    def __mul__(self, other: Value | float) -> Value:
        """self * other."""
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")
        out._backward = Value._mul_backward
        return out

    @staticmethod
    def _mul_backward(out: Value) -> None:
        """out = a * b: add out.grad times d out / d a to a.grad, and out.grad times d out / d b to b.grad."""
        a, b = out._prev
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    # Exercise 3: power.
    def __pow__(self, exponent: float) -> Value:
        """self ** exponent, for a number exponent (a constant: it gets no gradient)."""
        if not isinstance(exponent, numbers.Real):
            raise TypeError(f"Value ** {type(exponent).__name__}: the exponent must be a number (int or float); "
                            "for a Value exponent y, write (y * x.log()).exp()")
        if self.data < 0 and not float(exponent).is_integer():
            raise ValueError(f"Value(data={self.data}) ** {exponent}: a negative number to a fractional power "
                             "is not a real number")
        out = Value(self.data ** exponent, (self, Value(exponent)), "**")
        out._backward = Value._pow_backward
        return out

    @staticmethod
    def _pow_backward(out: Value) -> None:
        """out = x ** k: add out.grad times d out / d x to x.grad. The exponent k is the second child, a constant
        Value: it gets nothing."""
        x, k = out._prev
        x.grad += k.data * x.data ** (k.data - 1) * out.grad

    # Exercise 4: tanh.
    def tanh(self) -> Value:
        """The hyperbolic tangent of self."""
        out = Value(math.tanh(self.data), (self,), "tanh")
        out._backward = Value._tanh_backward
        return out

    @staticmethod
    def _tanh_backward(out: Value) -> None:
        """out = tanh(x): add out.grad times d out / d x to x.grad."""
        (x,) = out._prev
        x.grad += (1 - out.data ** 2) * out.grad

    # Exercise 5: exp.
    def exp(self) -> Value:
        """e ** self."""
        out = Value(math.exp(self.data), (self,), "exp")
        out._backward = Value._exp_backward
        return out

    @staticmethod
    def _exp_backward(out: Value) -> None:
        """out = exp(x): add out.grad times d out / d x to x.grad."""
        (x,) = out._prev
        x.grad += out.data * out.grad

    # Exercise 6: backpropagation through the whole graph.
    def backward(self) -> None:
        """Backpropagate from this Value: add d self / d node to the `.grad` of every node it depends on.

        Interior nodes (nodes with children) are first set to grad 0, so after the call they hold the gradient
        of this pass only. Leaves (inputs, parameters: nodes without children) accumulate: a second call adds the
        same gradients again, as in PyTorch, so set them to 0 before each backward pass (`Module.zero_grad()`).
        self.grad gets 1 added (d self / d self). Then every node's `_backward(node)` runs, in reverse
        topological order (each node after all the nodes that use it), found without recursion: graphs of any
        depth work.
        """
        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)  # after all its children: topo lists children before parents
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                for child in node._prev:
                    stack.append((child, False))
        for node in topo:
            if node._prev:  # an interior node holds this pass's gradient only
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(topo):
            node._backward(node)

    # More operations (given): new primitives with their own backward functions,
    # and operations built from the ones above, whose gradients come for free.
    def log(self) -> Value:
        """The natural logarithm of self, for self > 0."""
        if self.data <= 0:
            raise ValueError(f"log needs a positive number, got Value(data={self.data})")
        out = Value(math.log(self.data), (self,), "log")
        out._backward = Value._log_backward
        return out

    @staticmethod
    def _log_backward(out: Value) -> None:
        """out = log(x): d out / d x = 1 / x."""
        (x,) = out._prev
        x.grad += out.grad / x.data

    def sigmoid(self) -> Value:
        """1 / (1 + exp(-self)), computed without overflow for any self."""
        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:  # exp(-self) could overflow: use the equal form exp(self) / (1 + exp(self))
            z = math.exp(self.data)
            s = z / (1.0 + z)
        out = Value(s, (self,), "sigmoid")
        out._backward = Value._sigmoid_backward
        return out

    @staticmethod
    def _sigmoid_backward(out: Value) -> None:
        """out = sigmoid(x): d out / d x = sigmoid(x) * (1 - sigmoid(x)) = out * (1 - out)."""
        (x,) = out._prev
        x.grad += out.data * (1 - out.data) * out.grad

    def __neg__(self) -> Value:  # -self
        return self * -1

    def __radd__(self, other: float) -> Value:  # other + self
        return self + other

    def __sub__(self, other: Value | float) -> Value:  # self - other
        return self + (-other)

    def __rsub__(self, other: float) -> Value:  # other - self
        return other + (-self)

    def __rmul__(self, other: float) -> Value:  # other * self
        return self * other

    def __truediv__(self, other: Value | float) -> Value:  # self / other
        return self * other ** -1

    def __rtruediv__(self, other: float) -> Value:  # other / self
        return other * self ** -1
