"""Finding the submissions and making them safe to grade, in the grading command's own process.

`grade.py` calls, in this order:

- `unpack`: the folder of student folders, or a zip of one, extracted member by member. A
  member that cannot be extracted (a bad CRC, a declared size below its real size, a file where
  a folder is needed) is skipped, and the log says why; the rest of the zip is graded. A member
  whose path leaves the extraction folder refuses the whole zip.
- `find_submissions`: one `Submission` per student folder. Every folder is graded: a folder
  whose name is not a usable student id (`John Smith`, `josé`, `-rf`, `.hidden`) is graded
  under an id made from it (`student_id`), and the reports show its own name. Only the
  `IGNORED_FOLDERS` (`__MACOSX`, `.git`, `.ipynb_checkpoints`) are skipped, and the log says
  so. Whatever goes wrong with one folder becomes that submission's status and note; the run
  goes on.
- `read_submission`: the notebook found (only regular files: a folder or link named
  `x.ipynb` or `timestamp.txt` is no notebook or timestamp), its submission time (nbgrader's
  `timestamp.txt`, else the file's time, never after the grading time: a date in the future
  cannot lock in a grade), and the notebook `sanitise`d against the course's release.
- `kept_timestamp`: when the submission graded in an earlier run was made, to tell which of
  two is newer (no later than when it was graded).
- `stage`: the sanitised notebook goes where nbgrader looks.

`sanitise` rebuilds the notebook from the release's point of view before any code runs: the
nbgrader metadata of every cell is the release's, found by grade id (or by cell id where the
grade id was changed); other cells marked for grading (an extra graded cell, a copy of a test
cell) become plain cells, and the note says so; a test cell the learner deleted is put back;
the cells after the last test are dropped (they never run); hidden-test markers outside test
cells are defused (nothing the learner writes is read as a hidden test); outputs and all other
metadata but tags are dropped.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Callable

from autograder.cells import HIDDEN_MARKER, cell_source, grade_id_of, is_graded, nbgrader_of
from autograder.results import GRADER_ERROR, MISSING, NOT_A_NOTEBOOK, Settings

IGNORED_FOLDERS = frozenset({"__MACOSX", ".git", ".ipynb_checkpoints"})  # skipped wherever they are
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")  # a folder name used as it is
MAPPED_ID = re.compile(r".*\+[0-9a-f]{16}")  # the form of a made id: never a folder's name as is
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # nbformat 4.5
TIMESTAMP = "timestamp.txt"
MAX_NOTEBOOK_BYTES = 100 << 20
MAX_UNZIPPED_BYTES = 4 << 30
MAX_TIMESTAMP_BYTES = 1000
DEFUSED_MARKER = r"[\1 hidden-tests marker, removed by the grader]"
DEEP = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*[\[{](?:\s*(?:"(?:[^"\\]|\\.)*"\s*:\s*)?[\[{]){100}')
FLAGS = ("grade", "solution", "locked", "task", "points")  # nbgrader metadata that decides grading
RELEASE_METADATA = ("nbgrader", "deletable", "editable")  # a known cell's metadata, from the release


class GradeError(Exception):
    """Grading cannot start: a bad argument or a broken environment."""


@dataclass
class Submission:
    """One student folder: the sanitised notebook to grade, or why there is none."""
    student: str  # the id it is graded under (`student_id` of the folder's name)
    name: str  # the folder's name, as the reports show it
    timestamp: datetime  # naive UTC, never after the grading time
    notebook: Path | None = None  # the notebook found in the folder
    staged: Path | None = None  # its sanitised copy: what is graded
    status: str | None = None  # NOT_A_NOTEBOOK, MISSING or GRADER_ERROR when it cannot be graded
    note: str = ""
    restored: dict[str, str] = field(default_factory=dict)  # test cells edited/deleted


# Finding the submissions ---------------------------------------------------------------------

def ignored_name(path: Path) -> bool:
    """Whether a folder is one of `IGNORED_FOLDERS` (made by macOS's zip, git or JupyterLab)."""
    return path.name in IGNORED_FOLDERS


def shown(name: str) -> str:
    """A file name as the log and the reports show it: printable, one line."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return text if text.isprintable() else repr(text)


def student_id(name: str) -> str:
    """The id a student folder is graded under: its name if that is a usable id (letters, digits
    and . _ @ + -, not starting with a sign or dot), else its letters and a hash of the whole name
    (`John Smith` -> `John_Smith+` 16 hex digits), so that every folder is graded, always under
    the same id, and no two folders share one (a name of the made form is itself mapped)."""
    if STUDENT_ID.fullmatch(name) and not MAPPED_ID.fullmatch(name):
        return name
    letters = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    readable = re.sub(r"[^A-Za-z0-9._@-]+", "_", letters)
    readable = re.sub(r"^[^A-Za-z0-9]+", "", readable)[:40] or "student"
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    return f"{readable}+{digest}"


def is_file(path: Path) -> bool:
    """Whether `path` is a regular file itself (not a folder, link, pipe or device)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def is_folder(path: Path) -> bool:
    """Whether `path` is a folder itself (not a link to one)."""
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def unpack(submissions: Path, scratch: Path) -> tuple[Path, list[str]]:
    """The folder of student folders: `submissions` itself, or where its zip is extracted (the
    zip may hold the student folders directly or inside one top folder); and a message for each
    member of the zip that was skipped, or file outside the top folder."""
    if submissions.is_dir():
        return submissions, []
    if not zipfile.is_zipfile(submissions):
        raise GradeError(f"{submissions} is neither a folder nor a zip file")
    target = scratch / "unzipped"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    messages = []
    try:
        with zipfile.ZipFile(submissions) as archive:
            members = archive.infolist()
            for info in members:
                parts = PurePosixPath(info.filename).parts
                if info.filename.startswith(("/", "\\")) or ".." in parts:
                    raise GradeError(f"{submissions} holds an unsafe path: {info.filename}")
            if sum(info.file_size for info in members) > MAX_UNZIPPED_BYTES:
                raise GradeError(f"{submissions} unpacks to more than {MAX_UNZIPPED_BYTES >> 30} GB")
            extracted = []
            for info in members:
                try:
                    extracted.append((extract(archive, info, target), info))
                except Exception as error:  # noqa: BLE001 (a bad member is skipped, and logged)
                    messages.append(f"skipped {shown(info.filename)} of {submissions.name}: "
                                    f"{type(error).__name__}: {error}")
    except zipfile.BadZipFile as error:
        raise GradeError(f"{submissions} cannot be read as a zip: {error}") from None
    for path, info in extracted:  # the zip's times decide which submission is newer
        try:
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(path, (stamp, stamp), follow_symlinks=False)
        except (OverflowError, ValueError, OSError):
            pass  # the time of extraction stays: no date is no reason to skip a file
    folders = [path for path in target.iterdir() if is_folder(path) and not ignored_name(path)]
    if len(folders) == 1 and not any(path.suffix == ".ipynb" for path in folders[0].iterdir()):
        messages += [f"ignored {shown(path.name)}: outside the folder of student folders "
                     f"{shown(folders[0].name)}" for path in target.iterdir()
                     if path != folders[0] and not ignored_name(path)]
        return folders[0], messages
    return target, messages


def extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> Path:
    """Extract one member under `target` (its path checked safe by the caller); a file is written
    whole or not at all (zipfile checks its size and CRC as it reads)."""
    path = target.joinpath(*PurePosixPath(info.filename).parts)
    if info.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=".unzipping-")
    try:
        with os.fdopen(descriptor, "wb") as sink, archive.open(info) as source:
            shutil.copyfileobj(source, sink)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise
    return path


