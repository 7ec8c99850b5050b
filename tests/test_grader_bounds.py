"""The grader's own bounds (issue 12), in one grading run of test_grade.py's tiny chapter:

- every kind of output a kernel sends counts against the output limits (stream, display,
  update_display, execute_result, error, comm; malformed messages are ignored), and the graded
  notebook and the feedback stay small and say what was dropped;
- the feedback runs nothing of the submission (no script, event handler or javascript: URL);
- the grader's own work on a submission is bounded in time (--wall and a margin) and memory
  (`grade.GRADER_MEMORY_MB`): the worker is killed, and the submission alone gets the status;
- a worker that dies (killed here by a test hook) is replaced: its submission is graded again
  once, and the run goes on."""
import json
import multiprocessing
import os
import re
import signal
import threading
import time
from dataclasses import replace

import pytest

from autograder.grading import grade as grading
from autograder.grading.pool import WorkerLost, WorkerPool
from autograder.execution.sandbox import Limits
from test_grade import DOUBLE, FULL, LIMITS, SQUARE, notebook, results, submit, tiny, tiny_course  # noqa: F401

BOUNDS = replace(LIMITS, output_kb=64)  # 64 kB of output per cell, 1 MB per notebook
SECONDS = grading.grader_seconds(BOUNDS)  # 24 s for a submission, grader's work included
DISPLAY = "from IPython.display import display\n"
# student: (a cell run after the imports, the kind of message its note names)
FLOODS = {
    "update_display": (DISPLAY + "handle = display('small', display_id=True)\n"
                                 "handle.update('U' * 20_000_000)", "update_display_data"),
    "display_copies": (DISPLAY + "for _ in range(200):\n    handle = display('s', display_id='same')\n"
                                 "handle.update('M' * 60_000)", "update_display_data"),
    "displays": (DISPLAY + "for _ in range(100):\n    display({'text/plain': 'D' * 100_000}, raw=True)",
                 "display_data"),
    "stream": ("print('P' * 5_000_000)", "stream"),
    "execute_result": ("'E' * 5_000_000", "execute_result"),
    "traceback": ("raise ValueError('T' * 5_000_000)", "error"),
    "comm": ("from ipykernel.comm import Comm\nchannel = Comm(target_name='flood')\n"
             "for _ in range(30):\n    channel.send('C' * 1_000_000)", "comm_msg"),
}
# Messages no kernel of ours sends, sent by hand: a stream without text, an unhashable display id.
MALFORMED = ("kernel = get_ipython().kernel\n"
             "for content in [{'name': 'stdout'},\n"
             "                {'data': {}, 'metadata': {}, 'transient': {'display_id': []}}]:\n"
             "    kind = 'stream' if 'name' in content else 'display_data'\n"
             "    kernel.session.send(kernel.iopub_socket, kind, content, parent=kernel.get_parent())\n"
             "print('still running')")
# Active content, built in the kernel so that the code cell's source does not hold it as it is.
XSS = (DISPLAY + "from IPython.display import HTML, Javascript, Markdown, SVG\n"
       "tag = 'scr' + 'ipt'\n"
       "display(HTML(f'<{tag}>alert(\"xss-html\")</{tag}><img src=x onerror=alert(1)>'\n"
       "             f'<a href=\"javascript:alert(2)\">a</a>'\n"
       "             f'<iframe src=\"javascript:alert(3)\"></iframe>'))\n"
       "display(Javascript('alert(\"xss-javascript\")'))\n"
       "display(Markdown(f'<{tag}>alert(\"xss-markdown\")</{tag}>'))\n"
       "display(SVG(f'<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(4)\">'\n"
       "            f'<{tag}>alert(5)</{tag}></svg>'))\n"
       "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'x'}, 'text/plain': 'w'},\n"
       "        raw=True)")
XSS_MARKDOWN = ("# Notes\n<script>alert('xss-cell')</script>\n<img src=x onerror=\"alert(6)\">\n"
                "<a href=\"jav&#x09;ascript:alert(7)\">link</a> [link](javascript:alert(8))\n"
                "<b onmouseover=alert(9)>bold</b>")
