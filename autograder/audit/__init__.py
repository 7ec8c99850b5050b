"""The audit of the course's tests: `python3 course.py audit CHAPTER`.

    audit.py    every catalogue entry and generated mutant graded through `course.py grade`'s path
    catalogue/  per chapter: plausible learner bugs and correct alternatives of each exercise
"""