def find_submissions(folder: Path, name: str, release: dict, staging: Path,
                     select: Callable[[str], bool] | None = None) -> tuple[list[Submission], list[str]]:
    """One Submission per student folder of `folder` (its sanitised notebook written into
    `staging`), and a message for everything else found and each folder graded under a made id;
    only the folders whose name `select` accepts, if given (a shard's, shards.py)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    submissions, messages = [], []
    for entry in sorted(folder.iterdir()):
        if ignored_name(entry):
            messages.append(f"skipped {entry.name}: ignored ({', '.join(sorted(IGNORED_FOLDERS))})")
        elif not is_folder(entry):
            messages.append(f"ignored {shown(entry.name)}: not a student folder (<student>/{name}.ipynb)")
        elif select is None or select(entry.name):
            submission = read_submission(entry, name, release, staging, now)
            if submission.student != entry.name:
                messages.append(f"graded folder {shown(entry.name)} as student {submission.student}")
            submissions.append(submission)
    return submissions, messages


def read_submission(folder: Path, name: str, release: dict, staging: Path,
                    now: datetime) -> Submission:
    """The submission of one student folder; a failure of the grader here is that submission's
    "grader error", not the run's."""
    submission = Submission(student_id(folder.name), shown(folder.name), now)
    try:
        read_folder(submission, folder, name, release, staging, now)
    except Exception as error:  # noqa: BLE001 (reported as this submission's status)
        submission.status = GRADER_ERROR
        submission.note = f"the grader failed to read it: {type(error).__name__}: {str(error)[:200]}"
    return submission


