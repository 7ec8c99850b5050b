"""The audit's catalogue of chapter 6 (convolutional networks): see autograder/audit/catalogue/__init__.py.

Bugs a learner plausibly writes in each exercise (a kernel flipped as in a mathematical convolution, a stride or a
padding forgotten, windows reshaped in the wrong axis order, `=` where overlapping windows need `+=`, a bias gradient
not summed over the images and positions, a max-pool gradient sent to every tied maximum, ...), and correct programs
written differently (loops, einsum, as_strided, another layout of the windows matrix, the transposed convolution)."""
from autograder.audit.catalogue import Catalogue

_catalogue = Catalogue()
bug, ok = _catalogue.bug, _catalogue.ok

# ---------------------------------------------------------------- conv2d_loops
LOOP_SUM = "                    Y[n, f, i, j] = np.sum(window * weight[f])\n"
LOOP_WINDOW = ("                    window = padded[n, :, i * stride:i * stride + kH, j * stride:j * stride + kW]"
               "  # (C, kH, kW)\n")
LOOP_PAD = "    padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))\n"
LOOP_BIAS = "            if bias is not None:\n                Y[n, f] += bias[f]\n"
LOOPS = LOOP_PAD + """    Y = np.zeros((N, F, H_out, W_out), dtype=np.result_type(X, weight))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
""" + LOOP_WINDOW + LOOP_SUM + LOOP_BIAS + "    return Y\n"
bug("loops_flipped_kernel", "conv2d_loops", LOOP_SUM,
    "                    Y[n, f, i, j] = np.sum(window * weight[f, :, ::-1, ::-1])  # a true convolution\n")
bug("loops_stride_ignored", "conv2d_loops", LOOP_WINDOW,
    "                    window = padded[n, :, i:i + kH, j:j + kW]\n")
bug("loops_no_padding", "conv2d_loops", LOOP_PAD, "    padded = X\n")
bug("loops_padding_every_axis", "conv2d_loops", LOOP_PAD, "    padded = np.pad(X, padding)\n")
bug("loops_first_channel_only", "conv2d_loops", LOOP_SUM,
    "                    Y[n, f, i, j] = np.sum(window[0] * weight[f, 0])\n")
bug("loops_kernel_height_for_width", "conv2d_loops", LOOP_WINDOW,
    "                    window = padded[n, :, i * stride:i * stride + kH, j * stride:j * stride + kH]\n")
bug("loops_no_bias", "conv2d_loops", LOOP_BIAS, "")
bug("loops_bias_of_the_first_filter", "conv2d_loops", LOOP_BIAS,
    "            if bias is not None:\n                Y[n, f] += bias[0]\n")
ok("loops_tensordot_per_position", "conv2d_loops", LOOPS, """    padded = np.pad(X, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    Y = np.empty((N, F, H_out, W_out), dtype=np.result_type(X, weight))
    for i in range(H_out):
        for j in range(W_out):
            patch = padded[:, :, i * stride:i * stride + kH, j * stride:j * stride + kW]   # (N, C, kH, kW)
            Y[:, :, i, j] = np.tensordot(patch, weight, axes=([1, 2, 3], [1, 2, 3]))
    return Y if bias is None else Y + bias[:, None, None]
""")
ok("loops_seven_loops", "conv2d_loops", LOOPS, """    padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Y = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = 0.0 if bias is None else bias[f]
                    for c in range(C):
                        for u in range(kH):
                            for v in range(kW):
                                total += weight[f, c, u, v] * padded[n, c, i * stride + u, j * stride + v]
                    Y[n, f, i, j] = total
    return Y
""")
ok("loops_over_the_kernel_offsets", "conv2d_loops", LOOPS, """    padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    padded[:, :, padding:padding + H, padding:padding + W] = X
    Y = np.zeros((N, F, H_out, W_out))
    for u in range(kH):
        for v in range(kW):   # offset (u, v) of every window at once
            under = padded[:, :, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride]
            Y += np.einsum("nchw,fc->nfhw", under, weight[:, :, u, v])
    if bias is not None:
        Y += bias.reshape(1, F, 1, 1)
    return Y
""")

