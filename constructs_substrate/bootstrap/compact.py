"""A smaller, equivalent copy of a Python script for the 16 KiB user data.

The readiness probe and the lifecycle client are documented at length in the library
(docstrings, comments, docs/); on the host only their code matters, and Python is the
largest part of a cluster instance's user data (the probe alone was a third of it).
:func:`compact_python` ships them minified by ``python-minifier`` (pinned: its output is
user data, and a different output rolls every fleet): docstrings and comments removed,
local names shortened, annotations outside classes dropped; module-level names, string
literals and so every log line stay as written. Checked here: the result compiles and
defines the same module-level names; tests run the shipped copies for real.

Deterministic across the build machine's Python (3.10-3.13 give the same bytes): the
one construct python-minifier prints differently from 3.12 on is a string literal
inside an f-string replacement field (3.12 allows nesting the same quotes), so such
sources are refused with the line to change.
"""

from __future__ import annotations

import ast
import functools
from importlib.resources import files as package_files

import python_minifier

def _version_dependent(tree: ast.AST) -> list[int]:
    """Lines with a string literal inside an f-string replacement field."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FormattedValue):
            if any(isinstance(sub, ast.Constant) and isinstance(sub.value, str) for sub in ast.walk(node.value)):
                lines.append(node.lineno)
    return sorted(set(lines))


def _module_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def compact_python(source: str, origin: str) -> str:
    """``source`` minified, after one comment line naming ``origin``, the documented
    source in the library.

    Raises ``ValueError`` for a source that would minify differently on another Python
    and when the result does not define the same module-level names.
    """
    tree = ast.parse(source)
    nested = _version_dependent(tree)
    if nested:
        raise ValueError(
            f"string literal inside an f-string replacement field on line(s) {nested}: "
            "Python 3.12+ would ship other bytes; move the literal into a variable"
        )
    minified = python_minifier.minify(
        source,
        remove_literal_statements=True,  # docstrings, attribute docstrings
        hoist_literals=False,  # hoisting helps raw size but costs gzip bytes
        rename_globals=False,  # module names stay readable in tracebacks and logs
    )
    compact = f"# Minified {origin}; documented source: the library.\n{minified}\n"
    shipped = ast.parse(compact)  # raises SyntaxError if the minifier broke it
    if _module_names(shipped) != _module_names(tree):
        raise ValueError("compacting changed the module's names; ship the source verbatim")
    return compact


@functools.cache  # compacting parses the source: once per process, not per node
def compact_module(package: str, name: str) -> str:
    """The module ``name`` of ``package`` (e.g. ``lifecycle_action.py`` of
    ``constructs_substrate.cluster``) as shipped: :func:`compact_python` of its source."""
    source = package_files(package).joinpath(name).read_text(encoding="utf-8")
    return compact_python(source, f"{package.replace('.', '/')}/{name}")
