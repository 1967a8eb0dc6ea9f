"""The package's text templates (``templates/``) with ``@{name}`` placeholders, the
same syntax as :mod:`constructs_substrate.bootstrap.templating`: shell scripts, systemd
drop-ins and the documentation page are full of ``$`` and ``{``."""

from __future__ import annotations

import shlex
import string
from importlib.resources import files


class _Template(string.Template):
    """``@{name}`` placeholders, as in :mod:`constructs_substrate.bootstrap.templating`."""

    delimiter = "@"
    pattern = r"@(?:(?P<escaped>@(?=\{))|\{(?P<braced>[a-z_][a-z0-9_]*)\}|(?P<named>(?!))|(?P<invalid>(?!)))"


def _template(name: str) -> str:
    return files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def render_template(name: str, *, shell: bool, **values: object) -> str:
    """``templates/<name>`` filled in; in shell scripts every value is shell-quoted."""
    quote = shlex.quote if shell else str
    return _Template(_template(name)).substitute({k: quote(str(v)) for k, v in values.items()})
