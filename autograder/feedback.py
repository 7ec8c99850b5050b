"""Feedback without the hidden tests: a preprocessor for nbgrader's `generate_feedback`.

The autograded notebook holds every test cell with its hidden tests (nbgrader restores them to
grade), and nbgrader's feedback shows them: in the test cells' source, in tracebacks (IPython
prints the lines around the failing one, so a failing visible assert shows the first hidden
lines), and in any output the submission printed while a hidden test ran (its own debugging
`print(x)` shows the hidden inputs). `HideHiddenTests`, added to
`GenerateFeedback.preprocessors`, removes all of that before the HTML is written:

- test cells lose their hidden block, as in the learner's notebook;
- an error raised in the hidden part becomes a generic message naming the graded cell;
- an error in the visible part keeps its traceback, with the test cell's frame cut at the
  last visible line;
- test cells keep no other output (no prints, no displays);
- any line of a hidden test that appears in the output of another cell (`print(In)` shows
  every test run so far) is replaced by "[hidden]".

`FeedbackExporter` renders the pages of a class several times faster than nbconvert's
HTMLExporter (see its docstring): most of every page is the same for every student.
"""
from __future__ import annotations

import re

from jinja2 import BytecodeCache, pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters import html as html_exporter
from nbconvert.filters import Highlight2HTML
from nbgrader.preprocessors import NbGraderPreprocessor
from nbformat.notebooknode import NotebookNode

from autograder.guarded_execute import GRADER_ERROR, NOT_RUN, error_output
from autograder.export import cell_source
from autograder.learner import HIDDEN_TESTS

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")
NUMBERED_LINE = re.compile(r"^\s*(?:-+>)?\s*(\d+) ")
HIDDEN_FAILURE = "HiddenTestFailed"
GRADER_ERRORS = {NOT_RUN, GRADER_ERROR}  # made by the grader (guarded_execute), not by a test
MIN_REDACTED = 8  # shorter hidden lines ("else:", "))") say nothing and would match everywhere


def hidden_part(text: str) -> tuple[int, list[str]]:
    """(number of visible lines before the hidden block, the hidden lines) of a test cell."""
    lines = text.splitlines()
    begin = next((i for i, line in enumerate(lines) if line.strip() == BEGIN), len(lines))
    end = next((i for i, line in enumerate(lines) if line.strip() == END), len(lines) - 1)
    return begin, lines[begin:end + 1]


def fails_in_hidden_part(output: NotebookNode, execution_count: int | None, visible: int) -> bool:
    """Whether an error output of a test cell comes from its hidden part. An error that does not
    say where it happened in the cell counts as hidden: its message might quote a hidden test."""
    if output.get("ename") in GRADER_ERRORS:
        return False
    text = ANSI.sub("", "\n".join(output.get("traceback", [])))
    lines = [int(line) for count, line in FRAME.findall(text) if int(count) == execution_count]
    return not lines or max(lines) > visible


def cut_frames(traceback: list[str], execution_count: int | None, visible: int) -> list[str]:
    """The traceback with the test cell's own frames cut after its last visible line."""
    kept = []
    for entry in traceback:
        match = FRAME.search(ANSI.sub("", entry))
        if match and int(match.group(1)) == execution_count:
            lines = []
            for line in entry.split("\n"):
                number = NUMBERED_LINE.match(ANSI.sub("", line))
                if number is None or int(number.group(1)) <= visible:
                    lines.append(line)
            entry = "\n".join(lines)
        kept.append(entry)
    return kept


def redact(text: str, hidden: list[str]) -> str:
    for line in hidden:
        text = text.replace(line, "[hidden]")
    return text


