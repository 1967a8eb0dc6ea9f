"""AWS commercial regions and the continent each serves, for georouting defaults.

Continent codes are Route53's geolocation codes: AF, AN, AS, EU, NA, OC, SA.
"""

from __future__ import annotations

CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")

REGION_CONTINENT: dict[str, str] = {
    "us-east-1": "NA", "us-east-2": "NA", "us-west-1": "NA", "us-west-2": "NA",
    "ca-central-1": "NA", "ca-west-1": "NA", "mx-central-1": "NA",
    "sa-east-1": "SA",
    "eu-west-1": "EU", "eu-west-2": "EU", "eu-west-3": "EU", "eu-central-1": "EU",
    "eu-central-2": "EU", "eu-north-1": "EU", "eu-south-1": "EU", "eu-south-2": "EU",
    "af-south-1": "AF",
    "me-south-1": "AS", "me-central-1": "AS", "il-central-1": "AS",
    "ap-east-1": "AS", "ap-east-2": "AS", "ap-south-1": "AS", "ap-south-2": "AS",
    "ap-northeast-1": "AS", "ap-northeast-2": "AS", "ap-northeast-3": "AS",
    "ap-southeast-1": "AS", "ap-southeast-3": "AS", "ap-southeast-5": "AS", "ap-southeast-7": "AS",
    "ap-southeast-2": "OC", "ap-southeast-4": "OC", "ap-southeast-6": "OC",
}


def check_region(region: str) -> str:
    if region not in REGION_CONTINENT:
        raise ValueError(
            f"unknown AWS region {region!r}; use a commercial region such as "
            "eu-central-1, us-east-1 or ap-southeast-1"
        )
    return region


def check_regions(regions: tuple[str, ...]) -> tuple[str, ...]:
    """Every region known, none twice."""
    for region in regions:
        check_region(region)
    duplicates = sorted({r for r in regions if regions.count(r) > 1})
    if duplicates:
        raise ValueError(f"each region may appear once; duplicated: {', '.join(duplicates)}")
    return regions
