"""Release and grade the deep-learning course's notebook exercises.

Student code runs only in sandboxed Jupyter kernels; hidden pytest suites run in the grader
and compare plain data (see DESIGN.md section 4).
"""
__version__ = "0.1.0"