def redact_output(output: NotebookNode, hidden: list[str]) -> None:
    """Replace hidden-test lines wherever they appear in an output."""
    if "text" in output:
        output.text = redact(output.text, hidden)
    for mime, value in output.get("data", {}).items():
        if isinstance(value, str) and not mime.startswith("image/"):
            output.data[mime] = redact(value, hidden)
    if "traceback" in output:
        output.traceback = [redact(line, hidden) for line in output.traceback]
        output.evalue = redact(output.evalue, hidden)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove the hidden tests from a notebook before nbgrader renders its feedback."""

    def preprocess(self, nb, resources):
        hidden, public = {BEGIN, END}, set()
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                visible, lines = hidden_part(cell_source(cell))
                hidden.update(line.strip() for line in lines)
                public.update(line.strip() for line in cell_source(cell).splitlines()[:visible])
        hidden = sorted((line for line in hidden - public if len(line) >= MIN_REDACTED),
                        key=len, reverse=True)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if cell.metadata.get("nbgrader", {}).get("grade"):
                self.hide_in_test_cell(cell)  # what it leaves is safe, and is shown as it is
            else:
                for output in cell.get("outputs", []):
                    redact_output(output, hidden)
        return nb, resources

    @staticmethod
    def hide_in_test_cell(cell: NotebookNode) -> None:
        """Strip the hidden block, and keep only the error outputs, made safe."""
        visible, _ = hidden_part(cell_source(cell))
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            if fails_in_hidden_part(output, cell.get("execution_count"), visible):
                message = (f"{grade_id} failed a hidden test: your code passes the visible checks "
                           "but not the grader's other cases (other values, shapes or seeds)")
                output = error_output(HIDDEN_FAILURE, message)
            else:
                output.traceback = cut_frames(output.traceback, cell.get("execution_count"), visible)
            outputs.append(output)
        cell.outputs = outputs
        cell.source = HIDDEN_TESTS.sub("", cell_source(cell))


class _Unparsed:
    """Stands in for BeautifulSoup in nbconvert's HTMLExporter: the page, left as it is."""

    def __init__(self, html: str, features: str | None = None):
        self.html = html

    def select(self, selector: str) -> list:
        return []

    def __str__(self) -> str:
        return self.html


class TemplateCodeCache(BytecodeCache):
    """Compiled Jinja templates, kept in memory for the life of the process."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


class Memo(dict):
    """A dict that forgets everything once it holds `size` entries (a worker grades one
    chapter, so it rarely fills)."""

    def __init__(self, size: int = 4096):
        super().__init__()
        self.size = size

    def get_or_make(self, key, make):
        if key not in self:
            if len(self) >= self.size:
                self.clear()
            self[key] = make()
        return self[key]


TEMPLATES, HIGHLIGHTED, MARKDOWN = TemplateCodeCache(), Memo(), Memo()


class CachedHighlight(Highlight2HTML):
    """nbconvert's code highlighter, remembering each cell it highlighted before (of the cell's
    metadata, only its magics language changes the result)."""

    def __call__(self, source, language=None, metadata=None):
        key = (source, language or self.pygments_lexer, (metadata or {}).get("magics_language"))
        return HIGHLIGHTED.get_or_make(key, lambda: super(CachedHighlight, self).__call__(
            source, language, metadata))


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter, made faster for a class's worth of pages:

    - Its last pass is skipped: it re-parses the whole page with BeautifulSoup's pure-Python
      parser to add alt texts to images and tab stops to JupyterLab template elements
      (nbgrader's feedback template is the classic one). That pass took more than half of
      the ~3 s a feedback page of chapter 2 cost.
    - The templates are compiled once per process, not once per page.
    - A code or markdown cell already rendered (the same text; most cells are the same in
      every submission) is not rendered again.
    """

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATES
        return environment

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        if cell.get("attachments"):
            return super().markdown2html(context, source)
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        return MARKDOWN.get_or_make((source, path),
                                    lambda: super(FeedbackExporter, self).markdown2html(context, source))

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.filters.setdefault("highlight_code", CachedHighlight(pygments_lexer=lexer, parent=self))
        parser, html_exporter.BeautifulSoup = html_exporter.BeautifulSoup, _Unparsed
        try:
            return super().from_notebook_node(nb, resources, **kw)
        finally:
            html_exporter.BeautifulSoup = parser
