"""Feedback without the hidden tests: a preprocessor for nbgrader's `generate_feedback`.

The autograded notebook holds every test cell with its hidden block (nbgrader restores them to
grade). No hidden block ever ran in the learner's kernel (guarded_execute.py runs only the
probes there), and a test cell's outputs are the judge's verdict, which names a hidden case by
its number and a reason only. `HideHiddenTests`, added to `GenerateFeedback.preprocessors`,
removes the hidden block from each test cell's source, as in the learner's notebook.

`FeedbackExporter` renders the pages of a class several times faster than nbconvert's
HTMLExporter (see its docstring): most of every page is the same for every student. It also
makes the page safe to open: nothing a submission wrote or printed runs in the reader's browser
(`sanitise_html`: no script, event handler, frame, form or style from the submission); and
small: it shows at most `FEEDBACK_CELLS` cells and `PAGE_CHARS` of their text (the outputs are
bounded when the notebook runs: guarded_execute.py). The private names of nbconvert it
relies on are listed in autograder/hooks.py.
"""
from __future__ import annotations

import html
import re

import bleach
from jinja2 import BytecodeCache, pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters import html as html_exporter
from nbconvert.filters import Highlight2HTML
from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.cells import cell_source, is_graded, is_solution, nbgrader_of, without_hidden_tests

# What HTML from a submission (its markdown, its outputs) may keep in the feedback: text
# structure, tables, links and images; no script, event handler, style, frame, form or embed.
SAFE_TAGS = frozenset(
    "a abbr b blockquote br caption code col colgroup dd del details div dl dt em figcaption figure "
    "h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strong sub summary sup "
    "table tbody td tfoot th thead tr tt u ul var".split())
SAFE_ATTRIBUTES = {"*": {"class", "id", "title", "align"}, "a": {"href", "name"},
                   "img": {"src", "alt", "width", "height"}, "table": {"border"},
                   "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "ol": {"start"}}
SANITISE_CHARS = 256 << 10
# How much of a notebook a feedback page shows (a chapter has about 100 cells and 100 kB of text):
# every graded cell, each with at most CELL_CHARS of its source, and the other cells in order
# while they fit in FEEDBACK_CELLS cells and PAGE_CHARS of source.
FEEDBACK_CELLS, CELL_CHARS, PAGE_CHARS = 1000, 64 << 10, 2 << 20
URL_NOISE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")  # what browsers ignore in a URL's scheme


def _safe_attribute(tag: str, name: str, value: str) -> bool:
    """Whether an attribute may stay: listed for its tag, and a URL only if it cannot run code
    (bleach also refuses any scheme but http, https, mailto and data; data only for images)."""
    if name not in SAFE_ATTRIBUTES["*"] and name not in SAFE_ATTRIBUTES.get(tag, ()):
        return False
    if name in ("href", "src"):
        url = URL_NOISE.sub("", html.unescape(value)).lower()
        if url.startswith("data:"):
            return (tag, name) == ("img", "src") and url.startswith("data:image/")
    return True


_CLEANER = bleach.Cleaner(tags=SAFE_TAGS, attributes=_safe_attribute,
                          protocols={"http", "https", "mailto", "data"}, strip_comments=True)


def sanitise_html(text) -> str:
    """HTML from a submission, made inert: the tags and attributes of `SAFE_TAGS` and
    `SAFE_ATTRIBUTES` are kept, every other tag is shown as text (escaped). HTML longer than
    `SANITISE_CHARS` is shown as text altogether: parsing it costs about 2 s per MB."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    if len(text) > SANITISE_CHARS:
        return f"<pre>{html.escape(text)}</pre>"
    return _CLEANER.clean(text)


class HideHiddenTests(NbGraderPreprocessor):
    """Remove the hidden tests from a notebook before nbgrader renders its feedback."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "code" and is_graded(cell):
                cell.source = without_hidden_tests(cell_source(cell))
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

    And it renders nothing of the submission as active content, whatever its configuration.
    nbconvert's `sanitize_html` (always on) leaves out JavaScript outputs and widgets and passes
    HTML and markdown outputs and raw cells through its `clean_html` filter, here
    `sanitise_html`; nbgrader's feedback template renders markdown cells without that filter,
    so `markdown2html` sanitises its own result; and the nbgrader metadata the template prints
    as it is (a cell's grade id) is escaped.
    """

    def _init_resources(self, resources):
        resources = super()._init_resources(resources)
        resources["should_sanitize_html"] = True
        return resources

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", sanitise_html)

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATES
        return environment

    def _preprocess(self, nb, resources):
        """After the preprocessors: escape the grade ids, and keep the page within its size."""
        nb, resources = super()._preprocess(nb, resources)
        shown, budget = [], PAGE_CHARS
        for cell in nb.cells:
            meta = nbgrader_of(cell)
            graded = is_graded(cell) or is_solution(cell)
            if "grade_id" in meta:
                meta["grade_id"] = html.escape(str(meta["grade_id"]))
            if not graded and (len(shown) >= FEEDBACK_CELLS or budget <= 0):
                continue
            source = cell_source(cell)
            keep = CELL_CHARS if graded else min(CELL_CHARS, budget)
            if len(source) > keep:
                cell.source = (f"{source[:keep]}\n\n[the feedback leaves out the other "
                               f"{len(source) - keep:,} characters of this cell]")
            budget -= min(len(source), keep)
            shown.append(cell)
        if len(shown) < len(nb.cells):
            shown.append(new_markdown_cell(
                f"*[the feedback leaves out {len(nb.cells) - len(shown):,} of the notebook's "
                f"{len(nb.cells):,} cells: it shows every graded cell, and the others while they fit "
                f"in {FEEDBACK_CELLS:,} cells and {PAGE_CHARS >> 20} MB of text]*"))
            nb.cells = shown
        return nb, resources

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        if cell.get("attachments"):
            return sanitise_html(super().markdown2html(context, source))
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        return MARKDOWN.get_or_make((source, path), lambda: sanitise_html(
            super(FeedbackExporter, self).markdown2html(context, source)))

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.filters.setdefault("highlight_code", CachedHighlight(pygments_lexer=lexer, parent=self))
        parser, html_exporter.BeautifulSoup = html_exporter.BeautifulSoup, _Unparsed
        try:
            return super().from_notebook_node(nb, resources, **kw)
        finally:
            html_exporter.BeautifulSoup = parser
