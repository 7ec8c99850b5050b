"""Grading: `python3 course.py grade CHAPTER SUBMISSIONS`.

    grade.py     the command: submissions in, workers, results saved, reports out
    worker.py    what each grading worker does with nbgrader (autograde, gradebook, feedback)
    pool.py      the workers, with time and memory bounds, replaced when lost
    feedback.py  the feedback pages: no hidden test, sanitised, bounded

A notebook runs through the execution layer (autograder.execution); the statuses and results
are autograder.results.
"""
