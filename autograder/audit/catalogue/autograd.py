"""The audit's catalogue of chapter 2 (autograd): see autograder/audit/catalogue/__init__.py.

Most bugs come from /tmp/h15/mutate.py (issue 14); the neuron, train and alternatives are new."""
from autograder.audit.catalogue import Catalogue

_catalogue = Catalogue()
bug, ok = _catalogue.bug, _catalogue.ok

# ---------------------------------------------------------------- value_engine: the operations
ADD = "        a.grad += out.grad\n        b.grad += out.grad\n"
MUL = "        a.grad += b.data * out.grad\n        b.grad += a.data * out.grad\n"
bug("add_assign", "value_engine", ADD, "        a.grad = out.grad\n        b.grad = out.grad\n")
bug("add_no_grad_output", "value_engine", ADD, "        a.grad += 1.0\n        b.grad += 1.0\n")
bug("mul_assign", "value_engine", MUL, "        a.grad = b.data * out.grad\n        b.grad = a.data * out.grad\n")
bug("mul_swapped", "value_engine", MUL, "        a.grad += a.data * out.grad\n        b.grad += b.data * out.grad\n")
bug("mul_no_grad_output", "value_engine", MUL, "        a.grad += b.data\n        b.grad += a.data\n")
bug("pow_wrong", "value_engine", "x.grad += k.data * x.data ** (k.data - 1) * out.grad",
    "x.grad += k.data * x.data ** k.data * out.grad")
bug("pow_forgets_k", "value_engine", "x.grad += k.data * x.data ** (k.data - 1) * out.grad",
    "x.grad += x.data ** (k.data - 1) * out.grad")
bug("pow_exponent_as_value", "value_engine", "out = Value(self.data ** exponent, (self, Value(exponent)), \"**\")",
    "out = Value(self.data ** exponent, (self,), \"**\")")
# the derivative at the input instead of the saved output
bug("tanh_at_input", "value_engine", "x.grad += (1 - out.data ** 2) * out.grad", "x.grad += (1 - x.data ** 2) * out.grad")
bug("tanh_no_square", "value_engine", "x.grad += (1 - out.data ** 2) * out.grad", "x.grad += (1 - out.data) * out.grad")
bug("exp_at_input", "value_engine", "x.grad += out.data * out.grad", "x.grad += x.data * out.grad")
bug("exp_assign", "value_engine", "x.grad += out.data * out.grad", "x.grad = out.data * out.grad")

# ---------------------------------------------------------------- value_engine: backward
TOPO = """        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)  # after all its children: topo lists children before parents
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                for child in node._prev:
                    stack.append((child, False))
"""
# breadth-first order, reversed: a node can run before a node that uses it
bug("backward_breadth_first", "value_engine", TOPO, """        import collections
        order, visited, queue = [], {self}, collections.deque([self])
        while queue:
            node = queue.popleft()
            order.append(node)
            for child in node._prev:
                if child not in visited:
                    visited.add(child)
                    queue.append(child)
        topo = order[::-1]
""")
bug("backward_no_visited", "value_engine", "            elif node not in visited:\n", "            else:\n")
# the classic recursive sort: a RecursionError on deep graphs
bug("backward_recursive", "value_engine", TOPO, """        topo, visited = [], set()
        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
""")
# pre-order (a node appended when first seen): a parent may come after a child
bug("backward_preorder", "value_engine", TOPO, """        topo, visited, stack = [], set(), [self]
        while stack:
            node = stack.pop()
            if node not in visited:
                visited.add(node)
                topo.insert(0, node)
                stack.extend(node._prev)
""")
bug("backward_traversal_order", "value_engine", "        for node in reversed(topo):\n", "        for node in topo:\n")
bug("backward_no_reset", "value_engine",
    "            if node._prev:  # an interior node holds this pass's gradient only\n                node.grad = 0.0\n", "")
bug("backward_resets_leaves", "value_engine",
    "            if node._prev:  # an interior node holds this pass's gradient only\n", "            if True:\n")
bug("backward_root_assign", "value_engine", "        self.grad += 1.0\n", "        self.grad = 1.0\n")
ok("backward_explicit_iterators", "value_engine", TOPO, """        topo, visited = [], set()
        stack = [(self, iter(self._prev))]
        visited.add(self)
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in visited:
                    visited.add(child)
                    stack.append((child, iter(child._prev)))
                    break
            else:
                stack.pop()
                topo.append(node)
""")
ok("add_plain_assignment", "value_engine", ADD, "        a.grad = a.grad + out.grad\n        b.grad = b.grad + out.grad\n")
ok("tanh_recomputed", "value_engine", "x.grad += (1 - out.data ** 2) * out.grad",
   "x.grad += (1 - math.tanh(x.data) ** 2) * out.grad")
ok("exp_recomputed", "value_engine", "x.grad += out.data * out.grad", "x.grad += math.exp(x.data) * out.grad")

# ---------------------------------------------------------------- neuron
ACT = "        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)\n"
bug("neuron_no_bias", "neuron", ACT, "        act = sum(wi * xi for wi, xi in zip(self.w, x))\n")
bug("neuron_on_data", "neuron", ACT,
    "        act = Value(sum(wi.data * float(getattr(xi, 'data', xi)) for wi, xi in zip(self.w, x)) + self.b.data)\n")
bug("neuron_relu_for_tanh", "neuron", "        if self.nonlin == \"tanh\":\n            return act.tanh()\n",
    "        if self.nonlin == \"tanh\":\n            return act.relu()\n")
bug("neuron_linear_is_tanh", "neuron", "        return act\n", "        return act.tanh()\n")
bug("neuron_bias_twice", "neuron", ACT, "        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b) + self.b\n")
ok("neuron_value_zero_accumulator", "neuron", ACT,
   "        act = Value(0.0)\n        for wi, xi in zip(self.w, x):\n            act = act + wi * xi\n        act = act + self.b\n")
ok("neuron_bias_first", "neuron", ACT, "        act = self.b + sum(wi * xi for wi, xi in zip(self.w, x))\n")

# ---------------------------------------------------------------- train
bug("train_zero_grad_after_backward", "train", "        model.zero_grad()\n        loss.backward()\n",
    "        loss.backward()\n        model.zero_grad()\n")
bug("train_no_zero_grad", "train", "        model.zero_grad()\n", "")
bug("train_ascent", "train", "            p.data -= lr * p.grad\n", "            p.data += lr * p.grad\n")
bug("train_loss_after_update", "train", "        losses.append(loss.data)\n",
    "        losses.append(mse_loss(model, X, y).data)\n")
bug("train_appends_value", "train", "        losses.append(loss.data)\n", "        losses.append(loss)\n")
bug("train_updates_grad", "train", "            p.data -= lr * p.grad\n", "            p.grad -= lr * p.data\n")
ok("train_manual_zero", "train", "        model.zero_grad()\n",
   "        for p in model.parameters():\n            p.grad = 0.0\n")
ok("train_plain_assignment", "train", "            p.data -= lr * p.grad\n", "            p.data = p.data - lr * p.grad\n")

BUGS, ALTERNATIVES = _catalogue.bugs, _catalogue.alternatives
EQUIVALENT: dict[str, str] = {}
KNOWN_HOLES: dict[str, str] = {}
