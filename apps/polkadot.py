"""Polkadot: RPC clusters in every configured region behind polkadot.<domain>,
validators (and, with pinned images, a telemetry node) in the first region.

    python3 apps/polkadot.py      # synthesize into cdktf.out/ and print a summary
    cdktf deploy 'polkadot-*'     # deploy every stack of this app

Settings: substrate.settings.json and SUBSTRATE_* variables (docs/apps.md).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from constructs_substrate.apps import run  # noqa: E402
from constructs_substrate.deployment import deploy_chain  # noqa: E402


def build(app, settings):
    return [deploy_chain(app, chain="polkadot", settings=settings, validators=settings.validators)]


if __name__ == "__main__":
    run(build, ROOT)
