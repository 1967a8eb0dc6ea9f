"""A short, human summary of what an app synthesized: stacks, resources, endpoints.

Reads the synthesized ``cdk.tf.json`` files, so it reports what Terraform will see.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence


def stack_files(outdir: str | Path) -> dict[str, Path]:
    root = Path(outdir) / "stacks"
    return {p.parent.name: p for p in sorted(root.glob("*/cdk.tf.json"))}


def summarize(outdir: str | Path, endpoints: Mapping[str, Sequence[str]] | None = None) -> str:
    lines = []
    for stack, path in stack_files(outdir).items():
        document = json.loads(path.read_text())
        counts = Counter(
            {kind: len(items) for kind, items in document.get("resource", {}).items()}
        )
        total = sum(counts.values())
        lines.append(f"stack {stack}: {total} resources, {len(document.get('output', {}))} outputs")
        for kind, count in sorted(counts.items()):
            lines.append(f"  {count:3d} {kind}")
        for url in (endpoints or {}).get(stack, ()):
            lines.append(f"  endpoint {url}")
    return "\n".join(lines)
