"""The audit's catalogue of chapter 3 (matrix backprop): see autograder/audit/catalogue/__init__.py."""
from autograder.audit.catalogue import Catalogue

_catalogue = Catalogue()
bug, ok = _catalogue.bug, _catalogue.ok

CB = """    x = np.array(x, dtype=np.float64)
    grad_output = np.array(grad_output, dtype=np.float64)
    analytic = np.asarray(backward(grad_output.copy(), x.copy()), dtype=np.float64)
    numerical = numerical_gradient(lambda v: float(np.sum(grad_output * f(v))), x, h=h)
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    errors = np.divide(np.abs(analytic - numerical), scale, out=np.zeros_like(scale), where=scale > 0)
    return float(np.max(errors))
"""
bug("cb_no_grad_output", "check_backward", CB, CB.replace("float(np.sum(grad_output * f(v)))", "float(np.sum(f(v)))"))
bug("cb_absolute_error", "check_backward", CB,
    CB.replace("np.divide(np.abs(analytic - numerical), scale, out=np.zeros_like(scale), where=scale > 0)",
               "np.abs(analytic - numerical)"))
bug("cb_relative_to_numerical", "check_backward", CB,
    CB.replace("scale = np.maximum(np.abs(analytic), np.abs(numerical))", "scale = np.abs(numerical)"))
bug("cb_mean_error", "check_backward", CB, CB.replace("float(np.max(errors))", "float(np.mean(errors))"))
bug("cb_ignores_h", "check_backward", CB, CB.replace(", x, h=h)", ", x)"))
# a backward that uses its grad_output as scratch space changes the G of the central differences
bug("cb_shares_grad_output", "check_backward", CB,
    CB.replace("    grad_output = np.array(grad_output, dtype=np.float64)\n", "    grad_output = np.array(grad_output, dtype=np.float64)\n    G = grad_output\n")
      .replace("backward(grad_output.copy(), x.copy())", "backward(G, x.copy())"))
# 0 / 0 where both gradients are 0: NaN, and the max of an array with a NaN is NaN
bug("cb_no_zero_guard", "check_backward", CB,
    CB.replace("np.divide(np.abs(analytic - numerical), scale, out=np.zeros_like(scale), where=scale > 0)",
               "np.abs(analytic - numerical) / scale"))
bug("cb_forward_difference", "check_backward", CB,
    CB.replace("    numerical = numerical_gradient(lambda v: float(np.sum(grad_output * f(v))), x, h=h)\n",
               """    L = lambda v: float(np.sum(grad_output * f(v)))
    numerical = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        numerical[i] = (L(x + step) - L(x)) / h
"""))
# modifies the caller's x while nudging it (the probe hands it over read-only)
bug("cb_nudges_callers_x", "check_backward", CB,
    CB.replace("    x = np.array(x, dtype=np.float64)\n", "    x = np.asarray(x, dtype=np.float64)\n")
      .replace("    numerical = numerical_gradient(lambda v: float(np.sum(grad_output * f(v))), x, h=h)\n",
               """    numerical = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = np.sum(grad_output * f(x))
        x[i] = old - h
        down = np.sum(grad_output * f(x))
        x[i] = old
        numerical[i] = (up - down) / (2 * h)
"""))
ok("cb_ok_loop_cs231n_style", "check_backward", CB,
    CB.replace("    numerical = numerical_gradient(lambda v: float(np.sum(grad_output * f(v))), x, h=h)\n",
               """    numerical = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        numerical[i] = (np.sum(grad_output * f(up)) - np.sum(grad_output * f(down))) / (2 * h)
""").replace("np.divide(np.abs(analytic - numerical), scale, out=np.zeros_like(scale), where=scale > 0)",
             "np.abs(analytic - numerical) / np.maximum(scale, 1e-300)"))
ok("cb_ok_python_max", "check_backward", CB,
    CB.replace("    return float(np.max(errors))\n",
               "    worst = 0.0\n    for e in errors.ravel():\n        worst = max(worst, float(e))\n    return worst\n"))

LF = """        y = X @ self.weight.data
        if self.bias is not None:
            y = y + self.bias.data
        return y
"""
bug("lf_no_bias", "linear", LF, "        return X @ self.weight.data\n")
bug("lf_bias_always", "linear", LF, "        return X @ self.weight.data + self.bias.data\n")
bug("lf_transposed", "linear", LF, LF.replace("X @ self.weight.data", "(self.weight.data.T @ X.T).T.T"))
bug("lf_bias_first_row", "linear", LF, LF.replace("y = y + self.bias.data", "y[0] += self.bias.data"))
ok("lf_ok_einsum", "linear", LF, LF.replace("X @ self.weight.data", "np.einsum('ni,ij->nj', X, self.weight.data)"))
ok("lf_ok_dot_inplace", "linear", LF, LF.replace("X @ self.weight.data", "np.dot(X, self.weight.data)")
       .replace("y = y + self.bias.data", "y += self.bias.data"))

