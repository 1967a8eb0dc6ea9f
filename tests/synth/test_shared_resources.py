"""Resources several stacks or apps touch have one owner each.

- Route53 records: a model of the zone over every stack of an app. An ACM validation
  record is identified by the domain name it validates: ACM gives a name one
  validation CNAME per account, the same in every Region and for every certificate
  ("DNS validation", ACM User Guide:
  https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html), so two
  stacks writing "their" record for one name write the same record, and destroying
  either deletes it for both.
- SSM State Manager: the association that writes a monitoring's remote_write URL
  reaches that monitoring's nodes only, never another app's in the same region.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from helpers import resources

from constructs_substrate._framework import App, SynthTesting
from constructs_substrate.deployment import deploy_chain
from constructs_substrate.settings import DeploymentSettings

REGIONS = ("eu-central-1", "us-east-1", "ap-southeast-1")
_VALIDATES = re.compile(r'domain_validation_options : o\.resource_record_name if o\.domain_name == "([^"]+)"')


def _settings(regions=REGIONS) -> DeploymentSettings:
    return DeploymentSettings(domain="rpc.example.com", zone_name="example.com", regions=regions,
                              alert_email="oncall@example.com")


def _synth(chain: str, regions=REGIONS, **options) -> dict[str, dict]:
    deployment = deploy_chain(App(stack_traces=False), chain=chain, settings=_settings(regions), **options)
    return {stack.node.id: json.loads(SynthTesting.synth(stack)) for stack in deployment.stacks.values()}


@pytest.fixture(scope="module")
def polkadot() -> dict[str, dict]:
    return _synth("polkadot")


def record_identity(record: dict) -> tuple[str, str, str]:
    """What Route53 holds for this resource: (name, type, set identifier); an ACM
    validation record by the domain name it validates."""
    match = _VALIDATES.search(record["name"])
    if match:
        return (f"<acm validation of {match.group(1)}>", "CNAME", "")
    assert "${" not in record["name"], f"unmodelled record name {record['name']}"
    return (record["name"], record["type"], record.get("set_identifier", ""))


def owners(documents: dict[str, dict]) -> dict[tuple, list[str]]:
    found = defaultdict(list)
    for stack, document in documents.items():
        for address, record in resources(document, "aws_route53_record").items():
            found[record_identity(record)].append(f"{stack}/{address}")
    return found


def needed_validations(document: dict) -> set[str]:
    """Names whose validation record this stack's certificates wait for."""
    names = set()
    for certificate in resources(document, "aws_acm_certificate").values():
        names |= {certificate["domain_name"], *certificate.get("subject_alternative_names", [])}
    return names


def test_every_record_has_exactly_one_owner(polkadot):
    shared = {identity: where for identity, where in owners(polkadot).items() if len(where) > 1}
    assert not shared
    # Only the sole owner of the global name's record may adopt an existing one.
    overwriting = [stack for stack, d in polkadot.items() for r in resources(d, "aws_route53_record").values()
                   if r.get("allow_overwrite")]
    assert overwriting == ["polkadot-validation"]


def test_removing_a_region_keeps_every_other_validation_record(polkadot):
    everything = owners(polkadot)
    for removed in REGIONS:
        remaining = {name: doc for name, doc in polkadot.items() if name != f"polkadot-{removed}"}
        # Destroying the stack deletes every record it owned, also one another stack wrote too.
        present = {identity[0] for identity, where in everything.items()
                   if not any(w.startswith(f"polkadot-{removed}/") for w in where)}
        for stack, document in remaining.items():
            missing = [n for n in needed_validations(document) if f"<acm validation of {n}>" not in present]
            assert not missing, f"without polkadot-{removed}, {stack} cannot renew {missing}"


def test_no_stack_waits_for_a_record_of_a_later_stack(polkadot):
    """A regional certificate's validation must not wait on a record that a stack applied
    after it creates (the global stack is applied after the regions)."""
    deployment = deploy_chain(App(stack_traces=False), chain="polkadot", settings=_settings())
    dependencies = {stack.node.id: {d.node.id for d in stack.dependencies} for stack in deployment.stacks.values()}
    record_owner = {identity[0]: where[0].split("/")[0] for identity, where in owners(polkadot).items()}
    for stack, document in polkadot.items():
        for name in needed_validations(document):
            owner = record_owner[f"<acm validation of {name}>"]
            assert owner == stack or owner in dependencies[stack], f"{stack} waits for {name}, owned by {owner}"
    assert "polkadot-global" not in {d for deps in dependencies.values() for d in deps if d}


def test_the_global_name_record_lives_in_the_validation_stack(polkadot):
    (identity,) = [i for i in owners(polkadot) if i[0] == "<acm validation of polkadot.rpc.example.com>"]
    assert [w.split("/")[0] for w in owners(polkadot)[identity]] == ["polkadot-validation"]


# ---- item 2: the URL delivery of one app's monitoring reaches its own nodes only ----

@pytest.fixture(scope="module")
def two_apps() -> dict[str, dict]:
    """polkadot and kusama, each its own app, into the same region."""
    return {chain: _synth(chain, ("eu-central-1",), validators=1)[f"{chain}-eu-central-1"] for chain in ("polkadot", "kusama")}


def _targets(document: dict) -> set[tuple[str, str]]:
    (association,) = resources(document, "aws_ssm_association").values()
    return {(t["key"], v) for t in association["targets"] for v in t["values"]}


def _instance_tags(document: dict) -> list[dict]:
    tags = [i["tags"] for i in resources(document, "aws_instance").values()]
    tags += [s["tags"] for lt in resources(document, "aws_launch_template").values()
             for s in lt["tag_specifications"] if s["resource_type"] == "instance"]
    return tags


def _targeted(targets: set[tuple[str, str]], tags: dict) -> bool:
    """Whether an instance with ``tags`` matches SSM targets (``tag:<key>`` = value, or
    ``tag-key`` = key)."""
    return any((key == "tag-key" and value in tags) or (key.startswith("tag:") and tags.get(key[4:]) == value)
               for key, value in targets)


def test_associations_of_two_apps_are_disjoint(two_apps):
    polkadot, kusama = _targets(two_apps["polkadot"]), _targets(two_apps["kusama"])
    assert all(key.startswith("tag:") for key, _ in polkadot | kusama), "a tag-key target matches every app"
    assert polkadot.isdisjoint(kusama)


def test_each_association_reaches_exactly_its_own_nodes(two_apps):
    for chain, document in two_apps.items():
        own = _instance_tags(document)
        assert len(own) >= 2  # the validator and the cluster's launch template
        assert all(_targeted(_targets(document), tags) for tags in own), f"{chain}: a node misses its URL"
        for other, other_document in two_apps.items():
            if other != chain:
                assert not any(_targeted(_targets(document), tags) for tags in _instance_tags(other_document)), \
                    f"{chain}'s monitoring reconfigures {other}'s nodes"


def test_the_tag_key_fits_the_association_target():
    from constructs_substrate.errors import ConfigError
    from constructs_substrate.observability import MonitoringConfig

    assert MonitoringConfig(name="polkadot-eu", node_tag_key="k" * 124).node_tag_key == "k" * 124
    with pytest.raises(ConfigError, match="node_tag_key"):
        MonitoringConfig(name="polkadot-eu", node_tag_key="k" * 125)  # 'tag:' + 125 > 128 (SSM Target Key)
