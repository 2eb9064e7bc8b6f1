"""What a notebook's cells are, by their nbgrader metadata, and what a notebook imports.

nbgrader's cell metadata (``metadata.nbgrader``: ``grade_id``, ``solution``, ``locked``,
``grade``, ``points``) says which cells students write, which are locked and which are public
checks (DESIGN.md section 3). The import scan finds the heavy libraries a notebook or a hidden
suite uses, so warm kernels and grader processes can load them ahead of time, and the student
kit can depend on them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell: Any) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_solution(cell: Any) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_locked(cell: Any) -> bool:
    meta = nbgrader_meta(cell)
    if meta.get("solution"):
        return False
    return bool(meta.get("locked") or meta.get("grade"))


def is_public_check(cell: Any) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


HEAVY_MODULES = ("torch", "torchvision", "numpy", "matplotlib", "matplotlib.pyplot", "scipy",
                 "sklearn", "skimage", "transformers", "pandas", "PIL")
# Packages that import their contents lazily: importing the package loads almost nothing, so the
# warm kernel also loads what any use of it pulls in (transformers: 2 s of CPU for modeling_utils,
# which every model class imports; torch: 1.2-1.6 s for torch._dynamo, which the first optimiser
# a notebook or a hidden test builds imports; transformers.trainer: 0.6-2.5 s more for `Trainer`,
# which week09_hf_metrics uses, with the parts of accelerate it imports). None starts a thread or
# initialises CUDA.
LAZY_CONTENTS = {"transformers": ("transformers.modeling_utils", "transformers.trainer"), "torch": ("torch._dynamo",)}


# Libraries a notebook may import only on some paths (outside FAST mode, say): not preloaded,
# but a student's environment needs them all the same (the student kit installs them);
# accelerate: transformers.Trainer needs it and transformers does not require it (week09_hf_metrics)
OTHER_LIBRARIES = ("torchmetrics", "tokenizers", "accelerate")


def preload_modules(notebook: nbformat.NotebookNode) -> list[str]:
    """Heavy libraries the reference notebook imports: warm kernels load them while booting."""
    return _heavy_imports(cell.source for cell in notebook.cells if cell.cell_type == "code")


def notebook_libraries(notebook: nbformat.NotebookNode) -> list[str]:
    """The third-party libraries (top-level import names) the notebook needs to run."""
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return [m for m in _heavy_imports(sources, HEAVY_MODULES + OTHER_LIBRARIES, lazy=False) if "." not in m]


def test_imports(tests_dir: Path) -> list[str]:
    """Heavy libraries the hidden tests import, at the top or inside a test (the grader process
    loads them before it forks its workers, or a worker before its first submission): the
    preloaded kinds and the other libraries of OTHER_LIBRARIES. week08's FID oracle imports
    ``torchmetrics.image.fid`` inside its helper, 3.5 s of CPU that every worker paid again on its
    first submission."""
    return _heavy_imports((p.read_text(encoding="utf-8", errors="replace")
                           for p in sorted(tests_dir.rglob("*.py")) if "__pycache__" not in p.parts),
                          HEAVY_MODULES + OTHER_LIBRARIES)


def _heavy_imports(sources: Any, wanted: tuple[str, ...] = HEAVY_MODULES, lazy: bool = True) -> list[str]:
    """The wanted libraries the sources import, in order. With ``lazy``, also what importing them
    leaves unloaded: LAZY_CONTENTS, and the submodules the sources name (``import skimage.filters``,
    ``from skimage import filters``; scikit-image and scipy load those only when first used)."""
    import ast
    found: list[str] = []

    def add(name: str) -> None:
        if name not in found:
            found.append(name)
            if lazy:
                found.extend(m for m in LAZY_CONTENTS.get(name, ()) if m not in found)

    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
                if lazy and node.module in wanted:
                    names += [f"{node.module}.{a.name}" for a in node.names if _is_submodule(f"{node.module}.{a.name}")]
            else:
                names = []
            for name in names:
                root = name.split(".")[0]
                if root in wanted:
                    add(root)
                    if name in wanted or (lazy and name != root):
                        add(name)
    return found


def _is_submodule(name: str) -> bool:
    """Whether ``name`` is a module that can be found (its parent package is imported to look)."""
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False