SLOW = "import time\ntime.sleep(3)"  # a kill 1.5 s after a task starts finds it running
VICTIMS = {"killed_once": 1, "killed_twice": 2}  # how many of their workers the test kills


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory):  # noqa: F811 (test_grade's fixture)
    """Grade every case in one run: (out folder, log, {student: [times its task was handed to a
    worker]}, {student: time its result was saved}, seconds the run took, the pool's workers)."""
    solutions, release = tiny
    root = tmp_path_factory.mktemp("bounds")
    subs, out = root / "submissions", root / "out"
    students = {name: notebook(release, DOUBLE, SQUARE, after_imports=[code])
                for name, (code, _) in FLOODS.items()}
    students["good"] = notebook(release, DOUBLE, SQUARE)
    students["notebook_limit"] = notebook(release, DOUBLE, SQUARE,
                                          after_imports=["print('N' * 60_000)"] * 30)
    students["malformed"] = notebook(release, DOUBLE, SQUARE, after_imports=[MALFORMED])
    students["xss"] = notebook(release, DOUBLE, SQUARE, after_imports=[XSS])
    students["xss"]["cells"].insert(1, {"cell_type": "markdown", "id": "xss-notes", "metadata": {},
                                        "source": XSS_MARKDOWN})
    students["xss"]["cells"].insert(2, {"cell_type": "raw", "id": "xss-raw",
                                        "metadata": {"raw_mimetype": "text/html"},
                                        "source": "<script>alert('xss-raw')</script>"})
    # The grader's own work: 100,000 cells before the first test (nbgrader alone needs minutes
    # for them), and a cell of a million attachments (a GB of the grader's memory in seconds).
    students["many_cells"] = notebook(release, DOUBLE, SQUARE)
    students["many_cells"]["cells"][1:1] = [
        {"cell_type": "markdown", "id": f"m{index}", "metadata": {}, "source": f"note {index}"}
        for index in range(100_000)]
    students["attachments"] = notebook(release, DOUBLE, SQUARE)
    students["attachments"]["cells"].insert(1, {
        "cell_type": "markdown", "id": "pictures", "metadata": {}, "source": "pictures",
        "attachments": {f"p{index}.png": {"image/png": "x"} for index in range(1_000_000)}})
    students["long_notebook"] = notebook(release, DOUBLE, SQUARE)  # too long for a feedback page
    students["long_notebook"]["cells"][1:1] = [
        {"cell_type": "markdown", "id": "long", "metadata": {}, "source": "L" * 2_000_000},
        *({"cell_type": "markdown", "id": f"n{index}", "metadata": {}, "source": f"note {index}"}
          for index in range(1500))]
    for name in VICTIMS:
        students[name] = notebook(release, DOUBLE, SQUARE, after_imports=[SLOW])
    for student, nb in students.items():
        submit(subs, student, nb)

    assigned, saved, workers, lock = {}, {}, [], threading.Lock()
    kills = dict(VICTIMS)
    assign, save = WorkerPool._assign, grading.save

    def watched_assign(self):
        """The pool's own `_assign`, then: note each task handed out, and kill the victims'
        workers 1.5 s into their task (as an operator or the system's OOM killer might)."""
        given = {id(worker): worker.job for worker in self.workers}
        assign(self)
        for worker in self.workers:
            if worker not in workers:
                workers.append(worker)
            job = worker.job
            if job is None or given.get(id(worker)) is job or job.call[1][0][0] != "grade_task":
                continue
            with lock:
                assigned.setdefault(job.label, []).append(time.monotonic())
                if kills.get(job.label, 0) > 0:
                    kills[job.label] -= 1
                    threading.Timer(1.5, lambda worker=worker, job=job: worker.job is job and os.kill(
                        worker.process.pid, signal.SIGKILL)).start()

    def timed_save(out, settings, submission, graded, log):
        saved[submission.student] = time.monotonic()
        return save(out, settings, submission, graded, log)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WorkerPool, "_assign", watched_assign)
        patch.setattr(grading, "save", timed_save)
        started = time.monotonic()
        grading.grade("1", subs, out, workers=2, limits=BOUNDS, course=tiny_course(solutions))
        seconds = time.monotonic() - started
    return out, (out / "grading.log").read_text(), assigned, saved, seconds, workers


def autograded(out, student):
    return out / "nbgrader" / "autograded" / student / "01_tiny" / "tiny.ipynb"


def feedback(out, student):
    return out / "feedback" / f"{student}.html"


def notes(out, student) -> list[str]:
    """The notes of the cells whose output the grader cut, in the graded notebook."""
    nb = json.loads(autograded(out, student).read_text())
    texts = ["".join(output.get("data", {}).get("text/plain", "")) for cell in nb["cells"]
             for output in cell.get("outputs", [])]
    return [text for text in texts if "the grader dropped" in text]