# ---------------------------------------------------------------- conv2d
CONV_PAD = ("    X_padded = X.transpose(0, 2, 3, 1)                    # a view, no copy\n    if padding:\n"
            "        X_padded = np.pad(X_padded, ((0, 0), (padding, padding), (padding, padding), (0, 0)))\n")
CONV_WINDOWS = ("    windows = sliding_window_view(X_padded, (kH, kW), axis=(1, 2))[:, ::stride, ::stride]"
                "   # (N, H_out, W_out, C, kH, kW)\n")
CONV_FEW = "        rows = windows.transpose(4, 5, 3, 0, 1, 2).reshape(kH * kW * C, N * H_out * W_out).T\n"
CONV_MANY = "        rows = windows.transpose(0, 1, 2, 4, 5, 3).reshape(N * H_out * W_out, kH * kW * C)\n"
CONV_PRODUCT = ("    Y = rows @ weight.transpose(0, 2, 3, 1).reshape(F, kH * kW * C).T"
                "        # (N * H_out * W_out, F)\n")
CONV_BIAS = "    if bias is not None:\n        Y += bias\n"
CONV_RETURN = ("    return Y.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)"
               "   # NCHW shape, channels last in memory\n")
CONV_MATRIX = ("    if C * kW < W_out:  # few channels (a first layer): copy in the order (u, v, c, n, i, j), runs of W_out "
               "numbers\n" + CONV_FEW + "    else:               # one window per row, in the order (u, v, c): runs of "
               "kW * C numbers\n" + CONV_MANY)
CONV = CONV_PAD + CONV_WINDOWS + CONV_MATRIX + CONV_PRODUCT + CONV_BIAS + CONV_RETURN
bug("conv_rows_in_the_order_of_the_view", "conv2d", CONV_MANY,
    "        rows = windows.reshape(N * H_out * W_out, kH * kW * C)\n")
bug("conv_first_layer_rows_in_the_order_of_the_view", "conv2d", CONV_FEW,
    "        rows = windows.reshape(N * H_out * W_out, kH * kW * C)\n")
bug("conv_weight_in_its_own_order", "conv2d", CONV_PRODUCT,
    "    Y = rows @ weight.reshape(F, kH * kW * C).T   # (c, u, v) against windows in the order (u, v, c)\n")
bug("conv_weight_reshaped_the_other_way", "conv2d", CONV_PRODUCT,
    "    Y = rows @ weight.transpose(0, 2, 3, 1).reshape(kH * kW * C, F)\n")
bug("conv_output_reshaped_without_transpose", "conv2d", CONV_RETURN, "    return Y.reshape(N, F, H_out, W_out)\n")
bug("conv_stride_ignored", "conv2d", CONV_WINDOWS,
    "    windows = sliding_window_view(X_padded, (kH, kW), axis=(1, 2))[:, :H_out, :W_out]\n")
bug("conv_flipped_kernel", "conv2d", CONV_PRODUCT,
    "    Y = rows @ weight[:, :, ::-1, ::-1].transpose(0, 2, 3, 1).reshape(F, kH * kW * C).T   # a true convolution\n")
bug("conv_float64_output", "conv2d", CONV_PRODUCT,
    "    Y = np.zeros((N * H_out * W_out, F))\n    Y += rows @ weight.transpose(0, 2, 3, 1).reshape(F, kH * kW * C).T\n")
bug("conv_padding_the_channels_too", "conv2d", CONV_PAD,
    "    X_padded = X.transpose(0, 2, 3, 1)\n    if padding:\n        X_padded = np.pad(X_padded, padding)\n")
bug("conv_padding_forgotten", "conv2d", CONV_PAD, "    X_padded = X.transpose(0, 2, 3, 1)\n")
bug("conv_padding_one_side", "conv2d", CONV_PAD,
    "    X_padded = X.transpose(0, 2, 3, 1)\n    if padding:\n"
    "        X_padded = np.pad(X_padded, ((0, 0), (2 * padding, 0), (2 * padding, 0), (0, 0)))\n")