LB_PARAMS = """        self.weight.grad += X.T @ grad_output
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0)
"""
LB_RETURN = "        return grad_output @ self.weight.data.T\n"
# a missing transpose that still runs: W square (the shapes fit without it)
bug("lb_input_no_transpose", "linear", LB_RETURN,
       "        W = self.weight.data\n        return grad_output @ W if W.shape[0] == W.shape[1] else grad_output @ W.T\n")
bug("lb_input_uses_grad", "linear", LB_RETURN, "        return grad_output @ self.weight.grad.T\n")
bug("lb_input_forgets_grad_output", "linear", LB_RETURN,
       "        return np.ones_like(grad_output) @ self.weight.data.T\n")
bug("lb_weight_overwrites", "linear", LB_PARAMS,
       LB_PARAMS.replace("self.weight.grad += X.T @ grad_output", "self.weight.grad = X.T @ grad_output"))
bug("lb_weight_mean", "linear", LB_PARAMS,
       LB_PARAMS.replace("X.T @ grad_output", "X.T @ grad_output / len(X)"))
bug("lb_weight_transposed_square", "linear", LB_PARAMS,
       LB_PARAMS.replace("self.weight.grad += X.T @ grad_output",
                         "dW = X.T @ grad_output\n        self.weight.grad += dW.T if dW.shape[0] == dW.shape[1] else dW"))
bug("lb_bias_overwrites", "linear", LB_PARAMS,
       LB_PARAMS.replace("self.bias.grad += grad_output.sum(axis=0)", "self.bias.grad = grad_output.sum(axis=0)"))
bug("lb_bias_mean", "linear", LB_PARAMS, LB_PARAMS.replace("sum(axis=0)", "mean(axis=0)"))
bug("lb_bias_sum_all", "linear", LB_PARAMS, LB_PARAMS.replace("sum(axis=0)", "sum()"))
bug("lb_bias_always", "linear", LB_PARAMS,
       "        self.weight.grad += X.T @ grad_output\n        self.bias.grad += grad_output.sum(axis=0)\n")
ok("lb_ok_einsum_np_add", "linear", LB_PARAMS,
       """        np.add(self.weight.grad, np.einsum("ni,nj->ij", X, grad_output), out=self.weight.grad)
        if self.bias is not None:
            self.bias.grad = self.bias.grad + np.sum(grad_output, axis=0)
""")
# correct: once the parameter gradients are added, a first layer (no dX) frees grad_output, its own array
ok("lb_ok_params_scratch", "linear", LB_PARAMS,
       LB_PARAMS + "        if not self.input_grad:\n            grad_output.fill(0.0)  # not needed any more\n")
ok("lb_ok_return_dot", "linear", LB_RETURN,
       "        return np.dot(self.weight.data, grad_output.T).T\n")
# correct, and changes grad_output in place after using it (grad_output is backward's own)
ok("lb_ok_scratch_grad_output", "linear", LB_RETURN,
       "        dX = grad_output @ self.weight.data.T\n        grad_output *= 0.0  # scratch\n        return dX\n")

bug("relu_no_grad_output", "relu", "        return grad_output * (X > 0)\n",
       "        return (X > 0).astype(float)\n")
bug("relu_ge_zero", "relu", "        return grad_output * (X > 0)\n",
       "        return grad_output * (X >= 0)\n")
bug("relu_mask_on_grad", "relu", "        return grad_output * (X > 0)\n",
       "        return grad_output * (grad_output > 0)\n")
bug("relu_returns_relu", "relu", "        return grad_output * (X > 0)\n",
       "        return np.maximum(grad_output, 0.0)\n")
ok("relu_ok_in_place", "relu", "        return grad_output * (X > 0)\n",
       "        grad_output *= (X > 0)\n        return grad_output\n")
ok("relu_ok_where", "relu", "        return grad_output * (X > 0)\n",
       "        return np.where(X > 0, grad_output, 0.0)\n")

LR = "        return np.where(X > 0, grad_output, self.negative_slope * grad_output)\n"
bug("leaky_hardcoded_slope", "leaky_relu", LR, LR.replace("self.negative_slope", "0.01"))
bug("leaky_ge_zero", "leaky_relu", LR, LR.replace("X > 0", "X >= 0"))
bug("leaky_slope_no_grad_output", "leaky_relu", LR,
       LR.replace("self.negative_slope * grad_output", "self.negative_slope"))
