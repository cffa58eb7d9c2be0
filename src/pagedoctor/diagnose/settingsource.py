"""Where a setting is written: the line of the settings module a settings fix changes."""

from __future__ import annotations

import ast
import importlib.util
import os
from pathlib import Path

from django.conf import settings

from pagedoctor.diagnose.findings import Where

# Settings modules often start with ``from .base import *``: follow that far, no further.
_DEPTH = 3


def settings_file() -> str | None:
    """Return the file of the settings module in use, or None if it has none."""
    name = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE")
    return _module_file(name) if name else None


def setting_place(name: str) -> Where | None:
    """Return where ``name`` is last assigned in the settings module or what it star-imports."""
    module = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE")
    return _find(module, name, _DEPTH) if module else None


def _module_file(module: str) -> str | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    return origin if origin and origin.endswith(".py") else None


def _find(module: str, name: str, depth: int) -> Where | None:
    file = _module_file(module)
    if file is None:
        return None
    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    package = module if file.endswith("__init__.py") else module.rpartition(".")[0]
    found: Where | None = None
    for node in tree.body:
        if _assigns(node, name):
            found = Where(file, node.lineno)
        elif depth > 1 and isinstance(node, ast.ImportFrom) and node.names[0].name == "*":
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            found = _find(base, name, depth - 1) or found
    return found


def _assigns(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return False
