"""The grading pipeline, one module per stage (DESIGN.md §4):

discover -> sanitize -> parameterize -> execute -> suite (probe) -> score, with the reference
solution's answers (``reference``), fingerprints for resuming (``fingerprint``), the per-process
:class:`~grader.pipeline.grader.Grader` that runs the stages for one submission, and the
student's `grader check` (``check``)."""
