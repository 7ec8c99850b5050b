"""Execution: one notebook through the grading path, under `check`, `grade` and the audit.

    intake.py           a submitted notebook rebuilt on the release (and finding the submissions)
    library.py          the nnlib a chapter's kernel may import (no answer to it or a later one)
    sandbox.py          the jail (bubblewrap) and the limits of a kernel; cgroups.py: its cgroup
    guarded_execute.py  nbgrader's Execute, jailed: test cells become probes, judged outside
    probes.py           test cells as probes and cases; judge.py: verdicts in the grader's process
    trial.py            a notebook through all of this, without a gradebook

It imports neither the learner's commands nor grading (tests/test_imports.py).
"""
