"""The ``#cloud-config`` YAML text, written by hand (no YAML library at runtime).

Scalars are JSON strings (valid YAML double-quoted scalars, always safe). File
contents are literal blocks (``|``), so the user data stays readable on the host
(``/var/lib/cloud/instance/user-data.txt``) and compresses well; contents a literal
block cannot carry exactly fall back to a double-quoted scalar.
"""

from __future__ import annotations

import json
import re
from typing import Sequence

from .model import RenderedFile

# Characters a literal block would not reproduce: CR and YAML's other line breaks,
# non-printable controls (tab is allowed), and a byte-order mark.
_NOT_LITERAL = re.compile("[\r\x85\u2028\u2029\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _scalar(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _content(text: str, indent: str) -> str:
    if not text or _NOT_LITERAL.search(text):
        return _scalar(text)
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = {0: "-", 1: ""}.get(trailing, "+")
    # An explicit indentation indicator when the first line itself starts with a space.
    indicator = "2" if body[:1] in (" ", "\n") else ""
    lines = text.split("\n")[:-1] if trailing else text.split("\n")
    return f"|{indicator}{chomp}\n" + "\n".join(
        f"{indent}{line}" if line else "" for line in lines
    )


def _file(item: RenderedFile) -> str:
    lines = [
        f"  - path: {_scalar(item.path)}",
        f"    owner: {_scalar(item.owner)}",
        f"    permissions: {_scalar(item.mode)}",
    ]
    if item.owner != "root:root":
        # write_files runs before cloud-init creates users; defer to the final stage.
        lines.append("    defer: true")
    lines.append(f"    content: {_content(item.content, '      ')}")
    return "\n".join(lines)


def render_cloud_config(
    packages: Sequence[str],
    user: str,
    files: Sequence[RenderedFile],
    runcmd: Sequence[str],
) -> str:
    parts = [
        "#cloud-config",
        "# Rendered by constructs_substrate.bootstrap; progress is logged to",
        "# /var/log/cloud-init-output.log. See docs/bootstrap.md.",
        "package_update: true",
        "packages:",
        *(f"  - {_scalar(p)}" for p in packages),
        "users:",
        "  - default",
        f"  - name: {_scalar(user)}",
        "    system: true",
        "    shell: /usr/sbin/nologin",
        "    lock_passwd: true",
        "    no_create_home: true",
        "write_files:",
        *(_file(item) for item in files),
        "runcmd:",
        f"  - [{', '.join(_scalar(arg) for arg in runcmd)}]",
    ]
    return "\n".join(parts) + "\n"
