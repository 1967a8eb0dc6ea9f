"""Kusama: RPC clusters in every configured region behind kusama.<domain>,
validators in the first region. Kusama's faster, busier chain gets larger RPC
instances and a bigger connection budget.

    python3 apps/kusama.py && cdktf deploy 'kusama-*'
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from constructs_substrate.apps import run  # noqa: E402
from constructs_substrate.deployment import deploy_chain  # noqa: E402


def build(app, settings):
    rpc = {"instance_type": "m7i.4xlarge"}
    return [deploy_chain(app, chain="kusama", settings=settings, rpc_node=rpc, validators=settings.validators)]


if __name__ == "__main__":
    run(build, ROOT)