bug("conv_kernel_axes_swapped", "conv2d", CONV_WINDOWS,
    "    windows = sliding_window_view(X_padded, (kW, kH), axis=(1, 2))[:, ::stride, ::stride]\n")
bug("conv_bias_on_the_first_position", "conv2d", CONV_BIAS, "    if bias is not None:\n        Y[0] += bias\n")
ok("conv_einsum", "conv2d", CONV, """    X_padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(X_padded, (kH, kW), axis=(2, 3))[:, :, ::stride, ::stride]
    Y = np.einsum("nchwuv,fcuv->nfhw", windows, weight, optimize=True)
    return Y if bias is None else Y + bias[:, None, None]
""")
ok("conv_tensordot", "conv2d", CONV, """    X_padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(X_padded, (kH, kW), axis=(2, 3))[:, :, ::stride, ::stride]
    Y = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3]))          # (N, H_out, W_out, F)
    if bias is not None:
        Y = Y + bias
    return np.moveaxis(Y, 3, 1)
""")
ok("conv_as_strided", "conv2d", CONV, """    X_padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    sN, sC, sH, sW = X_padded.strides
    windows = np.lib.stride_tricks.as_strided(
        X_padded, shape=(N, H_out, W_out, C, kH, kW),
        strides=(sN, stride * sH, stride * sW, sC, sH, sW), writeable=False)
    Y = windows.reshape(-1, C * kH * kW) @ weight.reshape(F, -1).T
    if bias is not None:
        Y = Y + bias
    return Y.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
""")
ok("conv_rows_nchw", "conv2d", CONV, """    X_padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(X_padded, (kH, kW), axis=(2, 3))[:, :, ::stride, ::stride]  # (N, C, H_out, W_out, kH, kW)
    rows = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * kH * kW)       # in the order (c, u, v)
    Y = rows @ weight.reshape(F, C * kH * kW).T
    if bias is not None:
        Y += bias
    return Y.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
""")
ok("conv_columns_layout", "conv2d", CONV, """    X_padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(X_padded, (kH, kW), axis=(2, 3))[:, :, ::stride, ::stride]
    columns = windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * kH * kW, N * H_out * W_out)  # one window per column
    Y = weight.reshape(F, -1) @ columns                                                   # (F, N * H_out * W_out)
    if bias is not None:
        Y += bias[:, None]
    return Y.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
""")
ok("conv_loops", "conv2d", CONV, """    X_padded = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Y = np.zeros((N, F, H_out, W_out), dtype=np.result_type(X, weight))
    for i in range(H_out):
        for j in range(W_out):
            window = X_padded[:, :, i * stride:i * stride + kH, j * stride:j * stride + kW]
            Y[:, :, i, j] = window.reshape(N, -1) @ weight.reshape(F, -1).T
    return Y if bias is None else Y + bias.reshape(F, 1, 1).astype(Y.dtype)
""")

# ---------------------------------------------------------------- Conv2d.backward
BW_PAD = ("        X_padded = X.transpose(0, 2, 3, 1)\n        if padding:\n"
          "            X_padded = np.pad(X_padded, ((0, 0), (padding, padding), (padding, padding), (0, 0)))\n")
BW_WINDOWS = ("        windows = sliding_window_view(X_padded, (k, k), axis=(1, 2))[:, ::stride, ::stride]"
              "   # (N, H_out, W_out, C, k, k)\n")
BW_FEW = "            rows = windows.transpose(4, 5, 3, 0, 1, 2).reshape(k * k * C, N * H_out * W_out).T\n"
BW_MANY = "            rows = windows.transpose(0, 1, 2, 4, 5, 3).reshape(N * H_out * W_out, k * k * C)\n"
BW_MATRIX = "        if C * k < W_out:\n" + BW_FEW + "        else:\n" + BW_MANY
BW_GRAD_ROWS = ("        grad_rows = grad_output.transpose(0, 2, 3, 1).reshape(N * H_out * W_out, F)"
                "   # G: one row per output position\n")
