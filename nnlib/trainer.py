"""Kept for old notebooks and exports: chapter 5's module was nnlib.trainer until it was split into
nnlib.steps (train_step, evaluate) and nnlib.optim.lr_scheduler (one_cycle_lr). New code imports
those; this module only re-exports them, so that `from nnlib.trainer import train_step` in a notebook
copied from an earlier release keeps working. (An export of the old module, work/nnlib/trainer.py,
is moved to the new names by every course.py command: autograder/learner.py, migrate_exports.)
"""
from nnlib.optim.lr_scheduler import one_cycle_lr
from nnlib.steps import evaluate, train_step

__all__ = ["evaluate", "one_cycle_lr", "train_step"]
