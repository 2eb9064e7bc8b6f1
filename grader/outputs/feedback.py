"""Per-student feedback HTML (``feedback/<student>.html``): the executed notebook and a table
of tests.

The table shows each test's name, points and failure message. It never contains hidden test
source: messages are assertion texts and exception summaries only (see hidden_tests.py).
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from ..results import GradeResult
from ..util import fmt_points

_EXPORTER = None


TEMPLATES = Path(__file__).with_name("templates")


def _remembered(seen: dict, key: Any, compute: Any, size: int = 4096) -> str:
    """``seen[key]``, computed on first use; most cells are the same in every submission."""
    hit = seen.get(key)
    if hit is None:
        if len(seen) >= size:
            seen.clear()
        hit = seen[key] = compute()
    return hit


class _Memo:
    """nbconvert's highlight_code filter, remembered per cell source."""

    def __init__(self, highlight: Any, lexer: str | None, seen: dict):
        self.highlight, self.lexer, self.seen = highlight, lexer, seen

    def __call__(self, source: str, language: str | None = None, metadata: Any = None) -> str:
        # of the metadata, nbconvert's highlighter reads only "magics_language"
        magics = metadata.get("magics_language") if isinstance(metadata, dict) else None
        return _remembered(self.seen, (source, self.lexer, language, magics),
                           lambda: self.highlight(source, language=language, metadata=metadata))


def _exporter() -> Any:
    """nbconvert's HTMLExporter with JupyterLab's look (template ``grader_feedback``, see its
    comment), and without the BeautifulSoup pass that HTMLExporter
    makes over the finished page (it only adds image alt texts and tab stops, and cost more
    than half of the rendering time)."""
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter
        from nbconvert.exporters.templateexporter import TemplateExporter

        from jinja2 import pass_context

        class FeedbackExporter(HTMLExporter):
            highlighted: dict = {}
            rendered: dict = {}
            cleaned: dict = {}

            def _validate_preprocessor(self, nbc, preprocessor):  # noqa: ANN001, ANN202
                """nbconvert validates the whole notebook after each of its ~12 preprocessors:
                60 % of the rendering time (20 -> 8 ms a page, same page). The grader's
                notebooks are validated when written (``nbformat.writes``), and nbconvert's
                stock preprocessors keep a notebook valid."""

            def default_filters(self):  # noqa: ANN201
                """nbconvert's filters, but clean_html keeps what notebook markdown uses
                (nbconvert's own allows no paragraph, heading or image) and is remembered per
                text."""
                for name, value in super().default_filters():
                    if name == "clean_html":
                        seen = self.cleaned
                        value = lambda text, _s=seen: _remembered(  # noqa: E731
                            _s, _text(text), lambda: math_to_mathml(clean_html(text)))
                    yield name, value

            @pass_context
            def markdown2html(self, context, source):  # noqa: ANN001, ANN201
                """Remembered per text: the markdown cells are the same in every submission."""
                cell = context.get("cell", {})
                key = (source, json.dumps(cell.get("attachments", {}), sort_keys=True, default=str),
                       context.get("resources", {}).get("metadata", {}).get("path", ""))
                return _remembered(self.rendered, key,
                                   lambda: HTMLExporter.markdown2html(self, context, source))

            def from_notebook_node(self, nb, resources=None, **kw):  # noqa: ANN001, ANN201
                try:  # HTMLExporter.from_notebook_node up to its BeautifulSoup pass (nbconvert 7)
                    from nbconvert.filters.highlight import Highlight2HTML
                    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
                    langinfo = nb.metadata.get("language_info", {})
                    lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
                    highlight = self.filters.get("highlight_code",
                                                 Highlight2HTML(pygments_lexer=lexer, parent=self))
                    resources = self._init_resources(resources)
                    data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                      parent=self, resources=resources)
                except (ImportError, AttributeError, TypeError):  # another nbconvert: its own way
                    return super().from_notebook_node(nb, resources, **kw)
                self.register_filter("highlight_code", _Memo(highlight, lexer, self.highlighted))
                self.register_filter("filter_data_type", data_type)
                return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        # the page shows what a student wrote to TAs and students: with sanitize_html the
        # template passes markdown and HTML outputs through clean_html (ours, below) and drops
        # JavaScript outputs; CSP bars every script but MathJax's (see feedback_html)
        _EXPORTER = FeedbackExporter(template_name="grader_feedback", sanitize_html=True,
                                     extra_template_basedirs=[str(TEMPLATES)])
        _EXPORTER.exclude_input_prompt = False
    return _EXPORTER


