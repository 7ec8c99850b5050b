"""The audit's catalogue of chapter 1 (derivatives): see autograder/audit/catalogue/__init__.py."""
from autograder.audit.catalogue import Catalogue

_catalogue = Catalogue()
bug, ok = _catalogue.bug, _catalogue.ok

# ---------------------------------------------------------------- chapter 1
ND = "    return float((f(x + h) - f(x - h)) / (2 * h))\n"
bug("nd_forward_difference", "numerical_derivative", ND,
       "    return float((f(x + h) - f(x)) / h)\n")
bug("nd_no_factor_2", "numerical_derivative", ND,
       "    return float((f(x + h) - f(x - h)) / h)\n")
bug("nd_wrong_sign", "numerical_derivative", ND,
       "    return float((f(x - h) - f(x + h)) / (2 * h))\n")
bug("nd_no_float", "numerical_derivative", ND,
       "    return (f(x + h) - f(x - h)) / (2 * h)\n")
bug("nd_own_tiny_step", "numerical_derivative", ND,
       "    h = 1e-12\n    return float((f(x + h) - f(x - h)) / (2 * h))\n")
ok("nd_ok_halves", "numerical_derivative", ND,
       "    return float(f(x + h) - f(x - h)) / h / 2\n")
ok("nd_ok_two_lines", "numerical_derivative", ND,
       "    rise = f(x + h) - f(x - h)\n    run = 2.0 * h\n    return float(rise / run)\n")

NG_COPY = "    x = np.array(x, dtype=np.float64)  # a float64 copy: the caller's x is never modified\n"
NG_LOOP = """    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
"""
# issue 14.1: nudges the caller's array in place (and restores it)
bug("ng_in_place_caller_x", "numerical_gradient", NG_COPY + "    grad = np.zeros_like(x)\n" + NG_LOOP,
       """    grad = np.zeros(np.shape(x))
    for i in np.ndindex(np.shape(x)):
        x[i] += h
        f_plus = float(f(x))
        x[i] -= 2 * h
        f_minus = float(f(x))
        x[i] += h
        grad[i] = (f_plus - f_minus) / (2 * h)
""")
bug("ng_in_place_restore_old", "numerical_gradient", NG_COPY + "    grad = np.zeros_like(x)\n",
       "    grad = np.zeros(np.shape(x))\n")
# np.asarray: no copy for a float64 array, so the caller's array is nudged
bug("ng_asarray_no_copy", "numerical_gradient", NG_COPY,
       "    x = np.asarray(x, dtype=np.float64)\n")
bug("ng_forward_difference", "numerical_gradient", NG_LOOP,
       NG_LOOP.replace("        x[i] = old - h\n        f_minus = float(f(x))\n", "        f_minus = float(f(x))\n")
       .replace("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / h").replace(
           "        x[i] = old + h\n        f_plus = float(f(x))\n", "        x[i] = old\n        f_minus = float(f(x))\n"
           "        x[i] = old + h\n        f_plus = float(f(x))\n", 1))
bug("ng_no_restore", "numerical_gradient", NG_LOOP,
       NG_LOOP.replace("        x[i] = old\n", ""))
bug("ng_flat_f", "numerical_gradient", NG_LOOP,
       NG_LOOP.replace("float(f(x))", "float(f(x.ravel()))"))
bug("ng_no_float64_copy", "numerical_gradient", NG_COPY, "    x = np.copy(x)\n")
bug("ng_grad_in_input_dtype", "numerical_gradient", NG_COPY + "    grad = np.zeros_like(x)\n",
       "    grad = np.zeros_like(x)\n    x = np.array(x, dtype=np.float64)\n")
bug("ng_vectors_only", "numerical_gradient", "    for i in np.ndindex(x.shape):\n",
       "    for i in range(len(x)):\n")
ok("ng_ok_basis_vectors", "numerical_gradient", NG_LOOP,
       """    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
""")
ok("ng_ok_flat_view", "numerical_gradient", NG_LOOP,
       """    flat, flat_grad = x.reshape(-1), grad.reshape(-1)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + h
        f_plus = f(x)
        flat[j] = old - h
        f_minus = f(x)
        flat[j] = old
        flat_grad[j] = (f_plus - f_minus) / (2 * h)
""")
ok("ng_ok_astype", "numerical_gradient", NG_COPY, "    x = x.astype(np.float64)\n")

