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
    for kept in ("<h1", "<em>text</em>", "x^2", "<th>h</th>", "<strong>bold</strong>", f"data:image/png;base64,{png}"):
        assert kept in body, kept
    head = page[:page.find("<body")]
    assert f'content="{CSP}"' in head and head.find("Content-Security-Policy") < head.find("<script")
    assert "script-src https://cdnjs.cloudflare.com/ajax/libs/mathjax/;" in CSP and "'unsafe-inline'" not in CSP.split("style-src")[0]
    # the page for a notebook that could not be run carries the policy too
    assert "Content-Security-Policy" in feedback_html(None, result)