BW_WEIGHT = "        self.weight.grad += (rows.T @ grad_rows).T.reshape(F, k, k, C).transpose(0, 3, 1, 2)\n"
BW_BIAS = ("            self.bias.grad += np.ones(len(grad_rows), grad_rows.dtype) @ grad_rows"
           "   # the sum of the rows (faster than .sum(axis=0))\n")
BW_ZEROS = "        grad_padded = np.zeros(X_padded.shape, dtype=X.dtype)        # (N, H + 2 padding, W + 2 padding, C)\n"
BW_BLOCK = "                block = (grad_rows @ self.weight.data[:, :, u, v]).reshape(N, H_out, W_out, C)\n"
BW_ADD = ("                grad_padded[:, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride]"
          " += block\n")
BW_RETURN = "        return grad_padded[:, padding:padding + H, padding:padding + W].transpose(0, 3, 1, 2)\n"
BW_INPUT = (BW_ZEROS + "        for u in range(k):\n            for v in range(k):\n"
            "                # the entries at offset (u, v) of every window, all channels, receive G @ weight[:, :, u, v]\n"
            + BW_BLOCK + BW_ADD + BW_RETURN)
# the input gradient
bug("bwd_padding_not_removed", "conv_backward", BW_RETURN, "        return grad_padded.transpose(0, 3, 1, 2)\n")
bug("bwd_padding_cut_from_one_side", "conv_backward", BW_RETURN,
    "        return grad_padded[:, :H, :W].transpose(0, 3, 1, 2)\n")
bug("bwd_stride_ignored_in_the_input_gradient", "conv_backward", BW_ADD,
    "                grad_padded[:, u:u + H_out, v:v + W_out] += block\n")
bug("bwd_assign_overlapping_windows", "conv_backward", BW_ADD, BW_ADD.replace(" += block", " = block"))
bug("bwd_flipped_kernel", "conv_backward", BW_BLOCK,
    "                block = (grad_rows @ self.weight.data[:, :, k - 1 - u, k - 1 - v]).reshape(N, H_out, W_out, C)\n")
bug("bwd_weight_not_transposed_over_the_channels", "conv_backward", BW_BLOCK,
    "                block = (grad_rows @ self.weight.data[:, :, u, v].reshape(C, F).T).reshape(N, H_out, W_out, C)\n")
bug("bwd_float64_input_gradient", "conv_backward", BW_ZEROS, "        grad_padded = np.zeros(X_padded.shape)\n")
bug("bwd_window_offsets_swapped", "conv_backward", BW_BLOCK, BW_BLOCK.replace("[:, :, u, v]", "[:, :, v, u]"))
bug("bwd_channels_last_returned_as_it_is", "conv_backward", BW_RETURN,
    "        return grad_padded[:, padding:padding + H, padding:padding + W].reshape(N, C, H, W)\n")
TRANSPOSED = """        H_padded, W_padded = H + 2 * padding, W + 2 * padding
        dilated = np.zeros((N, F, stride * (H_out - 1) + 1, stride * (W_out - 1) + 1), dtype=grad_output.dtype)
        dilated[:, :, ::stride, ::stride] = grad_output   # zeros between the entries: the stride undone
        full = np.pad(dilated, ((0, 0), (0, 0), (k - 1, H_padded - dilated.shape[2]), (k - 1, W_padded - dilated.shape[3])))
        grad_X_padded = conv2d(full, self.weight.data.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])   # the transposed convolution
        return grad_X_padded[:, :, padding:padding + H, padding:padding + W]
"""
bug("bwd_transposed_convolution_without_flip", "conv_backward", BW_INPUT,
    TRANSPOSED.replace(".transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])", ".transpose(1, 0, 2, 3))"))