BH = """    dL_dd = f             # L = d * f
    dL_df = d
    dL_de = dL_dd * 1.0   # d = e + c
    dL_dc = dL_dd * 1.0
    dL_da = dL_de * b     # e = a * b
    dL_db = dL_de * a
"""
bug("bh_local_only_c", "backprop_by_hand", BH, BH.replace("dL_dc = dL_dd * 1.0", "dL_dc = 1.0"))
bug("bh_swapped_ab", "backprop_by_hand", BH,
       BH.replace("dL_da = dL_de * b", "dL_da = dL_de * a").replace("dL_db = dL_de * a", "dL_db = dL_de * b"))
bug("bh_df_is_e", "backprop_by_hand", BH, BH.replace("dL_df = d\n", "dL_df = e\n"))
bug("bh_no_upstream", "backprop_by_hand", BH,
       BH.replace("dL_da = dL_de * b", "dL_da = b").replace("dL_db = dL_de * a", "dL_db = a"))
ok("bh_ok_closed_form", "backprop_by_hand", BH,
       "    dL_da, dL_db, dL_dc, dL_df = b * f, a * f, f, a * b + c\n")

ST = """    a = np.tanh(W @ x)              # forward: z = W @ x, a = tanh(z), L = sum(a)
    dL_da = np.ones_like(a)         # (m,)
    dL_dz = dL_da * (1 - a**2)      # (m,): tanh's Jacobian is diag(1 - a²)
    grad_x = W.T @ dL_dz            # (n,): the VJP dL_dz^T W
    grad_W = np.outer(dL_dz, x)     # (m, n): dL/dW_ij = dL/dz_i * x_j
"""
bug("st_no_transpose", "sum_tanh_grads", ST, ST.replace("grad_x = W.T @ dL_dz", "grad_x = dL_dz @ W.T"))
bug("st_outer_swapped", "sum_tanh_grads", ST, ST.replace("np.outer(dL_dz, x)", "np.outer(x, dL_dz)"))
bug("st_no_tanh_derivative", "sum_tanh_grads", ST, ST.replace("dL_da * (1 - a**2)", "dL_da"))
bug("st_derivative_at_z", "sum_tanh_grads", ST, ST.replace("(1 - a**2)", "(1 - (W @ x)**2)"))
bug("st_grad_W_is_x", "sum_tanh_grads", ST, ST.replace("np.outer(dL_dz, x)", "np.outer(np.ones_like(a), x)"))
# an in-place variant: finite differences that nudge the caller's W and x and restore them
bug("st_in_place_nudging", "sum_tanh_grads", ST, """    grad_W, grad_x = np.zeros(W.shape), np.zeros(x.shape)
    for array, grad in ((W, grad_W), (x, grad_x)):
        for i in np.ndindex(array.shape):
            old = array[i]
            array[i] = old + 1e-6
            plus = np.sum(np.tanh(W @ x))
            array[i] = old - 1e-6
            minus = np.sum(np.tanh(W @ x))
            array[i] = old
            grad[i] = (plus - minus) / 2e-6
""")
# scales the rows of the caller's W in place to get grad_x (the values returned are right)
bug("st_in_place_W", "sum_tanh_grads", ST, ST.replace(
    "    grad_x = W.T @ dL_dz            # (n,): the VJP dL_dz^T W\n",
    "    W *= dL_dz[:, None]\n    grad_x = W.sum(axis=0)\n"))
ok("st_ok_einsum_loops", "sum_tanh_grads", ST, """    m, n = W.shape
    z = np.einsum("ij,j->i", W, x)
    dL_dz = 1 / np.cosh(z)**2
    grad_x = np.zeros(n)
    grad_W = np.zeros((m, n))
    for i in range(m):
        for j in range(n):
            grad_x[j] += W[i, j] * dL_dz[i]
            grad_W[i, j] = dL_dz[i] * x[j]
""")
ok("st_ok_dot_broadcast", "sum_tanh_grads", ST, """    dL_dz = 1 - np.tanh(np.dot(W, x))**2
    grad_x = np.dot(dL_dz, W)
    grad_W = dL_dz[:, None] * x[None, :]
""")

BUGS, ALTERNATIVES = _catalogue.bugs, _catalogue.alternatives
EQUIVALENT: dict[str, str] = {
    "backprop_by_hand line 14: Mult -> Div": "dL_dd * 1.0 as dL_dd / 1.0: the same number",
    "backprop_by_hand line 15: Mult -> Div": "dL_dd * 1.0 as dL_dd / 1.0: the same number",
}
KNOWN_HOLES: dict[str, str] = {}
