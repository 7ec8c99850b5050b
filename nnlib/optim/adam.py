# Generated from solutions/05_mnist/mnist.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Adam: stochastic gradient descent with a step size adapted to every parameter."""
from collections.abc import Iterable

import numpy as np

from nnlib.module import Parameter
from nnlib.optim import Optimizer


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as PyTorch's torch.optim.Adam (without its amsgrad variant), weight decay
    added to the gradient (L2, not AdamW's decoupled decay).

    State: self.t, the number of steps taken (0 at the start); self.m and self.v, the moving averages of the
    gradients and of their squares, one array per parameter, of its shape and dtype (zeros at the start).

    Args:
        params: the Parameters to optimize, e.g. model.parameters().
        lr: the learning rate, >= 0: about the size of every parameter's step.
        betas: (beta1, beta2), the decay rates of the moving averages m and v, each in [0, 1).
        eps: added to sqrt(v_hat), against a division by zero; >= 0.
        weight_decay: the L2 penalty lambda, >= 0: lambda * p is added to the gradient.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)  # self.params and self.lr, checked
        beta1, beta2 = betas
        self.require(eps >= 0 and weight_decay >= 0 and 0 <= beta1 < 1 and 0 <= beta2 < 1,
                     "eps, weight_decay >= 0 and betas in [0, 1)", betas=betas, eps=eps, weight_decay=weight_decay)
        self.betas, self.eps, self.weight_decay = (beta1, beta2), eps, weight_decay
        self.t = 0                                          # the number of steps taken
        self.m = [np.zeros_like(p.data) for p in self.params]  # PyTorch's exp_avg
        self.v = [np.zeros_like(p.data) for p in self.params]  # PyTorch's exp_avg_sq

    def step(self) -> None:
        """One step of Adam on every parameter, from its current .grad (left unchanged): t, m and v updated for
        the next step; the parameters keep their dtype."""
        self.t += 1
        beta1, beta2 = self.betas
        bias_correction1 = 1 - beta1**self.t
        bias_correction2 = 1 - beta2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad if self.weight_decay == 0 else p.grad + self.weight_decay * p.data
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p.data -= (self.lr / bias_correction1) * m / (np.sqrt(v / bias_correction2) + self.eps)