ok("bwd_transposed_convolution", "conv_backward", BW_INPUT, TRANSPOSED)
ok("bwd_input_add_at", "conv_backward", BW_INPUT, """        grad_windows = np.einsum("nfhw,fcuv->nchwuv", grad_output, self.weight.data)
        grad_X_padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=X.dtype)
        n, c, i, j, u, v = np.indices(grad_windows.shape, sparse=True)
        np.add.at(grad_X_padded, (n, c, i * stride + u, j * stride + v), grad_windows)
        return grad_X_padded[:, :, padding:padding + H, padding:padding + W]
""")
ok("bwd_input_loops", "conv_backward", BW_INPUT, """        grad_X_padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=X.dtype)
        for n in range(N):
            for f in range(F):
                for i in range(H_out):
                    for j in range(W_out):
                        grad_X_padded[n, :, i * stride:i * stride + k, j * stride:j * stride + k] += \\
                            grad_output[n, f, i, j] * self.weight.data[f]
        return grad_X_padded[:, :, padding:padding + H, padding:padding + W]
""")
ok("bwd_input_col2im", "conv_backward", BW_INPUT, """        grad_windows = (grad_rows @ self.weight.data.transpose(0, 2, 3, 1).reshape(F, k * k * C)).reshape(
            N, H_out, W_out, k, k, C)                     # the gradient of every window, in rows' order (u, v, c)
        grad_padded = np.zeros(X_padded.shape, dtype=X.dtype)
        for u in range(k):
            for v in range(k):
                grad_padded[:, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride] += \\
                    grad_windows[:, :, :, u, v]
        return grad_padded[:, padding:padding + H, padding:padding + W].transpose(0, 3, 1, 2)
""")
# the weight gradient
bug("bwd_weight_gradient_assigned", "conv_backward", BW_WEIGHT,
    "        self.weight.grad = (rows.T @ grad_rows).T.reshape(F, k, k, C).transpose(0, 3, 1, 2)\n")
bug("bwd_weight_gradient_in_rows_order", "conv_backward", BW_WEIGHT,
    "        self.weight.grad += (rows.T @ grad_rows).T.reshape(F, C, k, k)\n")
bug("bwd_weight_gradient_transposed", "conv_backward", BW_WEIGHT,
    "        self.weight.grad += (rows.T @ grad_rows).reshape(F, k, k, C).transpose(0, 3, 1, 2)\n")
bug("bwd_weight_gradient_flipped", "conv_backward", BW_WEIGHT,
    "        self.weight.grad += (rows.T @ grad_rows).T.reshape(F, k, k, C).transpose(0, 3, 1, 2)[:, :, ::-1, ::-1]\n")
bug("bwd_weight_gradient_stride_ignored", "conv_backward", BW_WINDOWS,
    "        windows = sliding_window_view(X_padded, (k, k), axis=(1, 2))[:, :H_out, :W_out]\n")
bug("bwd_weight_gradient_mean_over_the_batch", "conv_backward", BW_WEIGHT,
    "        self.weight.grad += (rows.T @ grad_rows).T.reshape(F, k, k, C).transpose(0, 3, 1, 2) / N\n")
bug("bwd_weight_gradient_rows_in_the_order_of_the_view", "conv_backward", BW_MANY,
    "            rows = windows.reshape(N * H_out * W_out, k * k * C)\n")
bug("bwd_weight_gradient_without_padding", "conv_backward", BW_PAD,
    "        X_padded = X.transpose(0, 2, 3, 1)\n")
# the bias gradient
BIAS_LINE = BW_BIAS
bug("bwd_bias_gradient_assigned", "conv_backward", BIAS_LINE,
    "            self.bias.grad = np.ones(len(grad_rows), grad_rows.dtype) @ grad_rows\n")
bug("bwd_bias_gradient_first_image_only", "conv_backward", BIAS_LINE,
    "            self.bias.grad += grad_output[0].sum(axis=(1, 2))\n")
bug("bwd_bias_gradient_first_position_only", "conv_backward", BIAS_LINE,
    "            self.bias.grad += grad_output[:, :, 0, 0].sum(axis=0)\n")
bug("bwd_bias_gradient_mean", "conv_backward", BIAS_LINE, "            self.bias.grad += grad_rows.mean(axis=0)\n")
bug("bwd_bias_gradient_summed_over_filters", "conv_backward", BIAS_LINE,
    "            self.bias.grad += grad_output.sum()\n")
