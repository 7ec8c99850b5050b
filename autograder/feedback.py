"""Feedback without the hidden tests: a preprocessor for nbgrader's `generate_feedback`.

The autograded notebook holds every test cell with its hidden block (nbgrader restores them to
grade). No hidden block ever ran in the learner's kernel (guarded_execute.py runs only the
probes there), and a test cell's outputs are the judge's verdict, which names a hidden case by
its number and a reason only. `HideHiddenTests`, added to `GenerateFeedback.preprocessors`,
removes the hidden block from each test cell's source, as in the learner's notebook.

`FeedbackExporter` renders the pages of a class several times faster than nbconvert's
HTMLExporter (see its docstring): most of every page is the same for every student.
"""
from __future__ import annotations

from jinja2 import BytecodeCache, pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters import html as html_exporter
from nbconvert.filters import Highlight2HTML
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.export import cell_source
from autograder.cells import HIDDEN_TESTS

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


class HideHiddenTests(NbGraderPreprocessor):
    """Remove the hidden tests from a notebook before nbgrader renders its feedback."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                cell.source = HIDDEN_TESTS.sub("", cell_source(cell))
        return nb, resources


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
