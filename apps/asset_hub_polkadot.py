"""Asset Hub (Polkadot system parachain): RPC clusters behind
asset-hub-polkadot.<domain>, whose nodes follow the relay chain through OUR Polkadot
endpoints (--relay-chain-rpc-urls: same region first, the global name as fallback)
instead of each carrying a second, relay-chain database. Deploy apps/polkadot.py first.

    python3 apps/asset_hub_polkadot.py && cdktf deploy 'asset-hub-polkadot-*'
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from constructs_substrate.apps import run  # noqa: E402
from constructs_substrate.deployment import ChainDeployment, deploy_chain  # noqa: E402
from constructs_substrate.global_endpoint import GlobalEndpointConfig  # noqa: E402


def build(app, settings):
    # The relay chain's names only: its stacks belong to apps/polkadot.py.
    relay = ChainDeployment(
        chain="polkadot",
        endpoint=GlobalEndpointConfig(
            chain="polkadot", domain=settings.domain, zone_name=settings.effective_zone_name,
            regions=settings.regions,
        ),
    )
    return [deploy_chain(app, chain="asset-hub-polkadot", settings=settings, relay=relay)]


if __name__ == "__main__":
    run(build, ROOT)