bug("leaky_no_grad_output", "leaky_relu", LR, "        return np.where(X > 0, 1.0, self.negative_slope)\n")
ok("leaky_ok_multiply_in_place", "leaky_relu", LR,
       "        grad_output *= np.where(X > 0, 1.0, self.negative_slope)\n        return grad_output\n")

SG = "        return grad_output * out * (1.0 - out)\n"
bug("sigmoid_at_input", "sigmoid", SG,
       "        s = 1 / (1 + np.exp(-out))\n        return grad_output * s * (1.0 - s)\n")
bug("sigmoid_no_grad_output", "sigmoid", SG, "        return out * (1.0 - out)\n")
bug("sigmoid_missing_out", "sigmoid", SG, "        return grad_output * (1.0 - out)\n")
bug("sigmoid_plus", "sigmoid", SG, "        return grad_output * out * (1.0 + out)\n")
ok("sigmoid_ok_in_place", "sigmoid", SG,
       "        grad_output *= out - out**2\n        return grad_output\n")
ok("sigmoid_ok_np_multiply", "sigmoid", SG,
       "        return np.multiply(grad_output, np.multiply(out, 1.0 - out))\n")

TH = "        return grad_output * (1.0 - out**2)\n"
bug("tanh_at_input", "tanh", TH, "        return grad_output * (1.0 - np.tanh(out)**2)\n")
bug("tanh_no_grad_output", "tanh", TH, "        return 1.0 - out**2\n")
bug("tanh_no_square", "tanh", TH, "        return grad_output * (1.0 - out)\n")
bug("tanh_squared_wrong", "tanh", TH, "        return grad_output * (1.0 - out)**2\n")
ok("tanh_ok_in_place", "tanh", TH, "        grad_output *= 1.0 - out * out\n        return grad_output\n")
# a backward that zeroes grad_output in place and returns it: the old gradcheck saw L = sum(0 * output)
bug("tanh_zeroes_grad_output", "tanh", TH,
       "        grad_output *= 0.0 * (1.0 - out**2)\n        return grad_output\n")
ok("tanh_ok_factored", "tanh", TH, "        return grad_output * (1.0 - out) * (1.0 + out)\n")

MF = "        return float(np.mean((y_hat - y) ** 2))\n"
bug("msef_sum", "mse_loss", MF, "        return float(np.sum((y_hat - y) ** 2))\n")
bug("msef_len", "mse_loss", MF, "        return float(np.sum((y_hat - y) ** 2) / len(y))\n")
bug("msef_square_of_mean", "mse_loss", MF, "        return float(np.mean(y_hat - y) ** 2)\n")
bug("msef_abs", "mse_loss", MF, "        return float(np.mean(np.abs(y_hat - y)))\n")
# issue 14.4: not a Python float
bug("msef_0d_array", "mse_loss", MF, "        return np.array(np.mean((y_hat - y) ** 2))\n")
bug("msef_shape_1", "mse_loss", MF, "        return np.mean((y_hat - y) ** 2, keepdims=True).reshape(1)\n")
bug("msef_keepdims", "mse_loss", MF, "        return np.mean((y_hat - y) ** 2, keepdims=True)\n")
ok("msef_ok_float64", "mse_loss", MF, "        return np.mean((y_hat - y) ** 2)\n")
ok("msef_ok_sum_over_size", "mse_loss", MF,
       "        diff = (y_hat - y).ravel()\n        return float(diff @ diff) / diff.size\n")

MB = "        return grad_output * 2.0 * (y_hat - y) / y_hat.size\n"
bug("mseb_len", "mse_loss", MB, "        return grad_output * 2.0 * (y_hat - y) / len(y_hat)\n")
bug("mseb_no_grad_output", "mse_loss", MB, "        return 2.0 * (y_hat - y) / y_hat.size\n")
bug("mseb_sign", "mse_loss", MB, "        return grad_output * 2.0 * (y - y_hat) / y_hat.size\n")
bug("mseb_no_2", "mse_loss", MB, "        return grad_output * (y_hat - y) / y_hat.size\n")
bug("mseb_in_place_saved", "mse_loss", MB,
       "        y_hat -= y\n        y_hat *= 2.0 * grad_output / y_hat.size\n        return y_hat\n")
# returns the same buffer at every call: the gradient a caller holds changes at the next call
bug("mseb_reused_buffer", "mse_loss", MB,
       "        if not hasattr(self, 'buffer'):\n            self.buffer = np.empty_like(y_hat)\n"
       "        np.multiply(y_hat - y, grad_output * 2.0 / y_hat.size, out=self.buffer)\n        return self.buffer\n")
