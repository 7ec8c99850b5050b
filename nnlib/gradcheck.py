# Generated from solutions/03_backprop/backprop.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""The course's gradient checker: a backward pass against central differences, in float64."""
import copy
from collections.abc import Callable

import numpy as np

from nnlib.derivatives import numerical_gradient


def _at_kink(objective: Callable[[np.ndarray], float], x: np.ndarray, index: tuple, analytic: float,
             tolerance: float, eps: float, atol: float) -> bool:
    """Whether objective has a kink within eps of x along coordinate `index`, where analytic may be right.

    True if analytic lies between the one-sided differences (one kink: any value between the two slopes
    is fair), or if the fourth difference of objective on x + (-2, -1, 0, 1, 2) * eps / 2, which is ~0
    for a smooth function and ~eps * (jump in slope) at a kink, shows a jump larger than 1e-3 of the
    slopes plus atol (several kinks at once).
    """
    values = []
    for k in (-2, -1, 0, 1, 2):
        step = np.zeros_like(x)
        step[index] = k * eps / 2
        values.append(objective(x + step))
    far_left, near_left, center, near_right, far_right = values
    left, right = (center - far_left) / eps, (far_right - center) / eps
    if min(left, right) - tolerance <= analytic <= max(left, right) + tolerance:
        return True
    jump = abs(far_left - 4 * near_left + 6 * center - 4 * near_right + far_right) / eps
    return jump > 1e-3 * max(abs(left), abs(right)) + atol


