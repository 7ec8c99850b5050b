"""The reports of a whole class from its gradebook: `python3 course.py grades CHAPTER [options]`.

    python3 course.py grades 1 --db-url postgresql://grader@db.example.org/nnfs --out DIR
        --db-url URL, --db-url-file FILE   the gradebook (else NNFS_DB_URL; a password not in
                                           the URL: NNFS_DB_PASSWORD, or libpq's PGPASSFILE)
        --out DIR                          where the reports go (default: grading/NN_name)

Writes grades.csv, totals.csv, summary.csv, summary.png and feedback/STUDENT_ID.html, exactly as
`course.py grade` does (the same code, grade.write_reports), from the records every shard wrote
into the gradebook (gradebook_store.py): whichever machines graded, one row per student whose
submission was recorded whole, sorted by student id.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import layout
from autograder.execution.intake import GradeError
from autograder.grading.grade import write_reports
from autograder.grading.gradebook_store import RecordStore, resolve_url
from autograder.layout import HERE, Course


def write_class_reports(name: str, db_url: str, out: Path | None = None, course: Course = HERE) -> Path:
    """Write the reports of chapter `name` of `course` from the gradebook at `db_url` into `out`;
    return it."""
    try:
        chapter = layout.find_chapter(name, course.solutions)
    except LookupError as error:
        raise GradeError(str(error)) from None
    out = Path(out or course.root / "grading" / chapter).resolve()
    store = RecordStore(db_url)
    try:
        store.check()
        exercises = store.exercises(chapter)
        results = store.results(chapter)
        pages = store.feedback_pages(chapter)
    finally:
        store.close()
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    for student, page in pages.items():
        (out / "feedback" / f"{student}.html").write_text(page)
    write_reports(out, chapter, exercises, results)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 course.py grades",
                                     description="Write a chapter's reports from the shared gradebook.")
    parser.add_argument("chapter", help="the chapter: 1, 01, 01_derivatives or derivatives")
    parser.add_argument("--db-url", help="the gradebook's URL (default: $NNFS_DB_URL)")
    parser.add_argument("--db-url-file", type=Path, help="a file whose first line is the gradebook URL")
    parser.add_argument("--out", type=Path, help="output directory (default: grading/NN_name)")
    args = parser.parse_args(argv)
    try:
        db_url = resolve_url(args.db_url, args.db_url_file)
        if db_url is None:
            parser.error("the gradebook is needed: --db-url, --db-url-file or NNFS_DB_URL")
        out = write_class_reports(args.chapter, db_url, args.out)
    except GradeError as error:
        print(f"grades: {error}", file=sys.stderr)
        return 1
    print(f"[grades] wrote {out / 'grades.csv'}, totals.csv, summary.csv, summary.png and feedback/")
    return 0
