"""A learner's exports survive a module's rename: chapter 5's nnlib.trainer, now nnlib.steps and
nnlib.optim.lr_scheduler. course.py moves an old export to the new names (never deleting a file), and
nnlib/trainer.py keeps `from nnlib.trainer import ...` of notebooks from earlier releases working.

The course here is a class edition's library with chapter 5 open (its reference modules not given out),
in a temporary folder: the learner's old export is the only train_step there is."""
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.execution.library import write_library
from autograder.layout import Course
from autograder.learner import migrate_exports
from nnlib import metrics, steps
from nnlib.optim import lr_scheduler

ROOT = Path(__file__).resolve().parent.parent
OLD_HEADER = "# Generated from work/05_mnist/mnist.ipynb: your own code, exported 2026-11-02 10:00 UTC."


def old_export(mark: str) -> str:
    """work/nnlib/trainer.py as `course.py export 5` wrote it before the rename, with `mark` in it."""
    imports = ("import math\n\nimport numpy as np\n\nfrom nnlib.metrics import accuracy\nfrom nnlib.module import Module\n"
               "from nnlib.training import Optimizer\n")
    code = "\n\n".join(inspect.getsource(function) for function in (steps.evaluate, steps.train_step,
                                                                      lr_scheduler.one_cycle_lr))
    return (f"{OLD_HEADER}\n# `python3 course.py restore trainer` puts the course's reference solution back.\n\n"
            f'"""Training a classifier (the old module)."""\n{imports}\nMARK = {mark!r}\n\n\n{code}')


@pytest.fixture
def course(tmp_path):
    """A course folder with nnlib as a class edition with chapter 5 open has it, and the learner's exports of
    chapter 5 from before the rename: metrics.py and trainer.py."""
    write_library(tmp_path, "05_mnist")
    assert not (tmp_path / "nnlib" / "steps.py").exists() and (tmp_path / "nnlib" / "trainer.py").exists()
    mine = tmp_path / "work" / "nnlib"
    mine.mkdir(parents=True)
    (mine / "metrics.py").write_text(f"{OLD_HEADER}\n\n{inspect.getsource(metrics)}")
    (mine / "trainer.py").write_text(old_export("first"))
    return tmp_path


def run_in(course: Path, code: str) -> dict:
    """Run `code` in a fresh interpreter whose nnlib is the course's; the JSON it prints last."""
    preamble = f"import json, sys; sys.path.insert(0, {str(course)!r})\n"
    env = {key: value for key, value in os.environ.items() if key != "NNLIB_FIRST"}
    ran = subprocess.run([sys.executable, "-c", preamble + code], cwd=course, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout.strip().splitlines()[-1])


TRAIN = """
import numpy as np
from nnlib.classification import LogSoftmax, NLLLoss
from nnlib.layers import Linear
from nnlib.module import Sequential
from nnlib.optim import SGD
import nnlib.steps, nnlib.optim.lr_scheduler
from nnlib.steps import train_step
from nnlib.optim.lr_scheduler import one_cycle_lr
from nnlib.trainer import train_step as old_name
rng = np.random.default_rng(0)
model = Sequential(Linear(4, 3, rng=0), LogSoftmax())
optimizer = SGD(model.parameters(), lr=one_cycle_lr(1, 10, 0.5), momentum=0.9)  # the peak: 0.5
X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
losses = [train_step(model, NLLLoss(), optimizer, X, y) for _ in range(30)]
print(json.dumps({"steps": nnlib.steps.__file__, "lr_scheduler": nnlib.optim.lr_scheduler.__file__,
                  "mark": nnlib.steps.MARK, "same": old_name is train_step, "first": losses[0], "last": losses[-1]}))
"""


def test_an_old_export_is_moved_to_the_new_names_and_trains(course):
    work, backups = course / "work" / "nnlib", course / "work" / "backups"
    old_text = (work / "trainer.py").read_text()
    # Before: the new name finds nothing (the reference is not given out), the old name finds the export.
    assert run_in(course, "import importlib.util as u; print(json.dumps(u.find_spec('nnlib.steps') is None))")
    done = migrate_exports(Course(course))
    assert len(done) == 1 and "nnlib.trainer" in done[0] and "nnlib.steps, nnlib.optim.lr_scheduler" in done[0]
    assert not (work / "trainer.py").exists()
    (kept,) = backups.glob("trainer.*.py")
    assert kept.read_text() == old_text, "the old export is kept as it was"
    for new in (work / "steps.py", work / "optim" / "lr_scheduler.py"):
        lines = new.read_text().splitlines()
        assert lines[0] == OLD_HEADER and "Moved from work/nnlib/trainer.py" in lines[1]
        assert "\n".join(lines[2:]) + "\n" == old_text.partition("\n")[2]
    result = run_in(course, TRAIN)
    assert result["steps"] == str(work / "steps.py") and result["mark"] == "first"
    assert result["lr_scheduler"] == str(work / "optim" / "lr_scheduler.py")
    assert result["same"], "nnlib.trainer (hand-written) re-exports the learner's train_step"
    assert result["last"] < 0.5 * result["first"], "the learner's train_step trains"
    assert migrate_exports(Course(course)) == [], "a second run has nothing to do"
    assert sorted(path.name for path in backups.iterdir()) == [kept.name]


def test_an_export_of_an_old_notebook_after_the_move_replaces_the_moved_modules(course):
    work, backups = course / "work" / "nnlib", course / "work" / "backups"
    migrate_exports(Course(course))
    first_steps = (work / "steps.py").read_text()
    (work / "trainer.py").write_text(old_export("again"))  # `export 5` of the notebook from the old release
    (done,) = migrate_exports(Course(course))
    assert "what it replaced in" in done
    assert run_in(course, TRAIN)["mark"] == "again"
    kept = sorted(backups.iterdir())
    assert len(kept) == 4  # the two old exports, and the two modules the first move wrote
    assert first_steps in [path.read_text() for path in kept]


def test_a_file_that_is_not_an_export_is_left_alone(course):
    work, backups = course / "work" / "nnlib", course / "work" / "backups"
    (work / "trainer.py").write_text("def train_step():\n    pass\n")
    assert migrate_exports(Course(course)) == []
    assert (work / "trainer.py").exists() and not backups.exists() and not (work / "steps.py").exists()