def _compare(name: str, x: np.ndarray, analytic, objective: Callable[[np.ndarray], float],
             eps: float, rtol: float, atol: float) -> str | None:
    """Compare `analytic`, the claimed gradient of `objective` at x, with central differences.

    Args:
        name: what x is, for the report (e.g. "input 0", "parameter 'weight'").
        x: float64 array of any shape.
        analytic: the gradient from the backward pass, expected of x's shape.
        objective: the scalar function of an array of x's shape whose gradient is checked.
        eps, rtol, atol: the step and the tolerances (see gradcheck).

    Returns:
        None if every element matches (kinks excepted), else a one-line report of the worst element.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x.shape:
        return f"{name}: the gradient has shape {analytic.shape}, but {name} has shape {x.shape}"
    numerical = numerical_gradient(objective, x, h=eps)
    tolerance = atol + rtol * np.abs(numerical)
    wrong = ~(np.abs(analytic - numerical) <= tolerance)  # written so that NaN counts as wrong
    at_kink = np.zeros_like(wrong)
    for index in map(tuple, np.argwhere(wrong & np.isfinite(analytic))):  # NaN or inf is wrong, kink or not
        if _at_kink(objective, x, index, analytic[index], tolerance[index], eps, atol):
            wrong[index], at_kink[index] = False, True
    if not wrong.any():
        return None
    worst = np.unravel_index(np.argmax(np.where(wrong, np.abs(analytic - numerical) / tolerance, -1.0)), x.shape)
    a, n = analytic[worst], numerical[worst]
    relative = abs(a - n) / abs(n) if n != 0 else float("inf")
    kinks = f" ({at_kink.sum()} more next to a kink, not counted)" if at_kink.any() else ""
    return (f"{name}, shape {x.shape}: {wrong.sum()} of {wrong.size} elements differ{kinks}; worst at index "
            f"{tuple(int(i) for i in worst)}: analytic (backward) {a:.6g}, numerical {n:.6g}, relative error {relative:.3g}")


def gradcheck(fn: Callable, *inputs, backward: Callable | None = None, eps: float = 1e-6,
              rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0) -> bool:
    """Check a backward pass against central differences in float64; raise AssertionError if it is wrong.

    Two ways to call it:
        gradcheck(module, *inputs)                    a Module: a layer, a loss or a whole model
        gradcheck(fn, *inputs, backward=fn_backward)  a function and its hand-written backward

    The output (an array of any shape, or a number) is reduced to L = sum(G * output) with a random
    grad_output G of the output's shape, so that dL/d(output) = G.
    - A module is deep-copied and its parameters cast to float64 (the caller's module, its dtype and
      its gradients are untouched). module.backward(G) must return dL/d(first input); a loss's other
      input, the target, is not differentiated. Every parameter's .grad (zeroed first) must hold dL/dp.
    - A function: fn(*inputs) -> output, and backward(G, *inputs) -> dL/d(first input), or a tuple with
      one gradient per input (None for an input that is not differentiated).
    Float inputs are cast to float64 copies; integer inputs (class labels) are passed as they are.
    The forward and backward under test get their own copies of the inputs and of G: a backward may
    change its grad_output in place, and the central differences still use the original G and inputs.

    Kinks: within eps of a kink (ReLU's at 0) the central difference averages two slopes and says nothing
    about the derivative. An element that disagrees with it is not counted as an error if L is not smooth
    in [x - eps, x + eps]: if the analytic value lies between the one-sided differences
    (L(x + eps) - L(x)) / eps and (L(x) - L(x - eps)) / eps, or if a fourth difference of L shows a jump in
    its slope there (several kinks at once, e.g. ReLU units whose inputs are all exactly 0).

    Args:
        fn: a Module, or a function of arrays that returns an array or a number.
        *inputs: the arrays at which to check, of the shapes fn expects.
        backward: the backward of a function; None for a module.
        eps: the finite-difference step.
        rtol, atol: an element passes if |analytic - numerical| <= atol + rtol * |numerical|.
        seed: seeds the random grad_output G.

    Returns:
        True if every gradient matches.

    Raises:
        AssertionError: naming each wrong gradient ("input 0", "parameter 'weight'", ...) and its worst
            element: index, analytic and numerical values, relative error.
    """
    inputs = tuple(np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
                   for x in inputs)
    if backward is None:
        module = copy.deepcopy(fn)
        for _, p in module.named_parameters():
            p.data = p.data.astype(np.float64)
        module.zero_grad()
        forward, backward_pass, parameters = module, module.backward, module.named_parameters()
        what = type(fn).__name__
    else:
        forward, backward_pass, parameters = fn, lambda g: backward(g, *[x.copy() for x in inputs]), []
        what = getattr(fn, "__name__", repr(fn))

    output = np.asarray(forward(*[x.copy() for x in inputs]))
    rng = np.random.default_rng(seed)
    grad_output = rng.standard_normal(output.shape) if output.ndim else float(rng.standard_normal())
    grads = backward_pass(grad_output.copy() if isinstance(grad_output, np.ndarray) else grad_output)
    if grads is None:
        raise AssertionError(f"gradcheck of {what}: backward returned None instead of the gradient of its input")

    def objective(*args) -> float:
        return float(np.sum(grad_output * np.asarray(forward(*args))))

    def of_input(i: int) -> Callable[[np.ndarray], float]:
        return lambda x: objective(*inputs[:i], x, *inputs[i + 1:])

    def of_parameter(p) -> Callable[[np.ndarray], float]:
        def objective_of_p(value: np.ndarray) -> float:
            original, p.data = p.data, value
            try:
                return objective(*inputs)
            finally:
                p.data = original
        return objective_of_p

    grads = grads if isinstance(grads, tuple) else (grads,)
    checks = [(f"input {i}", x, grad, of_input(i)) for i, (x, grad) in enumerate(zip(inputs, grads))
              if grad is not None]
    checks += [(f"parameter '{name}'", p.data, p.grad.copy(), of_parameter(p)) for name, p in parameters]
    problems = [report for report in (_compare(*check, eps, rtol, atol) for check in checks) if report]
    if problems:
        raise AssertionError(f"gradcheck of {what}: {len(problems)} of {len(checks)} gradients are wrong "
                             f"(backward vs central differences, eps={eps:g}, rtol={rtol:g}, atol={atol:g}):\n  "
                             + "\n  ".join(problems))
    return True
