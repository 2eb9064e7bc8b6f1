"""Release and grade the deep-learning course's notebook exercises.

Student code runs only in sandboxed Jupyter kernels; hidden pytest suites run in the grader
and compare plain data (see DESIGN.md section 4).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Sequence

__version__ = "0.1.0"


class _JsonschemaWithoutIriFormat(importlib.abc.MetaPathFinder):
    """nbformat imports jsonschema, whose ``_format`` module imports ``rfc3987_syntax`` where it
    is installed (jupyter-events, which nbgrader brings, asks for it) to check the "iri" string
    format; that module builds a Lark grammar as it is imported: 1.5 s of every grader command
    that reads a notebook, three times the rest of nbformat's import. No schema the grader
    validates uses that format (nbformat's schemas use none), so while ``jsonschema._format``
    itself is being imported, ``rfc3987_syntax`` is reported missing (jsonschema then leaves
    the format unchecked, as it does where the package is not installed). Nothing else is
    touched: any other module may import rfc3987_syntax, before or after."""

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != "jsonschema._format":
            return None
        sys.meta_path.remove(self)  # one module, once
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        real_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            blocked = "rfc3987_syntax" not in sys.modules
            if blocked:
                sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # -> ImportError
            try:
                real_exec(module)
            finally:
                if blocked and sys.modules.get("rfc3987_syntax", 0) is None:
                    del sys.modules["rfc3987_syntax"]

        loader.exec_module = exec_module
        return spec


if "jsonschema._format" not in sys.modules:
    sys.meta_path.insert(0, _JsonschemaWithoutIriFormat())
