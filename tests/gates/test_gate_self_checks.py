"""The security-scan gate can fail: one real checkov run over deliberately bad files
(an open SSH port hidden behind nulls, a file checkov cannot parse, one it skips
because of its name), plus the skip-file rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkov_gate import Skip, SkipFileError, evaluate, load_skips, prepare, run_checkov

pytestmark = pytest.mark.slow

INSECURE = {
    "provider": {"aws": [{"region": "eu-central-1"}]},
    "resource": {
        "aws_security_group": {"open": {
            "name": "open", "description": "test", "vpc_id": "vpc-1",
            # cdktf writes unset attributes of a block as null; checkov then misses the rule.
            "ingress": [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"],
                         "description": None, "ipv6_cidr_blocks": None, "prefix_list_ids": None,
                         "security_groups": None, "self": None}],
        }},
        "aws_ebs_volume": {"plain": {"availability_zone": "eu-central-1a", "size": 10, "encrypted": False}},
    },
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("selfcheck")
    raw = root / "raw" / "cdk.tf.json"
    raw.parent.mkdir()
    raw.write_text(json.dumps(INSECURE))
    files = {
        "raw": raw,
        "prepared": prepare(raw, root / "prepared"),
        "malformed": _write(root / "malformed" / "cdk.tf.json", '{"provider": {}, "resource": {"aws_vpc": {'),
        "empty": _write(root / "empty" / "cdk.tf.json", '{"terraform": {}}'),
        "misnamed": _write(root / "misnamed" / "stack.json", json.dumps(INSECURE)),
    }
    report = run_checkov(list(files.values()))
    return files, report


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_findings_fail_the_gate_and_nulls_are_removed_first(scanned):
    files, report = scanned
    results = evaluate(report, list(files.values()), [])
    prepared = results[files["prepared"].resolve()]
    failed = {(check, address) for check, address, _ in prepared.failed}
    assert ("CKV_AWS_24", "aws_security_group.open") in failed  # SSH from the internet
    assert ("CKV_AWS_3", "aws_ebs_volume.plain") in failed  # unencrypted volume
    assert prepared.problems()
    raw = results[files["raw"].resolve()]
    assert len(prepared.failed) >= len(raw.failed)


def test_unparsable_empty_and_misnamed_files_fail_the_gate(scanned):
    files, report = scanned
    results = evaluate(report, list(files.values()), [])
    assert results[files["malformed"].resolve()].problems() == [f"{files['malformed']}: checkov could not parse it"]
    assert results[files["empty"].resolve()].problems()
    assert results[files["misnamed"].resolve()].problems() == [f"{files['misnamed']}: checkov ran no check on it"]


def test_skips_apply_per_check_and_resource(scanned):
    files, report = scanned
    path = files["prepared"].resolve()
    scoped = Skip("CKV_AWS_24", "an SSH bastion on purpose for this test only", ("aws_security_group.open",))
    elsewhere = Skip("CKV_AWS_24", "an SSH bastion on purpose for this test only", ("aws_security_group.other*",))
    everywhere = Skip("CKV_AWS_3", "a volume nobody writes to, for this test only")
    result = evaluate(report, [files["prepared"]], [scoped, everywhere])[path]
    assert {(c, a) for c, a, _ in result.skipped} >= {("CKV_AWS_24", "aws_security_group.open"), ("CKV_AWS_3", "aws_ebs_volume.plain")}
    assert "CKV_AWS_24" not in {c for c, _, _ in result.failed}
    result = evaluate(report, [files["prepared"]], [elsewhere])[path]
    assert "CKV_AWS_24" in {c for c, _, _ in result.failed}


def test_version_scoped_skips_apply_only_to_those_versions(scanned):
    files, report = scanned
    old_only = Skip("CKV_AWS_24", "a false positive of old checkov releases, for this test", (), "<3.0")
    result = evaluate(report, [files["prepared"]], [old_only])[files["prepared"].resolve()]
    assert "CKV_AWS_24" in {c for c, _, _ in result.failed}
    assert old_only.applies_to("2.5.0") and not old_only.applies_to("3.3.30")


@pytest.mark.parametrize("text,message", [
    ("skips:\n  - check: CKV_AWS_1\n", "needs 'check' and 'reason'"),
    ("skips:\n  - check: CKV_AWS_1\n    reason: because\n", "real reason"),
    ("skips:\n  - check: AWS_1\n    reason: a reason that is long enough to count as one\n", "not a checkov check id"),
    ("skips:\n  - check: CKV_AWS_1\n    reason: a reason that is long enough to count as one\n    resources: [subnet]\n", "resources must be"),
    ("skips:\n  - check: CKV_AWS_1\n    reason: a reason that is long enough to count as one\n    scope: all\n", "needs 'check' and 'reason'"),
    ("skips:\n  - check: CKV_AWS_1\n    reason: a reason that is long enough to count as one\n"
     "  - check: CKV_AWS_1\n    reason: the same entry again with another long reason\n", "duplicate"),
    ("- check: CKV_AWS_1\n", "one key 'skips'"),
    ("skips:\n  - check: CKV_AWS_1\n    reason: a reason that is long enough to count as one\n    checkov: soon\n", "version specifier"),
])
def test_skip_file_rules(tmp_path, text, message):
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    with pytest.raises(SkipFileError, match=message):
        load_skips(path)
