"""Scratch copies of synthesized stacks, laid out as ``cdktf.out`` is.

``<root>/cdktf.out/stacks/<stack>/cdk.tf.json``: the apps' local backends
(``../../../terraform.<stack>.tfstate``) and the global stack's
``terraform_remote_state`` paths are relative to the stack folder, so in this layout
every state file lands in ``<root>`` and nothing reaches the repository.
The copy is rewritten for the mirror's provider (:mod:`provider_skew`); the
library's output itself is never touched.
"""

from __future__ import annotations

import json
from pathlib import Path

from provider_skew import to_provider


def stack_dir(root: Path, stack: str) -> Path:
    return Path(root) / "cdktf.out" / "stacks" / stack


def write_stack(root: Path, stack: str, document: dict, aws_version: str) -> tuple[Path, dict, dict[str, int]]:
    """Write the rewritten copy; returns ``(its folder, the rewritten document, rewrite counts)``."""
    folder = stack_dir(root, stack)
    folder.mkdir(parents=True, exist_ok=True)
    rewritten, counts = to_provider(document, aws_version)
    (folder / "cdk.tf.json").write_text(json.dumps(rewritten, indent=2, sort_keys=True))
    return folder, rewritten, counts


def resource_count(document: dict) -> int:
    return sum(len(items or {}) for items in (document.get("resource") or {}).values())


def module_root(root: Path, stacks: dict[str, dict], aws_version: str) -> dict[str, dict[str, int]]:
    """One root configuration calling every stack as a child module, so one
    ``terraform validate`` (one provider start, one schema load) checks them all.
    Each stack keeps its provider blocks; only its ``backend`` block is left out
    (a child module may not have one, and ``validate`` never reads it). Diagnostics
    name the file ``<stack>/cdk.tf.json``. Returns the rewrite counts per stack."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, document in stacks.items():
        rewritten, counts[name] = to_provider(document, aws_version)
        rewritten.get("terraform", {}).pop("backend", None)
        (root / name).mkdir()
        (root / name / "cdk.tf.json").write_text(json.dumps(rewritten, indent=2, sort_keys=True))
    (root / "main.tf.json").write_text(json.dumps({
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": aws_version}}},
        "module": {name: {"source": f"./{name}"} for name in stacks},
    }, indent=2))
    return counts