def read_folder(submission: Submission, folder: Path, name: str, release: dict, staging: Path,
                now: datetime) -> None:
    """Fill in `submission` from its folder: the notebook (a single notebook with another name
    is taken, and noted), its time, and its sanitised copy in `staging`, or why there is none."""
    notebooks = sorted(notebook_files(folder))
    expected = folder / f"{name}.ipynb"
    chosen = expected if expected in notebooks else notebooks[0] if len(notebooks) == 1 else None
    notes = []
    if chosen is None:
        found = ", ".join(relative(path, folder) for path in notebooks)
        notes.append(f"no {name}.ipynb" + (" (a folder or link of that name is no notebook)"
                                           if os.path.lexists(expected) else "")
                     + (f"; found {found}" if found else ""))
    elif chosen != expected:
        notes.append(f"graded {relative(chosen, folder)} as {name}.ipynb")
    submission.notebook = chosen
    submission.timestamp, stamp_note = submission_time(folder, chosen, now)
    notes.append(stamp_note)
    if chosen is None:
        submission.status = MISSING
    else:
        notebook, problem = read_notebook(chosen)
        if problem:
            submission.status = NOT_A_NOTEBOOK
            notes.append(problem)
        else:
            clean, restored, sanitised = sanitise(notebook, release)
            submission.restored = restored
            notes += sanitised
            submission.staged = staging / f"{submission.student}.ipynb"
            submission.staged.write_text(json.dumps(clean))
    submission.note = "; ".join(filter(None, notes))


def notebook_files(folder: Path) -> list[Path]:
    """Every regular file named *.ipynb under `folder`, outside the `IGNORED_FOLDERS` and without
    following links."""
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name not in IGNORED_FOLDERS]
        found += [Path(root, name) for name in files
                  if name.endswith(".ipynb") and is_file(Path(root, name))]
    return found


def relative(path: Path, folder: Path) -> str:
    """How a note names a file of a student's folder."""
    return shown(path.relative_to(folder).as_posix())


def submission_time(folder: Path, notebook: Path | None, now: datetime) -> tuple[datetime, str]:
    """When the submission was made, naive UTC, and a note if it is not what the folder says:
    nbgrader's timestamp.txt if it is a readable file, else the notebook's (or folder's)
    modification time; never after `now` (the grading time): a learner may write timestamp.txt,
    and a date in the future would make every later submission look older."""
    stamp, moment, note = folder / TIMESTAMP, None, ""
    if is_file(stamp):
        from dateutil import parser

        try:
            with stamp.open("rb") as file:
                moment = parser.parse(file.read(MAX_TIMESTAMP_BYTES).decode().strip())
            if moment.tzinfo:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError, UnicodeDecodeError):
            moment, note = None, f"{TIMESTAMP} is not a date: the file's time is used"
    elif os.path.lexists(stamp):
        note = f"{TIMESTAMP} is not a file: the file's time is used"
    said = f"{TIMESTAMP} says" if moment else "the file's time is"
    if moment is None:
        mtime = (notebook or folder).stat().st_mtime
        moment = datetime.fromtimestamp(mtime, timezone.utc).replace(tzinfo=None)
    if moment > now:
        return now, (f"{said} {moment.isoformat(sep=' ')} UTC, after the grading time: taken as "
                     "the grading time")
    return moment, note


def read_notebook(path: Path) -> tuple[dict | None, str]:
    """(the notebook, '') if a file looks like a notebook nbgrader can read, else (None, why not)."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None, f"larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
    text = path.read_bytes()
    try:
        notebook = json.loads(text)
    except RecursionError:
        found = DEEP.search(text)  # the key where 100 levels open at once, if any
        where = shown(found.group(1)[:40].decode("utf-8", "replace")) if found else "JSON"
        return None, f"{where} nested too deep"
    except (ValueError, UnicodeDecodeError) as error:
        return None, f"invalid JSON ({str(error)[:120]})"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list) \
            or not all(isinstance(cell, dict) and "cell_type" in cell and is_text(cell.get("source"))
                       for cell in notebook["cells"]):
        return None, "JSON, but not a Jupyter notebook"
    if notebook.get("nbformat") != 4:
        return None, f"notebook format {notebook.get('nbformat')!r}, not 4"
    return notebook, ""


def is_text(source) -> bool:
    """Whether a cell's source is a string or a list of strings, as in a notebook file."""
    return isinstance(source, str) or isinstance(source, list) and all(isinstance(line, str)
                                                                       for line in source)


