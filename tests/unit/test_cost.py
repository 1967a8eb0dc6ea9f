"""The cost estimate's arithmetic on small hand-built stacks, and its price table."""

from __future__ import annotations

import json
import re

import pytest

from constructs_substrate.cost import (
    FREE_TYPES, PRICE_DATE, PRICED_TYPES, PRICES, Assumptions, PriceTable, budget_limit, estimate, estimate_stack,
)


def stack(region: str, **resources) -> dict:
    return {"provider": {"aws": [{"region": region}]}, "resource": resources}


VALIDATOR = stack(
    "us-east-1",
    aws_instance={"validator": {"instance_type": "c7i.4xlarge", "root_block_device": {"volume_size": 30, "volume_type": "gp3"}}},
    aws_ebs_volume={"data": {"size": 375, "type": "gp3", "iops": 6000, "throughput": 500}},
    aws_eip={"eip": {"domain": "vpc"}},
    aws_eip_association={"eip-association": {"allocation_id": "${aws_eip.eip.id}", "instance_id": "${aws_instance.validator.id}"}},
    aws_lb={"alb": {"load_balancer_type": "application", "subnets": ["${aws_subnet.a.id}", "${aws_subnet.b.id}"]}},
    aws_vpc={"vpc": {}},
)


def test_hand_computed_validator_stack():
    result = estimate_stack("validator", VALIDATOR)
    lines = {item.description: item.monthly_usd for item in result.items}
    assert lines == {
        "1 x c7i.4xlarge (validator)": 521.22,                 # 0.714 $/h x 730 h
        "validator root: 1 x 30 GB gp3": 2.40,                  # 30 GB x 0.08
        "data: 1 x 375 GB gp3": 30.00,                          # 375 GB x 0.08
        "data: 1 x 3000 IOPS above 3,000": 15.00,               # (6000 - 3000) x 0.005
        "data: 1 x 375 MB/s above 125": 15.00,                  # (500 - 125) x 0.04
        "eip: Elastic IP": 3.65,                                # 0.005 $/h x 730 (not the instance's too)
        "alb: ALB hours": 16.43,                                # 0.0225 x 730
        "alb: 1 LCU": 5.84,                                     # 0.008 x 730
        "alb: 2 public IPv4 (one per zone)": 7.30,
        "1 nodes x 1000 GB to the internet": 90.00,             # 0.09 $/GB
    }
    assert result.monthly_usd == 706.84
    assert result.unpriced == []
    assert result.by_category()["ec2"] == 521.22


def test_group_nodes_priced_from_their_launch_template():
    document = stack(
        "eu-central-1",
        aws_launch_template={"lt": {"instance_type": "m7i.2xlarge", "block_device_mappings": [
            {"device_name": "/dev/sdf", "ebs": {"volume_size": 100, "volume_type": "gp3"}}]}},
        aws_autoscaling_group={"group": {"min_size": 2, "max_size": 6, "launch_template": {"id": "${aws_launch_template.lt.id}"}}},
    )
    items = {item.description: item.monthly_usd for item in estimate_stack("rpc", document).items}
    assert items["2 x m7i.2xlarge (group, min_size 2)"] == 706.35      # 2 x 730 h x 0.4838
    assert items["group /dev/sdf: 2 x 100 GB gp3"] == 19.04              # 200 GB x 0.0952
    assert items["group: 2 public IPv4"] == 7.30
    assert items["2 nodes x 1000 GB to the internet"] == 180.00


def test_assumptions_change_usage_lines_only():
    cheap = estimate_stack("validator", VALIDATOR, assumptions=Assumptions(egress_gb_per_node=0, alb_lcu=2))
    items = {item.description: item.monthly_usd for item in cheap.items}
    assert "1 nodes x 0 GB to the internet" not in items and items["alb: 2 LCU"] == 11.68


def test_what_cannot_be_priced_is_reported_not_zero():
    document = stack("us-east-1", aws_instance={"x": {"instance_type": "x2iedn.32xlarge"}}, aws_new_thing={"a": {}})
    result = estimate_stack("odd", document)
    assert any("x2iedn.32xlarge" in line for line in result.unpriced)
    assert any("aws_new_thing" in line for line in result.unpriced)


def test_region_without_prices_uses_us_east_1_marked():
    result = estimate_stack("x", stack("sa-east-1", aws_instance={"n": {"instance_type": "m7i.2xlarge"}}))
    assert result.items[0].price == "ec2:m7i.2xlarge@us-east-1*"


def test_json_is_deterministic_and_complete():
    first = estimate({"b": VALIDATOR, "a": VALIDATOR}).to_json()
    assert first == estimate({"a": VALIDATOR, "b": VALIDATOR}).to_json()
    data = json.loads(first)
    assert data["price_date"] == PRICE_DATE and data["monthly_usd"] == 2 * 706.84
    assert list(data["stacks"]) == ["a", "b"] and data["assumptions"]["egress_gb_per_node"] == 1000.0


@pytest.mark.parametrize("usd, limit", [(4275.0, 5200), (0.0, 100), (83.0, 100), (1000.0, 1200)])
def test_budget_limit_is_estimate_plus_headroom_rounded_up(usd, limit):
    assert budget_limit(usd) == limit


def test_every_price_row_has_a_source_and_says_whether_it_was_checked():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICE_DATE)
    for price in PRICES:
        assert price.usd > 0 and price.source.startswith("https://aws.amazon.com/"), price
        assert price.checked.startswith(("source", "not checked")), price
    keys = [(p.item, p.region) for p in PRICES]
    assert len(keys) == len(set(keys)), "one row per item and region"
    assert PriceTable().get("ec2:m7i.2xlarge", "eu-central-1")[0].usd == 0.4838


def test_priced_and_free_types_do_not_overlap():
    assert not set(PRICED_TYPES) & set(FREE_TYPES)
