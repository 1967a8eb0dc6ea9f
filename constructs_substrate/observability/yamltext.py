"""A small, deterministic YAML writer for the configs this package renders.

No YAML library at run time (PyYAML is a test dependency only), and full control of
the output: block style, keys in the order given, every string quoted (a JSON double-quoted
scalar, or single-quoted when it holds double quotes), so ``on``, ``1e3`` or ``*``
never turn into something else. Only dicts, lists, strings, ints, floats, bools and ``None`` are accepted.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if '"' in value and "'" not in value and value.isprintable():
            return f"'{value}'"  # JSON in a string stays readable: no backslash escapes
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"YAML keys must be strings, got {key!r}")
    return key if _PLAIN_KEY.match(key) and key not in ("true", "false", "null", "on", "off", "yes", "no") else json.dumps(key)


def _lines(value: Any, indent: str) -> list[str]:
    if isinstance(value, dict):
        if not value:
            return [f"{indent}{{}}"]
        out = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                out.append(f"{indent}{_key(key)}:")
                out += _lines(item, indent + "  ")
            else:
                out.append(f"{indent}{_key(key)}: {_flow(item)}")
        return out
    if isinstance(value, list):
        if not value:
            return [f"{indent}[]"]
        out = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _lines(item, indent + "  ")
                out.append(f"{indent}- {nested[0][len(indent) + 2:]}")
                out += nested[1:]
            else:
                out.append(f"{indent}- {_flow(item)}")
        return out
    return [f"{indent}{_scalar(value)}"]


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(value: dict | list, *, document_start: bool = False) -> str:
    """``value`` as a block-style YAML document ending in a newline; sequences are
    indented under their key (yamllint's default style)."""
    head = ["---"] if document_start else []
    return "\n".join(head + _lines(value, "")) + "\n"