bug("bwd_bias_gradient_over_the_images_only", "conv_backward", BIAS_LINE,
    "            self.bias.grad += grad_output.sum(axis=0).mean(axis=(1, 2))\n")
ok("bwd_bias_sum", "conv_backward", BIAS_LINE, "            self.bias.grad += grad_output.sum(axis=(0, 2, 3))\n")
ok("bwd_weight_einsum", "conv_backward", BW_WEIGHT,
   '        self.weight.grad += np.einsum("nhwf,nhwcuv->fcuv", grad_output.transpose(0, 2, 3, 1), windows, optimize=True)\n')
ok("bwd_weight_in_the_order_of_G", "conv_backward", BW_WEIGHT,
   "        self.weight.grad += (grad_rows.T @ rows).reshape(F, k, k, C).transpose(0, 3, 1, 2)\n")

# ---------------------------------------------------------------- max_pool2d and MaxPool2d.backward
POOL_ENTRIES = "            entries = X[:, :, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride]\n"
POOL_MAX = ("            Y = entries.copy(order=\"K\") if Y is None else np.maximum(Y, entries, out=Y)"
            "   # keeps X's memory order\n")
POOL_FORWARD = ("    Y = None\n    for u in range(kernel_size):\n        for v in range(kernel_size):\n" + POOL_ENTRIES
                + POOL_MAX + "    return Y\n")
PART = "                part = remaining * (X[at] == Y)       # all that remains, where this entry is the maximum\n"
REMAINING = "                remaining -= part                     # leaves 0 for the later entries of the window\n"
POOL_ADD = "                dX[at] += part\n"
AT = ("                at = np.s_[:, :, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride]\n")
COPY = "        remaining = grad_output.astype(X.dtype)       # a copy: what each window has still to give\n"
LOOP_OFFSETS = ("        for u in range(k):\n"
                "            for v in range(k):                        # in row-major order: on a tie, the first maximum "
                "takes it all\n")
POOL_BACKWARD = ("        Y = max_pool2d(X, k, stride)                  # the maximum of every window\n" + COPY
                 + "        dX = np.zeros_like(X)\n" + LOOP_OFFSETS + AT + PART + POOL_ADD + REMAINING + "        return dX\n")
# forward
bug("pool_mean", "max_pool", POOL_MAX,
    "            Y = entries / kernel_size**2 if Y is None else Y + entries / kernel_size**2\n")
bug("pool_largest_absolute_value", "max_pool", POOL_MAX,
    "            Y = np.abs(entries) if Y is None else np.maximum(Y, np.abs(entries))\n")
bug("pool_stride_ignored", "max_pool", POOL_ENTRIES,
    "            entries = X[:, :, u:u + H_out, v:v + W_out]\n")
bug("pool_windows_every_kernel_size", "max_pool", POOL_ENTRIES,
    "            entries = X[:, :, u:u + kernel_size * (H_out - 1) + 1:kernel_size, v:v + kernel_size * (W_out - 1) + 1:kernel_size]\n")
bug("pool_first_row_of_each_window", "max_pool", "    for u in range(kernel_size):\n", "    for u in range(1):\n")
bug("pool_max_into_the_input", "max_pool", POOL_MAX,
    "            Y = entries if Y is None else np.maximum(Y, entries, out=Y)   # writes into X\n")
bug("pool_ceil_mode", "max_pool", POOL_FORWARD, """    N, C, H, W = X.shape
    extra = [(-(size - kernel_size) % stride) for size in (H, W)]   # a last window that sticks out, kept
    padded = np.pad(X, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=-np.inf)
    windows = sliding_window_view(padded, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(4, 5))
""")
ok("pool_window_view", "max_pool", POOL_FORWARD, """    windows = sliding_window_view(X, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(4, 5))
""")
ok("pool_forward_loops", "max_pool", POOL_FORWARD, """    N, C, H, W = X.shape
    Y = np.empty((N, C, H_out, W_out), dtype=X.dtype)
    for i in range(H_out):
        for j in range(W_out):
            Y[:, :, i, j] = X[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size].max(axis=(2, 3))
    return Y
""")
# backward
bug("pool_gradient_to_every_tied_maximum", "max_pool", REMAINING, "")
bug("pool_gradient_to_the_last_maximum", "max_pool", LOOP_OFFSETS,
    "        for u in reversed(range(k)):\n            for v in reversed(range(k)):\n")
