# Generated from solutions/05_mnist/mnist.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Learning-rate schedules, as PyTorch's torch.optim.lr_scheduler: one_cycle_lr."""
import math


def one_cycle_lr(step: int, total_steps: int, max_lr: float, pct_start: float = 0.15) -> float:
    """The learning rate of a one-cycle schedule at a step: linear warm-up, then cosine annealing to 0.

    With W = ceil(pct_start * total_steps) warm-up steps, the learning rate rises linearly to max_lr over steps
    0..W-1 (max_lr * (step + 1) / W), then falls from max_lr towards 0 along half a cosine:
    max_lr * (1 + cos(pi * (step - W) / (total_steps - W))) / 2.

    Args:
        step: the step about to be taken, 0 <= step < total_steps.
        total_steps: the number of steps of the whole training run.
        max_lr: the largest learning rate, reached at the end of the warm-up.
        pct_start: the fraction of the steps spent warming up, in [0, 1).
    Returns:
        the learning rate, a float in (0, max_lr].
    """
    if not 0 <= step < total_steps:
        raise ValueError(f"one_cycle_lr: step must be in [0, {total_steps}), got {step}")
    if not 0 <= pct_start < 1:
        raise ValueError(f"one_cycle_lr: pct_start must be in [0, 1), got {pct_start}")
    warmup = math.ceil(pct_start * total_steps)
    if step < warmup:
        return max_lr * (step + 1) / warmup
    return max_lr * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total_steps - warmup)))
