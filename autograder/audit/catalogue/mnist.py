"""The audit's catalogue of chapter 5 (MNIST): see autograder/audit/catalogue/__init__.py.

train_step's and Adam's bugs come from /tmp/h15/mutate.py (issue 14); the rest are new (confusion_matrix's with
issue 15, when it became an exercise)."""
from autograder.audit.catalogue import Catalogue

_catalogue = Catalogue()
bug, ok = _catalogue.bug, _catalogue.ok

# ---------------------------------------------------------------- accuracy
ACC = "    return float(np.mean(np.argmax(y_hat, axis=1) == y))\n"
bug("acc_axis_0", "accuracy", ACC, "    return float(np.mean(np.argmax(y_hat, axis=0) == y))\n")
bug("acc_count", "accuracy", ACC, "    return float(np.sum(np.argmax(y_hat, axis=1) == y))\n")
bug("acc_over_size", "accuracy", ACC, "    return float(np.sum(np.argmax(y_hat, axis=1) == y) / y_hat.size)\n")
bug("acc_floor_division", "accuracy", ACC, "    return float(np.sum(np.argmax(y_hat, axis=1) == y) // len(y))\n")
ok("acc_loop", "accuracy", ACC,
   "    hits = sum(int(np.argmax(row) == label) for row, label in zip(y_hat, y))\n    return hits / len(y)\n")
# argmin of -y_hat picks the first largest score too: ties agree with np.argmax
ok("acc_argmin_of_negated", "accuracy", ACC, "    return float(np.mean(np.argmin(-y_hat, axis=1) == y))\n")
ok("acc_count_nonzero", "accuracy", ACC, "    return np.count_nonzero(y_hat.argmax(-1) == y) / y.size\n")

# ---------------------------------------------------------------- confusion_matrix
CM = """    predictions = np.argmax(y_hat, axis=1)
    pairs = y.astype(np.int64) * num_classes + predictions  # one number per (label, prediction)
    return np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)
"""
CM_PAIRS = "    pairs = y.astype(np.int64) * num_classes + predictions  # one number per (label, prediction)\n"
bug("cm_rows_columns_swapped", "confusion_matrix", CM_PAIRS,
    "    pairs = predictions.astype(np.int64) * num_classes + y  # one number per (prediction, label)\n")
bug("cm_assign_not_add", "confusion_matrix", CM, """    predictions = np.argmax(y_hat, axis=1)
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    for label, prediction in zip(y, predictions):
        counts[label, prediction] = 1
    return counts
""")
bug("cm_fancy_index_increment", "confusion_matrix", CM, """    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    counts[y, np.argmax(y_hat, axis=1)] += 1
    return counts
""")
bug("cm_size_from_the_data", "confusion_matrix", CM, """    predictions = np.argmax(y_hat, axis=1)
    size = int(max(y.max(), predictions.max())) + 1
    counts = np.zeros((size, size), dtype=np.int64)
    np.add.at(counts, (y, predictions), 1)
    return counts
""")
bug("cm_label_overflow", "confusion_matrix", CM_PAIRS,
    "    pairs = y * num_classes + predictions  # one number per (label, prediction)\n")
bug("cm_float_counts", "confusion_matrix", CM, """    predictions = np.argmax(y_hat, axis=1)
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (y, predictions), 1)
    return counts
""")
bug("cm_argmax_axis_0", "confusion_matrix", "    predictions = np.argmax(y_hat, axis=1)\n",
    "    predictions = np.argmax(y_hat, axis=0)\n")
ok("cm_add_at", "confusion_matrix", CM, """    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y, y_hat.argmax(axis=1)), 1)
    return counts
""")
ok("cm_loop", "confusion_matrix", CM, """    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    for label, row in zip(y, y_hat):
        counts[label, np.argmax(row)] += 1
    return counts
""")
ok("cm_one_hot_product", "confusion_matrix", CM, """    one_hot = np.eye(num_classes, dtype=np.int64)
    return one_hot[y].T @ one_hot[np.argmax(y_hat, axis=1)]
""")