# Sanitising ---------------------------------------------------------------------------------------

def flag(cell: dict, key: str):
    """One of a cell's `FLAGS`: its points, or whether it is set."""
    value = nbgrader_of(cell).get(key)
    return value if key == "points" else bool(value)


def clean_cell(cell: dict) -> dict | None:
    """A copy of a submitted cell with only what grading uses: its type, id, source, tags and a
    markdown cell's well-formed attachments; no outputs, no other metadata. None for a cell
    of no known type."""
    kind = cell["cell_type"]
    if kind not in ("code", "markdown", "raw"):
        return None
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
    if tags:  # (nbformat: unique strings without commas)
        tags = list(dict.fromkeys(tag for tag in tags if isinstance(tag, str) and tag and "," not in tag))
    cleaned = {"cell_type": kind, "id": cell.get("id"), "metadata": {"tags": tags} if tags else {},
               "source": cell_source(cell)}
    attachments = cell.get("attachments")
    if kind != "code" and isinstance(attachments, dict) and all(
            isinstance(bundle, dict) and all(isinstance(mime, str) and is_text(data)
                                             for mime, data in bundle.items())
            for bundle in attachments.values()):
        cleaned["attachments"] = attachments
    return as_type(cleaned, kind)


def as_type(cell: dict, kind: str) -> dict:
    """`cell` as a cell of type `kind` (a code cell has no outputs and no execution count)."""
    cell["cell_type"] = kind
    if kind == "code":
        cell.pop("attachments", None)
        cell.update(outputs=[], execution_count=None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    return cell


def sanitise(notebook: dict, release: dict) -> tuple[dict, dict[str, str], list[str]]:
    """The submission rebuilt on the release (see the module's docstring): (the notebook to grade,
    {grade id: 'edited' or 'deleted'} for the test cells the learner changed, notes on what was
    changed or ignored)."""
    known = {grade_id_of(cell): cell for cell in release["cells"] if grade_id_of(cell)}
    submitted = [(cell, clean_cell(cell)) for cell in notebook["cells"]]
    notes = []
    unknown_types = sum(cleaned is None for _, cleaned in submitted)
    if unknown_types:
        notes.append(f"ignored {unknown_types} cell(s) of no known type")
    submitted = [(cell, cleaned) for cell, cleaned in submitted if cleaned is not None]
    claimed = match_cells([cell for cell, _ in submitted], known)
    restored, changed, ignored = {}, [], []
    for grade_id, source in known.items():
        index = claimed.get(grade_id)
        if index is None:
            if is_graded(source):
                restored[grade_id] = "deleted"
            continue
        cell, cleaned = submitted[index]
        differs = [key for key in FLAGS if flag(cell, key) != flag(source, key)]
        differs += ["grade_id"] * (grade_id_of(cell) != grade_id)
        differs += ["cell type"] * (cell["cell_type"] != source["cell_type"])
        if differs:
            changed.append(f"{grade_id} ({', '.join(differs)})")
        if is_graded(source) and (cleaned["source"] != cell_source(source)
                                                 or "cell type" in differs):
            restored[grade_id] = "edited"
        as_type(cleaned, source["cell_type"])
        cleaned["metadata"].update({key: copy.deepcopy(value) for key, value in source["metadata"].items()
                                    if key in RELEASE_METADATA})
    owners = {index: grade_id for grade_id, index in claimed.items()}
    for index, (cell, _) in enumerate(submitted):
        meta = nbgrader_of(cell)
        if index not in owners and any(meta.get(key) for key in FLAGS[:4]):
            grade_id = grade_id_of(cell)
            ignored.append(f"a copy of {grade_id}" if grade_id in known else
                           repr(grade_id)[:60] if grade_id else "one without a grade id")
    if changed:
        notes.append(f"the course's grading metadata put back on {', '.join(changed)}")
    if ignored:
        notes.append(f"not graded, as not the course's: {len(ignored)} cell(s) marked for grading "
                     f"({', '.join(ignored)})")
    cells = put_back_tests([cleaned for _, cleaned in submitted], owners, known)
    dropped, cells = after_last_test(cells)
    if dropped > after_last_test(release["cells"])[0]:
        notes.append(f"dropped the {dropped} cell(s) after the last test: they never run when grading")
    defused = 0
    for cell in cells:
        if not is_graded(cell) and HIDDEN_MARKER.search(cell["source"]):
            cell["source"] = HIDDEN_MARKER.sub(DEFUSED_MARKER, cell["source"])
            defused += 1
    if defused:
        notes.append(f"hidden-test markers defused in {defused} cell(s) that are not tests")
    give_ids(cells)
    return ({"cells": cells, "metadata": copy.deepcopy(release["metadata"]), "nbformat": 4,
             "nbformat_minor": 5}, restored, notes)


def after_last_test(cells: list[dict]) -> tuple[int, list[dict]]:
    """(how many cells follow the last test cell, the cells up to it)."""
    last = max((index for index, cell in enumerate(cells) if is_graded(cell)),
               default=len(cells) - 1)
    return len(cells) - last - 1, cells[:last + 1]


def match_cells(cells: list[dict], known: dict[str, dict]) -> dict[str, int]:
    """{grade id: index of the submitted cell that is the release's cell of that id}: the cell
    with that grade id (of several, the one with the release's cell id, else the last, as
    nbgrader does), else the cell with the release's cell id whose grade id is not the
    course's (it was changed or removed)."""
    def same_id(cell: dict, source: dict) -> bool:
        return isinstance(source.get("id"), str) and cell.get("id") == source["id"]

    by_grade_id: dict[str, list[int]] = {}
    for index, cell in enumerate(cells):
        by_grade_id.setdefault(grade_id_of(cell), []).append(index)
    claimed: dict[str, int] = {}
    for grade_id, source in known.items():
        same = by_grade_id.get(grade_id)
        if same:
            claimed[grade_id] = ([index for index in same if same_id(cells[index], source)] or same)[-1]
    for grade_id, source in known.items():
        if grade_id not in claimed:
            taken = set(claimed.values())
            found = [index for index, cell in enumerate(cells) if index not in taken
                     and same_id(cell, source) and grade_id_of(cell) not in known]
            if found:
                claimed[grade_id] = found[0]
    return claimed


def put_back_tests(cells: list[dict], owners: dict[int, str], known: dict[str, dict]) -> list[dict]:
    """`cells` with the release's test cells that are missing put back, each after the nearest
    release cell before it in the release that the submission has (else at the end: after all
    the learner's code). nbgrader puts the hidden tests back into each test cell."""
    order = list(known)
    position = {grade_id: index for index, grade_id in owners.items()}
    after: dict[int | None, list[dict]] = {}
    for number, grade_id in enumerate(order):
        source = known[grade_id]
        if grade_id in position or not is_graded(source):
            continue
        anchor = next((position[earlier] for earlier in reversed(order[:number]) if earlier in position),
                      None)
        cell = as_type({"cell_type": source["cell_type"], "id": source.get("id"),
                        "metadata": copy.deepcopy(source["metadata"]), "source": cell_source(source)},
                       source["cell_type"])
        after.setdefault(anchor, []).append(cell)
    result = []
    for index, cell in enumerate(cells):
        result += [cell, *after.get(index, [])]
    return result + after.get(None, [])


def give_ids(cells: list[dict]) -> None:
    """Give every cell a valid id, unique in the notebook (nbformat 4.5): its own if it has one."""
    used, unnamed = set(), []
    for cell in cells:
        if isinstance(cell.get("id"), str) and CELL_ID.fullmatch(cell["id"]) and cell["id"] not in used:
            used.add(cell["id"])
        else:
            unnamed.append(cell)
    fresh = (name for number in itertools.count(1) if (name := f"cell-{number}") not in used)
    for cell, name in zip(unnamed, fresh):
        cell["id"] = name


# Staging ----------------------------------------------------------------------------------------

def stage(submission: Submission, settings: Settings) -> bool:
    """Put the sanitised notebook where nbgrader looks, submitted/<student>/<chapter>/
    <notebook>.ipynb, with its timestamp.txt; False if it could not (the submission's status and
    note then say why)."""
    target = settings.course / "submitted" / submission.student / settings.chapter
    try:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copyfile(submission.staged, target / f"{settings.notebook}.ipynb")
        (target / TIMESTAMP).write_text(submission.timestamp.isoformat(sep=" ") + " UTC")
    except OSError as error:
        submission.status = GRADER_ERROR
        submission.note = f"the grader failed to stage it: {type(error).__name__}: {error}"
        return False
    return True


def kept_timestamp(timestamp: str, path: Path) -> datetime:
    """When the graded submission whose result `path` holds was made: its `timestamp`, but no
    later than when it was graded (the file's time). Results of an earlier version of the grader
    may hold a learner's date from the future: a later submission still replaces them."""
    graded = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).replace(tzinfo=None)
    return min(datetime.fromisoformat(timestamp), graded)
