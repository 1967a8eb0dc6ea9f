"""DNS name checks shared by node records, TLS certificates and global endpoints."""

from __future__ import annotations

import re

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def check_domain(value: str) -> str:
    """Return ``value`` lower-cased and without a trailing dot, or raise ``ValueError``."""
    name = value.strip().rstrip(".").lower()
    labels = name.split(".")
    if (
        len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(
            f"{value!r} is not a valid DNS name: use dot-separated labels of letters, digits "
            "and inner hyphens, e.g. 'rpc.example.com'"
        )
    return name


def is_within(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` itself or a name below it."""
    return name == zone or name.endswith("." + zone)


_MAILBOX = re.compile(r"^[^@\s'\"`$\\,;<>()\[\]]{1,64}$")


def check_email(value: str) -> str:
    """Return an e-mail address (its domain lower-cased, like :func:`check_domain`),
    or raise ``ValueError`` saying what to type."""
    local, at, domain = value.strip().rpartition("@") if isinstance(value, str) else ("", "", "")
    try:
        if not at or not _MAILBOX.match(local):
            raise ValueError
        domain = check_domain(domain)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an e-mail address: give a mailbox at a DNS name, e.g. 'ops@example.com'"
        ) from None
    return f"{local}@{domain}"
