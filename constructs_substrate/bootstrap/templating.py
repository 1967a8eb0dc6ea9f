"""Loading the template files and filling their ``@{name}`` placeholders.

Templates use ``@{name}`` rather than ``string.Template``'s ``$name`` because shell
scripts and nginx configs are full of ``$``. Only the braced form is a placeholder,
so ``"$@"`` in a script stays as it is; a missing value is an error, never an empty
string.
"""

from __future__ import annotations

import re
import shlex
import string
from importlib.resources import files
from typing import Mapping, Sequence


class _Template(string.Template):
    delimiter = "@"
    pattern = r"""
        @(?:
          (?P<escaped>@(?=\{))           |  # @@{ renders a literal @{
          \{(?P<braced>[a-z_][a-z0-9_]*)\} |
          (?P<named>(?!))                |  # bare @name is not a placeholder
          (?P<invalid>(?!))
        )
    """


# Whole-line comments, except a shebang and shellcheck directives (tests run shellcheck
# on what is shipped).
_COMMENT_LINE = re.compile(r"^[ \t]*#(?!!|[ \t]*shellcheck )")


def without_comments(text: str, source: str) -> str:
    """What goes into the user data: ``text`` without whole-line comments, plus one
    line pointing at ``source``, the commented original in the library. The comments
    explain the scripts to their readers; on the host they would cost ~1.5 KB of the
    16 KiB user data."""
    lines = [line for line in text.split("\n") if not _COMMENT_LINE.match(line)]
    note = f"# Commented source: {source} (docs/bootstrap.md)"
    at = 1 if text.startswith("#!") else 0
    return "\n".join(lines[:at] + [note] + lines[at:])


def shipped(name: str, text: str) -> str:
    """``templates/<name>`` as it goes into the user data."""
    return without_comments(text, f"constructs_substrate/bootstrap/templates/{name}")


def template(name: str) -> str:
    """The text of ``templates/<name>``."""
    return files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def render(name: str, /, **values: object) -> str:
    """``templates/<name>`` with every placeholder replaced by ``str(value)``.
    For units and nginx configs, whose values the config validators restrict."""
    return _Template(template(name)).substitute({k: str(v) for k, v in values.items()})


def render_unit(name: str, /, **values: object) -> str:
    """A systemd unit template, rendered and :func:`shipped`."""
    return shipped(name, render(name, **values))


def render_shell(name: str, /, **values: str) -> str:
    """A shell template, rendered and :func:`shipped`: every value is shell-quoted,
    whatever the validators allowed."""
    text = _Template(template(name)).substitute({k: shlex.quote(v) for k, v in values.items()})
    return shipped(name, text)


def shell_assignments(values: Mapping[str, str | int | bool | Sequence[str]]) -> str:
    """``NAME=value`` lines for a file sourced by bash; sequences become arrays,
    booleans ``1``/``0``. Every value is quoted with :func:`shlex.quote`."""
    lines = []
    for name, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{name}={int(value)}")
        elif isinstance(value, (str, int)):
            lines.append(f"{name}={shlex.quote(str(value))}")
        else:
            lines.append(f"{name}=({' '.join(shlex.quote(v) for v in value)})")
    return "\n".join(lines) + "\n"
