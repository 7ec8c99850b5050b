"""The audit's catalogue of chapter 4 (classification): see autograder/audit/catalogue/__init__.py."""
from autograder.audit.catalogue import Catalogue

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

# ---------------------------------------------------------------- binary_cross_entropy_with_logits
BCE_SP = "    softplus = np.maximum(logits, 0.0) + np.log1p(np.exp(-np.abs(logits)))  # log(1 + e^z), shifted by max(0, z)\n"
BCE_RETURN = "    return float(np.mean(softplus - target * logits))\n"
bug("bce_naive_log_sigmoid", "bce_with_logits", BCE_SP + BCE_RETURN, """    p = 1.0 / (1.0 + np.exp(-logits))
    return float(-np.mean(target * np.log(p) + (1.0 - target) * np.log(1.0 - p)))
""")
bug("bce_naive_softplus", "bce_with_logits", BCE_SP, "    softplus = np.log1p(np.exp(logits))\n")
bug("bce_shift_without_abs", "bce_with_logits", BCE_SP,
    "    softplus = np.maximum(logits, 0.0) + np.log1p(np.exp(-logits))\n")
bug("bce_clip_probabilities", "bce_with_logits", BCE_SP + BCE_RETURN, """    p = np.clip(1.0 / (1.0 + np.exp(-logits)), 1e-7, 1.0 - 1e-7)
    return float(-np.mean(target * np.log(p) + (1.0 - target) * np.log(1.0 - p)))
""")
bug("bce_clip_logits", "bce_with_logits", BCE_SP + BCE_RETURN, """    z = np.clip(logits, -30.0, 30.0)  # "no overflow" by clipping the logits
    p = 1.0 / (1.0 + np.exp(-z))
    return float(-np.mean(target * np.log(p) + (1.0 - target) * np.log(1.0 - p)))
""")
bug("bce_sum", "bce_with_logits", BCE_RETURN, "    return float(np.sum(softplus - target * logits))\n")
bug("bce_mean_over_rows", "bce_with_logits", BCE_RETURN,
    "    return float(np.sum(softplus - target * logits) / len(logits))\n")
bug("bce_sign", "bce_with_logits", BCE_RETURN, "    return float(np.mean(softplus + target * logits))\n")
bug("bce_target_swapped", "bce_with_logits", BCE_RETURN, "    return float(np.mean(softplus - (1.0 - target) * logits))\n")
bug("bce_class_1_term_only", "bce_with_logits", BCE_RETURN,
    "    return float(np.mean(target * (softplus - logits)))\n")
bug("bce_array", "bce_with_logits", BCE_RETURN, "    return np.mean(softplus - target * logits, keepdims=True)\n")
bug("bce_rounds_soft_targets", "bce_with_logits", BCE_RETURN,
    "    return float(np.mean(softplus - np.round(target) * logits))\n")
ok("bce_logaddexp", "bce_with_logits", BCE_SP + BCE_RETURN,
   "    return float(np.mean(np.logaddexp(0.0, logits) - target * logits))\n")
ok("bce_log_sigmoid_both_terms", "bce_with_logits", BCE_SP + BCE_RETURN, """    log_p = -np.logaddexp(0.0, -logits)         # log sigmoid(z)
    log_not_p = -np.logaddexp(0.0, logits)      # log (1 - sigmoid(z))
    return float(-np.mean(target * log_p + (1.0 - target) * log_not_p))
""")
ok("bce_pytorch_form", "bce_with_logits", BCE_SP + BCE_RETURN, """    m = np.maximum(-logits, 0.0)
    loss = (1.0 - target) * logits + m + np.log(np.exp(-m) + np.exp(-logits - m))
    return float(loss.mean())
""")
ok("bce_where_branches", "bce_with_logits", BCE_SP, """    with np.errstate(over="ignore"):  # the branch np.where does not pick may overflow
        softplus = np.where(logits > 0, logits + np.log1p(np.exp(-logits)), np.log1p(np.exp(logits)))
""")
ok("bce_log_not_log1p_loop", "bce_with_logits", BCE_SP + BCE_RETURN, """    total = 0.0
    for z, y in zip(logits.ravel(), target.ravel()):
        total += max(z, 0.0) + np.log(1.0 + np.exp(-abs(z))) - y * z
    return float(total / logits.size)
""")
ok("bce_own_logsumexp", "bce_with_logits", BCE_SP,
   "    softplus = logsumexp(np.stack([np.zeros_like(logits), logits]), dim=0)  # exercise 1 on the pair {0, z}\n")