bug("pool_assign_overlapping_windows", "max_pool", POOL_ADD, "                dX[at] = part\n")
bug("pool_stride_ignored_in_backward", "max_pool", AT, "                at = np.s_[:, :, u:u + H_out, v:v + W_out]\n")
bug("pool_grad_output_ignored", "max_pool", POOL_ADD, "                dX[at] += X[at] == Y\n")
bug("pool_offsets_swapped", "max_pool", AT,
    "                at = np.s_[:, :, v:v + stride * (H_out - 1) + 1:stride, u:u + stride * (W_out - 1) + 1:stride]\n")
bug("pool_gradient_spread_over_the_window", "max_pool", POOL_ADD, "                dX[at] += grad_output / k**2\n")
bug("pool_gradient_in_float64", "max_pool", "        dX = np.zeros_like(X)\n", "        dX = np.zeros(X.shape)\n")
ok("pool_backward_loops", "max_pool", POOL_BACKWARD, """        dX = np.zeros_like(X)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        window = X[n, c, i * stride:i * stride + k, j * stride:j * stride + k]
                        u, v = np.unravel_index(np.argmax(window), (k, k))
                        dX[n, c, i * stride + u, j * stride + v] += grad_output[n, c, i, j]
        return dX
""")
ok("pool_backward_add_at", "max_pool", POOL_BACKWARD, """        windows = sliding_window_view(X, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
        u, v = np.divmod(windows.reshape(N, C, H_out, W_out, k * k).argmax(axis=4), k)
        n, c, i, j = np.indices((N, C, H_out, W_out), sparse=True)
        dX = np.zeros_like(X)
        np.add.at(dX, (n, c, i * stride + u, j * stride + v), grad_output)
        return dX
""")
ok("pool_backward_argmax_of_the_windows", "max_pool", POOL_BACKWARD, """        windows = sliding_window_view(X, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
        winner = windows.reshape(N, C, H_out, W_out, k * k).argmax(axis=4)   # np.argmax: the first maximum
        dX = np.zeros_like(X)
        for u in range(k):
            for v in range(k):
                dX[:, :, u:u + stride * H_out:stride, v:v + stride * W_out:stride] += np.where(winner == u * k + v, grad_output, 0)
        return dX
""")
ok("pool_backward_first_match_mask", "max_pool", POOL_BACKWARD, """        Y = max_pool2d(X, k, stride)
        taken = np.zeros_like(Y, dtype=bool)          # the windows whose first maximum is found
        dX = np.zeros_like(X)
        for u in range(k):
            for v in range(k):
                at = np.s_[:, :, u:u + stride * (H_out - 1) + 1:stride, v:v + stride * (W_out - 1) + 1:stride]
                first = (X[at] == Y) & ~taken
                taken |= first
                dX[at] += grad_output * first
        return dX
""")

BUGS, ALTERNATIVES = _catalogue.bugs, _catalogue.alternatives
_SAME_MATRIX = ("the condition only chooses between two orders of copying the same windows matrix (the faster one for "
                "few channels); both branches give the same result, whichever runs")
EQUIVALENT = {
    "conv2d line 29: Lt -> LtE": _SAME_MATRIX,
    "conv2d line 29: Mult -> Div": _SAME_MATRIX,
    "conv_backward line 64: Lt -> LtE": _SAME_MATRIX,
    "conv_backward line 64: Mult -> Div": _SAME_MATRIX,
    "conv2d_loops line 22: 0 -> 1": "np.pad adds a zero image after the last one, which no loop reads (the other "
                                    "mutants of that line pad the images or channels that the loops read, and lose points)",
}
KNOWN_HOLES: dict[str, str] = {}