_CLEANER = None
SAFE_TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
             "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
             "img", "kbd", "li", "ol", "p", "pre", "s", "samp", "small", "span", "strong", "sub",
             "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
SAFE_ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href", "title"],
                   "img": ["src", "alt", "width", "height"], "td": ["colspan", "rowspan", "align"],
                   "th": ["colspan", "rowspan", "align"], "ol": ["start"]}


def clean_html(text: Any) -> str:
    """Student HTML made safe to show: bleach with the tags notebook markdown and HTML outputs
    use; scripts, event handlers, styles, frames, forms and javascript: links are removed or
    escaped."""
    global _CLEANER
    if _CLEANER is None:
        import bleach
        _CLEANER = bleach.Cleaner(tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES,
                                  protocols={"http", "https", "mailto"}, strip=False)
    return _CLEANER.clean(_text(text))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# TeX between $$...$$, \[...\], $...$ or \(...\) (MathJax's delimiters in Jupyter), outside
# <code> and <pre>; a $ escaped as \$ or followed by a space (prices) opens nothing
_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<![\\$\w])\$(?=\S)([^$<>]*?[^\s\\$])\$(?![\w$])|\\\((.+?)\\\)",
                   re.DOTALL)
_VERBATIM = re.compile(r"(<(pre|code)\b.*?</\2>)", re.DOTALL | re.IGNORECASE)


def _mathml(match: re.Match) -> str:
    from latex2mathml.converter import convert
    display, bracket, inline, paren = match.groups()
    tex = html.unescape(display or bracket or inline or paren)
    try:
        return convert(tex, display="block" if (display or bracket) else "inline")
    except Exception:  # noqa: BLE001 - TeX it cannot read stays as the student wrote it
        return match.group(0)


def math_to_mathml(text: str) -> str:
    """Math in (already sanitized) HTML rendered to MathML, which browsers draw natively: the
    page needs no script and no network to show it. latex2mathml builds the MathML with an
    XML writer, so the TeX cannot inject markup."""
    if "$" not in text and "\\(" not in text and "\\[" not in text:
        return text
    parts = _VERBATIM.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 3 == 0:
            out.append(_MATH.sub(_mathml, part))
        elif i % 3 == 1:
            out.append(part)
    return "".join(out)


def summary_html(result: GradeResult, context: dict[str, str] | None = None) -> str:
    context = context or {}
    not_graded = [t for t in result.tests if t.message.startswith("not graded: ")]
    once = bool(result.tests) and len(not_graded) == len(result.tests)   # the same reason in every row
    rows = []
    for test in result.tests:
        ok = test.status == "passed"
        rows.append(
            "<tr class='{cls}'><td>{mark}</td><td>{name}</td><td>{score} / {max}</td><td>{msg}</td></tr>"
            .format(cls="pass" if ok else "fail", mark="&#10004;" if ok else "&#10008;",
                    name=html.escape(test.name), score=fmt_points(test.score),
                    max=fmt_points(test.max_score), msg="" if once else html.escape(test.message or "")))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    checks = "".join(
        f"<li>{html.escape(str(c['id']))}: {html.escape(c['status'])}"
        f"{(' - ' + html.escape(c['message'])) if c.get('message') else ''}</li>"
        for c in result.public_checks)
    reason = result.reason
    failed = next((c for c in result.cells if c.get("status") == "error"), None)
    cause = ""
    if failed is not None:
        where = failed.get("cell") or f"cell {failed.get('index')}"
        cause = (f"<p class='cause'><b>The first cell that failed: {html.escape(where)}</b> raised "
                 f"<code>{html.escape(str(failed.get('error')))}"
                 f"{': ' + html.escape(str(failed['message'])) if failed.get('message') else ''}</code>. "
                 "Tests that use what it defines fail too; fix it first (it is marked below).</p>")
    if once:
        advice = ("This is the grader's fault, not yours: it will be graded again." if str(result.status) == "error"
                  else "What to do: hand in the notebook of this exercise as Jupyter saved it (a <code>.ipynb</code> "
                       "file, the one you were given, with your answers in it), then ask for a regrade.")
        cause = (f"<p class='cause'><b>Your notebook was not graded:</b> {html.escape(reason or '')}.</p>"
                 f"<p>{advice} None of the tests below could run.</p>")
        reason = None
    graded = (result.graded_at or "")[:16].replace("T", " ")
    meta = " &middot; ".join(html.escape(x) for x in (context.get("course", ""), context.get("title", ""),
                                                         f"graded {graded} UTC" if graded else "",
                                                         f"grader {result.grader_version}" if result.grader_version
                                                         else "") if x)
    return f"""
<section id="grader-feedback" style="font-family: sans-serif; margin: 1em 2em;">
<style>
#grader-feedback table {{ border-collapse: collapse; margin: .5em 0; }}
#grader-feedback td, #grader-feedback th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
#grader-feedback tr.pass td:first-child {{ color: #1a7f37; }}
#grader-feedback tr.fail td:first-child {{ color: #cf222e; }}
#grader-feedback p.cause {{ border-left: 4px solid #cf222e; background: #fff5f5; padding: .5em 1em; }}
</style>
<h1>{html.escape(result.exercise)}: {html.escape(result.student)}</h1>
{f'<p class="meta" style="color:#57606a">{meta}</p>' if meta else ''}
<p><b>Score: {fmt_points(result.score)} / {fmt_points(result.max_score)}</b>
 &mdash; status: {html.escape(str(result.status))}{(' &mdash; ' + html.escape(reason)) if reason else ''}</p>
{cause}
{f'<p>Notes on your submission:</p><ul>{notes}</ul>' if notes else ''}
<table><tr><th></th><th>Test</th><th>Points</th><th>{'' if once else 'What went wrong'}</th></tr>{''.join(rows)}</table>
{f'<p>Public checks in your notebook:</p><ul>{checks}</ul>' if checks else ''}
{'' if once else '<p>Below is your notebook as the grader ran it.</p>'}
<hr/>
</section>
"""