# ---------------------------------------------------------------- BCEWithLogitsLoss.backward
BCEB_PROBS = "        probs = np.exp(-np.logaddexp(0.0, -logits))  # sigmoid(logits), without overflow\n"
BCEB_RETURN = "        return (probs - target) * (grad_output / logits.size)\n"
bug("bceb_no_mean", "bce_with_logits_backward", BCEB_RETURN, "        return (probs - target) * grad_output\n")
bug("bceb_sign", "bce_with_logits_backward", BCEB_RETURN,
    "        return (target - probs) * (grad_output / logits.size)\n")
bug("bceb_target_swapped", "bce_with_logits_backward", BCEB_RETURN,
    "        return (probs - (1.0 - target)) * (grad_output / logits.size)\n")
bug("bceb_no_grad_output", "bce_with_logits_backward", BCEB_RETURN, "        return (probs - target) / logits.size\n")
bug("bceb_over_rows", "bce_with_logits_backward", BCEB_RETURN,
    "        return (probs - target) * (grad_output / len(logits))\n")
bug("bceb_flattened", "bce_with_logits_backward", BCEB_RETURN,
    "        return ((probs - target) * (grad_output / logits.size)).ravel()\n")
bug("bceb_sigmoid_ratio_overflows", "bce_with_logits_backward", BCEB_PROBS,
    "        probs = np.exp(logits) / (1.0 + np.exp(logits))\n")
bug("bceb_sigmoid_derivative_again", "bce_with_logits_backward", BCEB_RETURN,
    "        return (probs - target) * probs * (1.0 - probs) * (grad_output / logits.size)\n")
bug("bceb_float64", "bce_with_logits_backward", BCEB_PROBS,
    "        probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))\n")
bug("bceb_clip_logits", "bce_with_logits_backward", BCEB_PROBS,
    "        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))\n")
bug("bceb_in_place", "bce_with_logits_backward", BCEB_RETURN, """        target -= probs  # in place: the saved target becomes y - sigmoid(z)
        return -target * (grad_output / logits.size)
""")
ok("bceb_naive_sigmoid", "bce_with_logits_backward", BCEB_PROBS, """        with np.errstate(over="ignore"):  # exp(-z) = inf for z << 0 gives 1 / inf = 0: the right value
            probs = 1.0 / (1.0 + np.exp(-logits))
""")
ok("bceb_tanh", "bce_with_logits_backward", BCEB_PROBS, "        probs = 0.5 * (1.0 + np.tanh(logits / 2))\n")
ok("bceb_where_branches", "bce_with_logits_backward", BCEB_PROBS, """        e = np.exp(-np.abs(logits))  # never overflows
        probs = np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
""")
ok("bceb_chapter_3_sigmoid", "bce_with_logits_backward", BCEB_PROBS + BCEB_RETURN, """        from nnlib.layers import Sigmoid  # chapter 3
        n = logits.size
        return grad_output * (Sigmoid()(logits) - target) / n
""")

BUGS, ALTERNATIVES = _catalogue.bugs, _catalogue.alternatives
EQUIVALENT: dict[str, str] = {
    "logsumexp line 15: 0.0 -> 1.0": "the shift of a slice with no finite maximum: any finite shift gives the "
                                     "same -inf (or inf/nan where numpy gives it anyway)",
}
KNOWN_HOLES: dict[str, str] = {}
