"""Text that Terraform must keep as written.

Terraform reads every string of the synthesized JSON as a template: ``${...}`` is an
interpolation and ``%{...}`` a directive, so a shell script inside a resource argument
(an SSM document's ``content``) would be evaluated by Terraform, and fails to plan
("Extra characters after interpolation"). ``$${`` and ``%%{`` are Terraform's escapes
for the literal sequences (Terraform language docs, "Strings and Templates":
"Escape Sequences"; the JSON syntax evaluates strings the same way).
"""

from __future__ import annotations


def literal(text: str) -> str:
    """``text`` escaped so Terraform passes it on byte for byte."""
    return text.replace("${", "$${").replace("%{", "%%{")