# Defence in depth for pages that show student content: no script runs at all (math is MathML
# made when the page is built), nothing is fetched, plugins, forms and <base> are refused;
# styles and images may be inline (the page's CSS, the notebook's plots).
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
       "base-uri 'none'; form-action 'none'")
_CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'


def page_context(spec: Any) -> dict[str, str]:
    """What a feedback page says about where it comes from: the course and the exercise's title."""
    return {"course": spec.course.name, "title": spec.title}


IMAGE_BYTES = 100_000   # a plot larger than this (base64) is downscaled for the page
IMAGE_SIDE = 900


def _small_image(data: str) -> str:
    """A base64 PNG/JPEG made at most IMAGE_SIDE pixels on a side (the page only, not the
    executed notebook); an image it cannot read is kept as it is."""
    import base64
    import io

    from PIL import Image
    try:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        if max(image.size) <= IMAGE_SIDE:
            return data
        fmt = image.format or "PNG"
        image.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
        buf = io.BytesIO()
        image.save(buf, format=fmt, optimize=True)
        small = base64.b64encode(buf.getvalue()).decode()
        return small if len(small) < len(data) else data
    except Exception:  # noqa: BLE001 - a broken image is shown as the student's notebook has it
        return data


def _downscaled(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    big = [(o, mime) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
           for mime in ("image/png", "image/jpeg")
           if isinstance(o.get("data", {}).get(mime), str) and len(o["data"][mime]) > IMAGE_BYTES]
    if not big:
        return nb
    import copy
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for mime in ("image/png", "image/jpeg"):
                data = output.get("data", {}).get(mime)
                if isinstance(data, str) and len(data) > IMAGE_BYTES:
                    output["data"][mime] = _small_image(data)
    return nb


def warm() -> None:
    """Import nbconvert, load the page's templates and compile them (about two seconds, once per
    process) by rendering a tiny page: the grader does it before its workers fork, so none of
    them pays it on its first submission."""
    from ..results import Status
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("A formula: $x^2$"),
                                         nbformat.v4.new_code_cell("print(1)")])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    feedback_html(nb, GradeResult(exercise="warm-up", student="warm-up", status=Status.GRADED, tests=[]))


def feedback_html(executed: nbformat.NotebookNode | None, result: GradeResult,
                  context: dict[str, str] | None = None) -> str:
    """The student's page; ``context`` may name the ``course`` and the exercise's ``title``.
    Plots larger than IMAGE_SIDE pixels are downscaled on the page."""
    summary = summary_html(result, context)
    if executed is None:
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{_CSP_META}</head>"
                f"<body>{summary}</body></html>")
    body, _ = _exporter().from_notebook_node(_downscaled(executed))
    head = body.find("<head>")
    if head != -1:  # first thing in <head>: it must come before any script
        body = body[:head + 6] + _CSP_META + body[head + 6:]
    marker = body.find("<body")
    if marker == -1:
        return _CSP_META + summary + body
    end = body.find(">", marker) + 1
    return body[:end] + summary + body[end:]