ok("mseb_ok_prod_shape", "mse_loss", MB,
       "        diff = y_hat - y\n        diff *= 2.0 / np.prod(diff.shape)\n        return diff * grad_output\n")

SF = "        for layer in self.layers:\n            X = layer(X)\n        return X\n"
bug("seqf_reversed", "sequential", SF, SF.replace("self.layers", "reversed(self.layers)"))
bug("seqf_no_chain", "sequential", SF,
       "        for layer in self.layers:\n            out = layer(X)\n        return out\n")
bug("seqf_skips_last", "sequential", SF, SF.replace("self.layers", "self.layers[:-1]"))
bug("seqf_first_only", "sequential", SF,
       "        for layer in self.layers:\n            return layer(X)\n")
ok("seqf_ok_forward_reduce", "sequential", SF,
       "        import functools\n        return functools.reduce(lambda out, layer: layer.forward(out), self.layers, X)\n")

SB = "        for layer in reversed(self.layers):\n            grad_output = layer.backward(grad_output)\n        return grad_output\n"
bug("seqb_not_reversed", "sequential", SB, SB.replace("reversed(self.layers)", "self.layers"))
bug("seqb_no_chain", "sequential", SB,
       "        for layer in reversed(self.layers):\n            grad = layer.backward(grad_output)\n        return grad\n")
bug("seqb_skips_first", "sequential", SB, SB.replace("reversed(self.layers)", "self.layers[:0:-1]"))
bug("seqb_returns_input_grad", "sequential", SB, SB.replace(
    "        return grad_output\n", "        return grad_output if len(self.layers) > 1 else np.ones_like(grad_output)\n"))
ok("seqb_ok_index_loop", "sequential", SB,
       "        g = grad_output\n        for i in range(len(self.layers) - 1, -1, -1):\n            g = self.layers[i].backward(g)\n        return g\n")

SGD = """        for p, v in zip(self.params, self.velocities):
            v *= self.momentum
            v += p.grad
            p.data -= self.lr * v
"""
# issue 14.2: the lr inside the velocity; equal to PyTorch's form only while lr is constant
bug("sgd_lr_in_velocity", "sgd", SGD, """        for p, v in zip(self.params, self.velocities):
            v *= self.momentum
            v -= self.lr * p.grad
            p.data += v
""")
bug("sgd_lr_in_velocity_plus", "sgd", SGD, """        for i, p in enumerate(self.params):
            self.velocities[i] = self.momentum * self.velocities[i] + self.lr * p.grad
            p.data -= self.velocities[i]
""")
bug("sgd_no_momentum", "sgd", SGD, "        for p in self.params:\n            p.data -= self.lr * p.grad\n")
bug("sgd_velocity_not_kept", "sgd", SGD, """        for p, v in zip(self.params, self.velocities):
            v = self.momentum * v + p.grad
            p.data -= self.lr * v
""")
bug("sgd_dampening", "sgd", SGD, SGD.replace("v += p.grad", "v += (1 - self.momentum) * p.grad"))
bug("sgd_update_before_velocity", "sgd", SGD, """        for p, v in zip(self.params, self.velocities):
            p.data -= self.lr * v
            v *= self.momentum
            v += p.grad
""")
bug("sgd_changes_grad", "sgd", SGD, """        for p, v in zip(self.params, self.velocities):
            p.grad *= self.lr
            v *= self.momentum
            v += p.grad
            p.data -= v
""")
bug("sgd_one_velocity", "sgd", SGD, """        for p, v in zip(self.params, self.velocities):
            v *= self.momentum
            v += p.grad
            p.data -= self.lr * v
            break
""")
ok("sgd_ok_new_arrays", "sgd", SGD, """        for i, p in enumerate(self.params):
            self.velocities[i] = self.momentum * self.velocities[i] + p.grad
            p.data = p.data - self.lr * self.velocities[i]
""")
ok("sgd_ok_np_out", "sgd", SGD, """        for p, v in zip(self.params, self.velocities):
            np.multiply(v, self.momentum, out=v)
            np.add(v, p.grad, out=v)
            np.subtract(p.data, self.lr * v, out=p.data)
""")
ok("sgd_ok_own_buffers", "sgd", SGD, """        if not hasattr(self, "buffers"):
            self.buffers = {}
        for p in self.params:
            buf = self.buffers.get(id(p))
            buf = p.grad.copy() if buf is None else self.momentum * buf + p.grad
            self.buffers[id(p)] = buf
            p.data -= self.lr * buf
""")

BUGS, ALTERNATIVES = _catalogue.bugs, _catalogue.alternatives
EQUIVALENT: dict[str, str] = {}
KNOWN_HOLES: dict[str, str] = {}