@pytest.mark.parametrize("student", sorted(FLOODS))
def test_every_kind_of_output_counts_against_the_limit(run, student):
    """Before: update_display_data and comm messages bypassed the limit (20 MB in the graded
    notebook and the feedback), and the size of a display's metadata, a traceback or an
    execute_result was not counted."""
    out, *_ = run
    assert results(out, student) == FULL
    assert autograded(out, student).stat().st_size < 100_000
    assert feedback(out, student).stat().st_size < 300_000
    [note] = notes(out, student)
    assert "more than 64 kB in this cell" in note and FLOODS[student][1] in note, note
    assert "the grader dropped the rest of this cell" in feedback(out, student).read_text()


def test_the_whole_notebook_has_a_limit_too(run):
    """30 cells of 60 kB each: every cell is under its limit, the notebook is not (1 MB)."""
    out, *_ = run
    assert results(out, "notebook_limit") == FULL
    assert autograded(out, "notebook_limit").stat().st_size < 1_200_000
    assert feedback(out, "notebook_limit").stat().st_size < 1_500_000
    cut = notes(out, "notebook_limit")
    assert cut and all("more than 1024 kB in the whole notebook" in note for note in cut)


def test_malformed_messages_are_ignored(run):
    """A stream without text and an unhashable display id were errors in the grader itself."""
    out, *_ = run
    assert results(out, "malformed") == FULL
    assert "still running" in autograded(out, "malformed").read_text()
    assert autograded(out, "malformed").stat().st_size < 100_000
    assert feedback(out, "malformed").stat().st_size < 300_000


def test_the_feedback_runs_nothing_of_the_submission(run):
    out, *_ = run
    assert results(out, "xss") == FULL and results(out, "good") == FULL
    assert autograded(out, "xss").stat().st_size < 100_000
    page, plain = feedback(out, "xss").read_text(), feedback(out, "good").read_text()
    assert len(page) < 300_000
    scripts = re.findall(r"<script\b[^>]*>", page, re.I)
    assert scripts == re.findall(r"<script\b[^>]*>", plain, re.I) and len(scripts) == 2, scripts
    assert "mathjax" in scripts[0]  # the page's own: MathJax and its configuration
    tags = re.findall(r"<[a-z][^>]*>", page, re.I)  # (in text, < is escaped)
    assert not [tag for tag in tags if re.search(r"\son[a-z]+\s*=", tag, re.I)]  # event handlers
    url = re.compile(r"""\s(href|src)\s*=\s*["']?\s*(javascript|jav\s|vbscript)""", re.I)
    assert not [tag for tag in tags if url.search(tag)]  # URLs that run code
    assert not re.search(r"<(iframe|svg|object|embed|form)\b", page, re.I)
    assert page.count("xss-javascript") == 1  # in the cell's source: its output is left out
    # What the learner displayed and wrote is shown as text.
    assert '&lt;script&gt;alert("xss-html")&lt;/script&gt;' in page
    assert '&lt;script&gt;alert("xss-markdown")&lt;/script&gt;' in page
    assert "&lt;script&gt;alert('xss-cell')&lt;/script&gt;" in page
    assert "&lt;script&gt;alert('xss-raw')&lt;/script&gt;" in page
    assert '<img src="data:image/svg+xml;base64,' in page  # an SVG only as an image: inert


def test_a_feedback_page_shows_a_bounded_part_of_a_long_notebook(run):
    """1,500 cells, one of them of 2 MB: the page shows 1,000 cells and 64 kB of that one."""
    out, *_ = run
    assert results(out, "long_notebook") == FULL
    assert autograded(out, "long_notebook").stat().st_size < 3_000_000  # (what was submitted)
    page = feedback(out, "long_notebook").read_text()
    assert len(page) < 1_000_000 and page.count("L" * 1000) == 65
    assert "the feedback leaves out the other 1,934,464 characters of this cell" in page
    [counts] = re.findall(r"the feedback leaves out ([\d,]+) of the notebook's ([\d,]+) cells", page)
    left_out, cells = (int(count.replace(",", "")) for count in counts)
    assert cells > 1500 and cells - left_out <= 1010  # 1,000 cells and the graded ones


def test_the_grader_s_work_has_a_time_bound_covered_by_wall(run):
    """100,000 cells before the first test: nbgrader's own work on them would take minutes.
    The worker is killed when the submission's time is up (--wall plus a fifth), and the
    submission alone has timed out."""
    out, log, assigned, saved, *_ = run
    assert grading.grader_seconds(Limits()) == 360 and SECONDS == 24
    rows = results(out, "many_cells")
    assert {row[:2] for row in rows.values()} == {(0, "timed out")}, rows
    assert all(f"took longer than {SECONDS} s" in note for _, _, note in rows.values())
    assert saved["many_cells"] - assigned["many_cells"][-1] < SECONDS + 3
    assert not autograded(out, "many_cells").exists()  # nbgrader's partial record is forgotten
    assert feedback(out, "many_cells").stat().st_size < 5_000
    assert "many_cells,0,5,timed out,2/2," in (out / "totals.csv").read_text()


