"""Node versions compared in PromQL, which has no version type.

The node publishes ``substrate_build_info{name, version}`` with a constant 1, the
version a string like ``1.16.1-b2d9c8a1b3e``. PromQL can only compare label values
with regular expressions, so :func:`older_than_regex` builds one RE2 expression that
matches exactly the versions below a minimum, by comparing the numeric components.
It uses character classes only (``[0-9]``, ``[.]``), never backslashes, so it needs no
escaping inside a PromQL string in a YAML file.
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_NUMBER = "(0|[1-9][0-9]*)"
_SUFFIX = "([-+].*)?"
"""What may follow ``MAJOR.MINOR.PATCH``: a commit id (``-b2d9c8a``) or build data."""


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.16.1"`` -> ``(1, 16, 1)``; :class:`ValueError` for anything else."""
    match = _VERSION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a version like '1.16.1'")
    return tuple(int(part) for part in match.groups())  # type: ignore[return-value]


def less_than_regex(limit: int) -> str | None:
    """An RE2 alternation matching the decimal numbers (no leading zeros) in
    ``[0, limit)``, or ``None`` when there are none (``limit == 0``)."""
    if limit <= 0:
        return None
    digits = str(limit)
    options = []
    if len(digits) > 1:
        options.append("[0-9]")  # every one-digit number, 0 included
        options += [f"[1-9][0-9]{{{width - 1}}}" for width in range(2, len(digits))]
    for position, digit in enumerate(digits):
        low = 1 if position == 0 and len(digits) > 1 else 0
        high = int(digit) - 1
        if high >= low:
            rest = len(digits) - position - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            options.append(f"{digits[:position]}[{low}-{high}]{tail}")
    return "(" + "|".join(options) + ")"


def older_than_regex(minimum: str) -> str:
    """An RE2 pattern (anchored by PromQL) matching every version string whose
    ``MAJOR.MINOR.PATCH`` is below ``minimum``, with or without a ``-commit`` suffix,
    e.g. ``older_than_regex("1.2.0")`` matches ``0.9.43`` and ``1.1.7-abc`` but not
    ``1.2.0`` or ``1.10.0``. ``minimum`` must be above ``0.0.0``."""
    major, minor, patch = parse_version(minimum)
    branches = []
    for prefix, number, free in (
        ("", major, 2),
        (f"{major}[.]", minor, 1),
        (f"{major}[.]{minor}[.]", patch, 0),
    ):
        below = less_than_regex(number)
        if below is not None:
            branches.append(prefix + below + "".join(f"[.]{_NUMBER}" for _ in range(free)))
    if not branches:
        raise ValueError("no version is older than 0.0.0; give a real minimum like '1.16.0'")
    return "(" + "|".join(branches) + ")" + _SUFFIX
