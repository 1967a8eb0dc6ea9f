"""The 6.x -> 5.x rewrite table (provider_skew.py): what each row does, that a 6.x
feature it cannot rewrite is refused, and that one it does not know reaches
``terraform validate`` and fails there (nothing is dropped silently)."""

from __future__ import annotations

import pytest
from provider_skew import TABLE, UnknownSkew, table_markdown, to_provider
from workspace import write_stack


def stack(**resources) -> dict:
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "6.69.1"}}},
        "provider": {"aws": [{"region": "eu-central-1", "default_tags": [{"tags": {"a": "b"}}]}]},
        "data": {"aws_region": {"here": {}}},
        "resource": resources,
    }


def test_version_region_name_and_aliased_provider():
    document = stack(aws_sns_topic={
        "t": {"name": "${data.aws_region.here.region}-x"},
        "u": {"name": "u", "region": "us-east-1"},
        "v": {"name": "v", "region": "eu-central-1"},
    })
    out, counts = to_provider(document, "5.100.0")
    assert out["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"
    assert out["resource"]["aws_sns_topic"]["t"]["name"] == "${data.aws_region.here.name}-x"
    assert out["resource"]["aws_sns_topic"]["u"]["provider"] == "aws.default_us_east_1"
    assert "region" not in out["resource"]["aws_sns_topic"]["v"]
    alias = [p for p in out["provider"]["aws"] if p.get("alias") == "default_us_east_1"]
    assert alias == [{"alias": "default_us_east_1", "region": "us-east-1", "default_tags": [{"tags": {"a": "b"}}]}]
    assert counts == {"aws-version": 1, "aws_region.region": 1, "per-resource region": 2}
    assert document["resource"]["aws_sns_topic"]["u"]["region"] == "us-east-1", "the input is not changed"


def test_region_that_is_an_own_5x_argument_is_refused():
    with pytest.raises(UnknownSkew, match="argument of its own"):
        to_provider(stack(aws_dx_hosted_connection={"c": {"region": "us-east-1"}}), "5.100.0")


def test_every_row_cites_the_upgrade_guide():
    assert all(row.guide_section for row in TABLE)
    assert table_markdown().count("\n") == len(TABLE) + 1


def test_unknown_6x_feature_fails_validate(terraform, tmp_path):
    # `bucket_region` of data.aws_s3_bucket exists from 6.0 only; the table does not know it.
    document = stack(aws_sns_topic={"t": {"name": "${data.aws_s3_bucket.b.bucket_region}"}})
    document["data"]["aws_s3_bucket"] = {"b": {"bucket": "x"}}
    folder, _, _ = write_stack(tmp_path, "skew", document, terraform.aws_version)
    terraform.init(folder, backend=False)
    _, diagnostics = terraform.validate(folder)
    assert [d["summary"] for d in diagnostics if d["severity"] == "error"] == ["Unsupported attribute"]


def test_testing_doc_lists_the_rewrite_table_and_every_shim():
    from pathlib import Path

    from moto_shims import SHIMS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
    assert table_markdown() in doc, "docs/testing.md: paste provider_skew.table_markdown()"
    missing = [shim.name for shim in SHIMS if f"| {shim.name} |" not in doc]
    assert not missing, f"docs/testing.md does not list these moto shims: {missing}"