def test_the_grader_s_work_has_a_memory_bound(run):
    """A million attachments: past GRADER_MEMORY_MB, the worker is killed."""
    out, log, assigned, saved, *_ = run
    rows = results(out, "attachments")
    assert {row[:2] for row in rows.values()} == {(0, "too large to grade")}, rows
    assert all(f"more than {grading.GRADER_MEMORY_MB} MB" in note for _, _, note in rows.values())
    assert saved["attachments"] - assigned["attachments"][-1] < SECONDS
    assert not autograded(out, "attachments").exists()
    assert feedback(out, "attachments").stat().st_size < 5_000
    assert "attachments: too large to grade" in log


def test_a_dead_worker_is_replaced_and_its_submission_graded_again(run):
    """The test kills a worker in the middle of a submission: the submission is graded again on
    a new worker; if that one dies too, the submission has crashed. Everyone else is graded."""
    out, log, assigned, *_ = run
    assert len(assigned["killed_once"]) == 2 and len(assigned["killed_twice"]) == 2
    assert results(out, "killed_once") == FULL
    assert "killed_once: its worker died (killed by signal 9); running it again on a new one" in log
    rows = results(out, "killed_twice")
    assert {row[:2] for row in rows.values()} == {(0, "crashed")}, rows
    assert all("died twice" in note for _, _, note in rows.values())


def test_everyone_else_is_graded_and_the_run_ends_within_its_limits(run):
    out, log, assigned, saved, seconds, workers = run
    assert results(out, "good") == FULL
    graded = [student for student in saved if results(out, student) == FULL]
    assert len(graded) == len(FLOODS) + 6  # + good, notebook_limit, malformed, xss, long_notebook,
    #                                            killed_once
    # Two workers, five lost (time, memory, three killed by the test): replaced as needed.
    assert len(workers) > 2 and not any(worker.process.is_alive() for worker in workers)
    assert not any(worker.scratch.exists() for worker in workers)
    assert len((out / "totals.csv").read_text().splitlines()) == len(saved) + 1
    assert seconds < 4 * SECONDS, seconds


def test_the_pool_alone(tmp_path):
    """WorkerPool with tasks of the standard library, in seconds: a task past its time or its
    memory is killed, a task whose worker dies runs once more (and fails if it dies again), and
    the other tasks are unaffected."""
    flag = tmp_path / "died once"
    dies_once = (f"import os, pathlib\nflag = pathlib.Path({str(flag)!r})\n"
                 "if not flag.exists():\n    flag.touch()\n    os._exit(3)")
    context = multiprocessing.get_context("forkserver")
    with WorkerPool(2, context, seconds=3, memory_mb=300) as pool:
        started = time.monotonic()
        sleeps = pool.submit(time.sleep, 60)
        hogs = pool.submit(exec, "import time\nhog = b'x' * (400 << 20)\ntime.sleep(60)")
        survives = pool.submit(exec, dies_once)
        dies = pool.submit(exec, "import os\nos._exit(3)")
        answers = [pool.submit(pow, 2, n) for n in range(8)]
        with pytest.raises(WorkerLost) as timed_out:
            sleeps.result()
        assert timed_out.value.status == "timed out" and time.monotonic() - started < 5
        with pytest.raises(WorkerLost) as too_large:
            hogs.result()
        assert too_large.value.status == "too large to grade" and "300 MB" in too_large.value.note
        assert survives.result() is None and flag.exists()
        with pytest.raises(WorkerLost) as crashed:
            dies.result()
        assert crashed.value.status == "crashed" and "died twice" in crashed.value.note
        assert "exit code 3" in crashed.value.note
        assert [answer.result() for answer in answers] == [2 ** n for n in range(8)]


def test_a_worker_left_holding_memory_is_replaced():
    """After a task, a worker holding more than half its memory bound is retired: the next task
    runs in a new process, with the whole bound for itself."""
    context = multiprocessing.get_context("forkserver")
    with WorkerPool(1, context, seconds=30, memory_mb=500) as pool:
        first = pool.submit(eval, "(__import__('builtins').__setattr__('kept', b'x' * (300 << 20)), "
                                  "__import__('os').getpid())[1]").result()
        second = pool.submit(os.getpid).result()
        third = pool.submit(os.getpid).result()
    assert first != second == third  # (a worker that holds little is kept)
