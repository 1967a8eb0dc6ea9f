"""The generated parts of docs/security.md: the checkov skip table (from
``security/checkov-skips.yaml``) and the systemd hardening table (measured).

    .venv/bin/python tests/gates/security_doc.py     # rewrites docs/security.md

It synthesizes the apps (about a minute) to measure the units their user data
carries. ``test_security_doc.py`` checks the file is current.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov_gate import load_skips, skips_markdown  # noqa: E402
from synthesis import ROOT  # noqa: E402

DOC = ROOT / "docs" / "security.md"
REGENERATE = "run: .venv/bin/python tests/gates/security_doc.py"


def _markers(name: str) -> tuple[str, str]:
    return (f"<!-- generated: {name} ({REGENERATE}) -->", f"<!-- end generated: {name} -->")


def replace_block(text: str, name: str, body: str) -> str:
    start, end = _markers(name)
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"{DOC.name} has no block {start!r} ... {end!r}")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def block(text: str, name: str) -> str:
    start, end = _markers(name)
    match = re.search(re.escape(start) + r"\n(.*?)\n?" + re.escape(end), text, re.S)
    return match.group(1) if match else ""


def render(text: str, scores) -> str:
    import hardening

    text = replace_block(text, "checkov-skips", skips_markdown(load_skips()))
    return replace_block(text, "hardening", hardening.scores_markdown(scores))


def main() -> None:
    import hardening
    from synthesis import booted_files, rendered_user_data, synthesize_all

    with tempfile.TemporaryDirectory() as tmp:
        runs, _ = synthesize_all(Path(tmp) / "apps", determinism=False)
        sources = hardening.node_sources()
        for (app, variant), run in sorted(runs.items()):
            for stack, document in run.stacks.items():
                for address, user_data in rendered_user_data(document):
                    files = booted_files(document, user_data)  # the user data and its bootstrap bundle
                    if files:
                        sources[f"app {app}[{variant}] {stack} {address}"] = files
        scores = hardening.score_sources(sources, Path(tmp) / "units")
    DOC.write_text(render(DOC.read_text(), scores))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
