"""The audit's catalogue of chapter 4 (classification): see autograder/catalogue/__init__.py."""
from autograder.catalogue import Catalogue

_catalogue = Catalogue()
bug, ok = _catalogue.bug, _catalogue.ok

# ---------------------------------------------------------------- logsumexp
SHIFT = "    m = np.max(x, axis=dim, keepdims=True)\n"
GUARD = "    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (or an inf): any shift is right, 0 avoids nan\n"
LSE = "    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))\n"
RETURN = "    return out if keepdims else np.squeeze(out, axis=dim)\n"
bug("lse_no_shift", "logsumexp", LSE, "    out = np.log(np.sum(np.exp(x), axis=dim, keepdims=True))\n")
bug("lse_shift_not_added_back", "logsumexp", LSE, "    out = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))\n")
bug("lse_no_inf_guard", "logsumexp", GUARD, "")
bug("lse_global_max", "logsumexp", SHIFT, "    m = np.max(x)\n")
bug("lse_squeeze_all", "logsumexp", RETURN, "    return out if keepdims else np.squeeze(out)\n")
bug("lse_shifts_input_in_place", "logsumexp", LSE,
    "    x -= m\n    out = m + np.log(np.sum(np.exp(x), axis=dim, keepdims=True))\n")
ok("lse_logaddexp", "logsumexp", SHIFT + GUARD + LSE, "    out = np.logaddexp.reduce(x, axis=dim, keepdims=True)\n")
ok("lse_expand_dims", "logsumexp", LSE + RETURN, """    out = m.squeeze(axis=dim) + np.log(np.exp(x - m).sum(axis=dim))
    return np.expand_dims(out, dim) if keepdims else out
""")

# ---------------------------------------------------------------- log_softmax
LS_SHIFT = "    shifted = x - np.max(x, axis=dim, keepdims=True)\n"
LS_RETURN = "    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))\n"
bug("ls_no_shift", "log_softmax", LS_SHIFT, "    shifted = x\n")
bug("ls_softmax_not_log", "log_softmax", LS_RETURN,
    "    return np.exp(shifted) / np.sum(np.exp(shifted), axis=dim, keepdims=True)\n")
bug("ls_sum_no_keepdims", "log_softmax", LS_RETURN, "    return shifted - np.log(np.sum(np.exp(shifted), axis=dim))\n")
bug("ls_global_max", "log_softmax", LS_SHIFT, "    shifted = x - np.max(x)\n")
bug("ls_in_place", "log_softmax", LS_SHIFT, "    x -= np.max(x, axis=dim, keepdims=True)\n    shifted = x\n")
bug("ls_last_axis_only", "log_softmax", LS_RETURN,
    "    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))\n")
ok("ls_minus_logsumexp", "log_softmax", LS_SHIFT + LS_RETURN, "    return x - logsumexp(x, dim, keepdims=True)\n")
ok("ls_log_of_softmax_shifted", "log_softmax", LS_RETURN, """    e = np.exp(shifted)
    total = e.sum(axis=dim, keepdims=True)
    return shifted - np.log(total)
""")

# ---------------------------------------------------------------- LogSoftmax.backward
LSB = "        return grad_output - np.exp(out) * np.sum(grad_output, axis=self.dim, keepdims=True)\n"
bug("lsb_no_softmax", "log_softmax_backward", LSB,
    "        return grad_output - np.sum(grad_output, axis=self.dim, keepdims=True)\n")
bug("lsb_out_not_exp", "log_softmax_backward", LSB,
    "        return grad_output - out * np.sum(grad_output, axis=self.dim, keepdims=True)\n")
bug("lsb_sum_all", "log_softmax_backward", LSB, "        return grad_output - np.exp(out) * np.sum(grad_output)\n")
bug("lsb_last_axis", "log_softmax_backward", LSB,
    "        return grad_output - np.exp(out) * np.sum(grad_output, axis=-1, keepdims=True)\n")
bug("lsb_no_grad_output", "log_softmax_backward", LSB,
    "        return 1.0 - np.exp(out) * out.shape[self.dim]\n")
bug("lsb_in_place", "log_softmax_backward", LSB,
    "        grad_output -= np.exp(out) * np.sum(grad_output, axis=self.dim, keepdims=True)\n        return grad_output\n")
ok("lsb_softmax_named", "log_softmax_backward", LSB, """        p = np.exp(out)
        total = grad_output.sum(axis=self.dim, keepdims=True)
        return grad_output - p * total
""")
ok("lsb_moveaxis_einsum", "log_softmax_backward", LSB, """        g = np.moveaxis(grad_output, self.dim, -1)
        p = np.exp(np.moveaxis(out, self.dim, -1))
        jacobian = np.eye(p.shape[-1]) - p[..., np.newaxis, :]  # J[..., j, k] = d y_j / d x_k
        return np.moveaxis(np.einsum("...j,...jk->...k", g, jacobian), -1, self.dim)
""")