# ---------------------------------------------------------------- train_step
STEP = """    optimizer.zero_grad()
    y_hat = model(X)
    loss = loss_fn(y_hat, y)
    model.backward(loss_fn.backward())
    optimizer.step()
    return float(loss)
"""
bug("step_no_zero_grad", "train_step", "    optimizer.zero_grad()\n", "")
bug("step_zero_grad_after_backward", "train_step", STEP, STEP.replace("    optimizer.zero_grad()\n", "").replace(
    "    optimizer.step()\n", "    optimizer.zero_grad()\n    optimizer.step()\n"))
bug("step_loss_after_update", "train_step", "    return float(loss)\n", "    return float(loss_fn(model(X), y))\n")
bug("step_no_loss_gradient", "train_step", "    model.backward(loss_fn.backward())\n",
    "    model.backward(np.ones_like(y_hat))\n")
bug("step_no_step", "train_step", "    optimizer.step()\n", "")
ok("step_forward_methods", "train_step", STEP, """    optimizer.zero_grad()
    loss = loss_fn.forward(model.forward(X), y)
    grad = loss_fn.backward()
    model.backward(grad)
    optimizer.step()
    return float(loss)
""")
ok("step_zero_grad_after_step", "train_step", STEP, STEP.replace(
    "    optimizer.step()\n", "    optimizer.step()\n    optimizer.zero_grad()\n"))

# ---------------------------------------------------------------- Adam
G = "g = p.grad if self.weight_decay == 0 else p.grad + self.weight_decay * p.data"
UPDATE = "            p.data -= (self.lr / bias_correction1) * m / (np.sqrt(v / bias_correction2) + self.eps)\n"
bug("adam_no_bias_correction", "adam", "        bias_correction1 = 1 - beta1**self.t\n        bias_correction2 = 1 - beta2**self.t\n",
    "        bias_correction1 = bias_correction2 = 1.0\n")
bug("adam_no_bias_correction2", "adam", "        bias_correction2 = 1 - beta2**self.t\n", "        bias_correction2 = 1.0\n")
bug("adam_eps_inside", "adam", "np.sqrt(v / bias_correction2) + self.eps)", "np.sqrt(v / bias_correction2 + self.eps))")
bug("adam_weight_decay_ignored", "adam", G, "g = p.grad")
bug("adam_weight_decay_sign", "adam", G, "g = p.grad - self.weight_decay * p.data")
bug("adam_betas_swapped", "adam", "        beta1, beta2 = self.betas\n", "        beta2, beta1 = self.betas\n")
bug("adam_shared_t", "adam", "        self.t += 1\n",
    "        Adam._count = getattr(Adam, '_count', 0) + 1\n        self.t = Adam._count\n")
bug("adam_m_not_kept", "adam", "            m *= beta1\n            m += (1 - beta1) * g\n",
    "            m = beta1 * m + (1 - beta1) * g\n")
bug("adam_float64", "adam", UPDATE,
    "            p.data = p.data.astype(np.float64) - (self.lr / bias_correction1) * m / (np.sqrt(v / bias_correction2) + self.eps)\n")
bug("adam_changes_grad", "adam", G, "g = p.grad\n            if self.weight_decay:\n                g += self.weight_decay * p.data")
bug("adam_v_not_squared", "adam", "            v += (1 - beta2) * g * g\n", "            v += (1 - beta2) * g\n")
ok("adam_pytorch_form", "adam", UPDATE, """            m_hat = m / bias_correction1
            v_hat = v / bias_correction2
            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
""")
ok("adam_slice_assignment", "adam", "            m *= beta1\n            m += (1 - beta1) * g\n            v *= beta2\n            v += (1 - beta2) * g * g\n",
   "            m[...] = beta1 * m + (1 - beta1) * g\n            v[...] = beta2 * v + (1 - beta2) * np.square(g)\n")

BUGS, ALTERNATIVES = _catalogue.bugs, _catalogue.alternatives
EQUIVALENT: dict[str, str] = {}
KNOWN_HOLES: dict[str, str] = {}
