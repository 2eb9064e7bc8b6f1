"""Feedback pages (outputs.feedback)."""
from __future__ import annotations

from grader.results import GradeResult



def test_feedback_pages_show_student_html_without_running_it():
    """A feedback page shows what a student wrote to whoever opens it (TAs, the student): no
    script, event handler, frame or javascript: link survives, CSP bars scripts anyway, and
    ordinary markdown and HTML still render."""
    import re

    import nbformat

    from grader.outputs.feedback import CSP, feedback_html
    v4 = nbformat.v4
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Title\n\nSome *text* and $x^2$.\n\n<script>alert('md')</script>"
                             "<img src=x onerror=\"alert('img')\"> <a href=\"javascript:alert(3)\">a</a>"),
        v4.new_code_cell("show()", outputs=[
            v4.new_output("display_data", data={"text/html": "<table><tr><th>h</th></tr></table>"
                                                             "<script>alert('out')</script><iframe src='//x'></iframe>"
                                                             "<div onclick='alert(4)'>d</div>"}),
            v4.new_output("display_data", data={"application/javascript": "alert('js')"}),
            v4.new_output("display_data", data={"text/markdown": "<svg onload=alert(5)></svg> **bold**"}),
            v4.new_output("display_data", data={"image/png": png}),
        ]),
    ])
    result = {"score": 1, "tests": [{"name": "<b>t</b>", "score": 0, "max_score": 1, "status": "failed",
                                     "output": "<script>alert('msg')</script>"}],
              "extra_data": {"exercise": "e", "student": "<i>s</i>", "status": "graded", "max_score": 2}}
    result = GradeResult.from_gradescope(result)
    page = feedback_html(nb, result)
    body = page[page.find("<body"):]
    assert not re.findall(r"<script", body), "a script in the page body"
    assert not re.findall(r"<[^>]+\son\w+\s*=", body), "an event handler survived"
    assert "<iframe" not in body and "javascript:" not in body
    assert "alert('js')" not in body  # JavaScript outputs are dropped, not escaped
    # ordinary content still renders
    for kept in ("<h1", "<em>text</em>", "<th>h</th>", "<strong>bold</strong>", f"data:image/png;base64,{png}"):
        assert kept in body, kept
    # math is MathML made here: no script, nothing fetched
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><msup><mi>x</mi><mn>2</mn>' in body
    head = page[:page.find("<body")]
    assert f'content="{CSP}"' in head and "<script" not in page and "script-src" not in CSP
    assert not re.search(r"""<[^>]+\s(src|href)=["']?(https?:)?//""", page), "the page fetches something"
    assert len(page) < 60_000, f"a small notebook's page should be small, got {len(page)} bytes"
    # the page for a notebook that could not be run carries the policy too
    assert "Content-Security-Policy" in feedback_html(None, result)


def test_math_becomes_mathml_outside_code():
    from grader.outputs.feedback import math_to_mathml
    out = math_to_mathml("costs $5 and $6; <code>$y$</code> <pre>$$z$$</pre> $a &lt; b$ and $$\\frac{1}{n}$$")
    assert out.startswith("costs $5 and $6; <code>$y$</code> <pre>$$z$$</pre> <math")
    assert "<mo>&#x0003C;</mo>" in out and 'display="block"><mrow><mfrac>' in out
    assert math_to_mathml("$\\notacommand{$") == "$\\notacommand{$"   # what it cannot read stays as written


def test_a_page_that_could_not_be_graded_says_why_once():
    from grader.outputs.feedback import feedback_html
    result = GradeResult.from_gradescope({"score": 0, "tests": [
        {"id": f"t{i}", "name": f"test {i}", "score": 0, "max_score": 1, "status": "failed",
         "output": "not graded: the file is not a notebook (invalid JSON)"} for i in range(4)],
        "extra_data": {"exercise": "week02_autograd", "student": "ann", "status": "invalid",
                       "reason": "the file is not a notebook (invalid JSON)", "max_score": 4,
                       "graded_at": "2026-12-01T10:00:00+00:00", "grader_version": "0.1.0"}})
    page = feedback_html(None, result, {"course": "Deep Learning", "title": "Autograd"})
    assert page.count("the file is not a notebook (invalid JSON)") == 1
    assert "What to do: hand in the notebook of this exercise" in page
    assert "Deep Learning &middot; Autograd &middot; graded 2026-12-01 10:00 UTC &middot; grader 0.1.0" in page


def test_large_plots_are_downscaled_on_the_page_only():
    import base64
    import io

    import nbformat
    import numpy as np
    from PIL import Image

    from grader.outputs.feedback import IMAGE_SIDE, feedback_html
    noise = np.random.default_rng(0).integers(0, 256, (1400, 2000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")
    big = base64.b64encode(buf.getvalue()).decode()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot()", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": big})])])
    result = GradeResult.from_gradescope({"score": 0, "tests": [], "extra_data": {
        "exercise": "e", "student": "s", "status": "graded", "max_score": 0}})
    page = feedback_html(nb, result)
    assert big not in page and len(page) < len(big) / 2
    shown = page.split("data:image/png;base64,")[1].split('"')[0]
    assert max(Image.open(io.BytesIO(base64.b64decode(shown))).size) == IMAGE_SIDE
    assert nb.cells[0].outputs[0].data["image/png"] == big   # the executed notebook keeps the original


def test_warming_the_page_compiles_the_templates_once():
    """Grader.prepare() warms the page before its workers fork (the first page cost ~2 s each)."""
    from grader.outputs import feedback
    feedback.warm()
    assert feedback._EXPORTER is not None
    exporter = feedback._EXPORTER
    feedback.warm()
    assert feedback._EXPORTER is exporter, "the exporter (and its compiled templates) is kept"