# ---------------------------------------------------------------- nll_loss
NLL = "    return float(-np.mean(log_probs[np.arange(n), target]))\n"
bug("nll_sum", "nll_loss", NLL, "    return float(-np.sum(log_probs[np.arange(n), target]))\n")
bug("nll_no_minus", "nll_loss", NLL, "    return float(np.mean(log_probs[np.arange(n), target]))\n")
bug("nll_column_index", "nll_loss", NLL, "    return float(-np.mean(log_probs[:, target]))\n")
bug("nll_over_size", "nll_loss", NLL, "    return float(-np.sum(log_probs[np.arange(n), target]) / log_probs.size)\n")
bug("nll_array", "nll_loss", NLL, "    return -np.mean(log_probs[np.arange(n), target], keepdims=True)\n")
ok("nll_loop", "nll_loss", NLL, "    return -sum(float(log_probs[i, t]) for i, t in enumerate(target)) / n\n")
ok("nll_take_along_axis", "nll_loss", NLL,
   "    picked = np.take_along_axis(log_probs, target[:, None], axis=1)\n    return -float(picked.sum()) / len(target)\n")

# ---------------------------------------------------------------- NLLLoss.backward
NLLB = "        grad[np.arange(n), target] = -grad_output / n\n"
bug("nllb_no_grad_output", "nll_loss_backward", NLLB, "        grad[np.arange(n), target] = -1.0 / n\n")
bug("nllb_no_mean", "nll_loss_backward", NLLB, "        grad[np.arange(n), target] = -grad_output\n")
bug("nllb_sign", "nll_loss_backward", NLLB, "        grad[np.arange(n), target] = grad_output / n\n")
bug("nllb_columns", "nll_loss_backward", NLLB, "        grad[:, target] = -grad_output / n\n")
bug("nllb_over_size", "nll_loss_backward", NLLB, "        grad[np.arange(n), target] = -grad_output / log_probs.size\n")
ok("nllb_one_hot", "nll_loss_backward", "        grad = np.zeros_like(log_probs)\n" + NLLB,
   "        grad = -grad_output * np.eye(log_probs.shape[1])[target] / n\n")
ok("nllb_loop", "nll_loss_backward", NLLB,
   "        for i in range(n):\n            grad[i, target[i]] -= grad_output / n\n")

# ---------------------------------------------------------------- CrossEntropyLoss.backward
CE_COPY = "        grad = probs.copy()\n"
CE_ONEHOT = "        grad[np.arange(n), target] -= 1.0\n"
CE_RETURN = "        return grad * (grad_output / n)\n"
bug("ceb_no_mean", "cross_entropy_backward", CE_RETURN, "        return grad * grad_output\n")
bug("ceb_onehot_columns", "cross_entropy_backward", CE_ONEHOT, "        grad[:, target] -= 1.0\n")
bug("ceb_onehot_target_row", "cross_entropy_backward", CE_ONEHOT, "        grad[target, np.arange(n)] -= 1.0\n")
bug("ceb_log_probs", "cross_entropy_backward", CE_COPY, "        grad = np.log(probs)\n")
bug("ceb_sign", "cross_entropy_backward", CE_RETURN, "        return -grad * (grad_output / n)\n")
bug("ceb_no_grad_output", "cross_entropy_backward", CE_RETURN, "        return grad / n\n")
bug("ceb_in_place", "cross_entropy_backward", CE_COPY, "        grad = probs\n")
bug("ceb_over_size", "cross_entropy_backward", CE_RETURN, "        return grad * (grad_output / probs.size)\n")
ok("ceb_eye_onehot", "cross_entropy_backward", CE_COPY + CE_ONEHOT + CE_RETURN,
   "        onehot = np.eye(probs.shape[1])[target]\n        return grad_output * (probs - onehot) / n\n")
ok("ceb_loop", "cross_entropy_backward", CE_ONEHOT + CE_RETURN, """        for i in range(n):
            grad[i, target[i]] = grad[i, target[i]] - 1.0
        return grad_output * grad / len(target)
""")

BUGS, ALTERNATIVES = _catalogue.bugs, _catalogue.alternatives
EQUIVALENT: dict[str, str] = {
    "logsumexp line 15: 0.0 -> 1.0": "the shift of a slice with no finite maximum: any finite shift gives the "
                                     "same -inf (or inf/nan where numpy gives it anyway)",
}
KNOWN_HOLES: dict[str, str] = {}
