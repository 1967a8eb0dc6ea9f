"""checkov over synthesized stacks, with ONE reviewed skip file.

How checkov 3.1 must be run on ``cdk.tf.json`` for the result to mean anything:

- ``--framework terraform_json`` and a file whose name ends in ``.tf.json`` (``-f``
  ignores other names silently: zero checks, exit 0);
- the file must mention ``resource`` and ``provider`` or the parser returns nothing
  and checkov only lists it under ``parsing_errors``;
- scan a copy with explicit ``null`` removed at every depth: a ``null`` inside a
  block is read as a value and can hide a finding;
- ``--skip-download`` and ``BC_SKIP_MAPPING=TRUE`` keep it offline (otherwise it
  tries to fetch guidelines and prints a traceback);
- its ``resource_count`` is 0 for this framework, so "checks ran" is proven from the
  results themselves: every scanned file must appear in at least one result.

Skips are NOT passed with ``--skip-check``: checkov would then neither run nor report
them, so a stale skip could never be noticed. The gate runs every check and applies
``security/checkov-skips.yaml`` itself (per check id, optionally per resource
pattern), counts what each entry suppressed, and fails on entries that suppress
nothing. For a manual run, the global entries are
``checkov ... --skip-check $(python tests/gates/checkov_gate.py --skip-ids)``.

(Imported by name: pytest puts this folder on ``sys.path``.)
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from synthesis import ROOT, without_nulls

SKIP_FILE = ROOT / "security" / "checkov-skips.yaml"
CHECKOV = Path(os.environ.get("GATES_CHECKOV") or Path(sys.executable).with_name("checkov"))
"""The venv's checkov; ``GATES_CHECKOV=/path/to/checkov`` runs the gate with another."""
_CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


class SkipFileError(ValueError):
    pass


@dataclass(frozen=True)
class Skip:
    """One accepted finding: a check id, where it applies, and why."""

    check: str
    reason: str
    resources: tuple[str, ...] = ()
    """``fnmatch`` patterns on ``<type>.<logical id>`` (``data.<type>.<logical id>`` for
    data sources); empty: every resource."""
    checkov: str = ""
    """PEP 440 specifier of the checkov versions the entry is for (a false positive
    fixed in later releases, e.g. ``<3.2``); empty: every version."""

    def applies_to(self, version: str) -> bool:
        if not self.checkov:
            return True
        try:
            return Version(version) in SpecifierSet(self.checkov)
        except InvalidVersion:
            return True

    def matches(self, check_id: str, address: str) -> bool:
        if check_id != self.check:
            return False
        return not self.resources or any(fnmatch.fnmatchcase(address, p) for p in self.resources)

    @property
    def scope(self) -> str:
        return ", ".join(f"`{p}`" for p in self.resources) if self.resources else "every resource"


def load_skips(path: Path = SKIP_FILE) -> list[Skip]:
    """The skip file, validated: ``skips:`` a list of ``{check, reason, resources?, checkov?}``."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or set(data) != {"skips"} or not isinstance(data["skips"], list):
        raise SkipFileError(f"{path}: must be a mapping with one key 'skips' holding a list")
    skips, seen = [], set()
    for index, entry in enumerate(data["skips"]):
        where = f"{path.name} entry {index + 1}"
        if not isinstance(entry, dict) or not {"check", "reason"} <= set(entry) or set(entry) - {"check", "reason", "resources", "checkov"}:
            raise SkipFileError(f"{where}: needs 'check' and 'reason', optionally 'resources' and 'checkov' (got {entry!r})")
        check, reason, patterns = entry["check"], entry["reason"], entry.get("resources", [])
        if not isinstance(check, str) or not _CHECK_ID.match(check):
            raise SkipFileError(f"{where}: {check!r} is not a checkov check id like CKV_AWS_123")
        if not isinstance(reason, str) or len(reason.split()) < 8:
            raise SkipFileError(f"{where} ({check}): give a real reason (a sentence, at least 8 words)")
        if not isinstance(patterns, list) or not all(isinstance(p, str) and re.match(r"^(data\.)?aws_[a-z0-9_]+\.", p) for p in patterns):
            raise SkipFileError(f"{where} ({check}): resources must be a list of patterns like 'aws_subnet.network_public-*'")
        versions = entry.get("checkov", "")
        try:
            SpecifierSet(versions)
        except (InvalidSpecifier, TypeError):
            raise SkipFileError(f"{where} ({check}): checkov must be a version specifier like '<3.2'") from None
        key = (check, tuple(patterns), versions)
        if key in seen:
            raise SkipFileError(f"{where}: duplicate of an earlier entry for {check}")
        seen.add(key)
        skips.append(Skip(check, " ".join(reason.split()), tuple(patterns), versions))
    return skips


def prepare(source: Path, target: Path) -> Path:
    """A copy of ``source`` without explicit nulls, named ``cdk.tf.json``."""
    target.mkdir(parents=True, exist_ok=True)
    copy = target / "cdk.tf.json"
    copy.write_text(json.dumps(without_nulls(json.loads(source.read_text())), indent=2, sort_keys=True))
    return copy


def run_checkov(files: list[Path]) -> dict:
    """One checkov run over ``files``; the parsed JSON report (one framework)."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
    result = subprocess.run(
        [str(CHECKOV), "--framework", "terraform_json", "-o", "json", "--skip-download", "--compact",
         "-f", *[str(f) for f in files]],
        capture_output=True, text=True, env=env, timeout=600,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError(f"checkov printed no JSON report: {result.stdout[-1000:]} {result.stderr[-2000:]}") from None
    if isinstance(report, list):  # one entry per framework
        report = next((r for r in report if r.get("check_type") == "terraform_json"), {})
    return report


@dataclass
class FileResult:
    """checkov's verdicts for one scanned file, after the skip file."""

    path: Path
    passed: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    """``(check id, resource address, check name)`` not covered by a skip."""
    skipped: list[tuple[str, str, Skip]] = field(default_factory=list)
    parsing_error: bool = False

    @property
    def checks_run(self) -> int:
        return len(self.passed) + len(self.failed) + len(self.skipped)

    def problems(self) -> list[str]:
        if self.parsing_error:
            return [f"{self.path}: checkov could not parse it"]
        if self.checks_run == 0:
            return [f"{self.path}: checkov ran no check on it"]
        return [f"{self.path}: {check} {address} ({name})" for check, address, name in self.failed]


def _addresses(path: Path) -> dict[str, str]:
    """``resource.<logical id>`` / ``data.<logical id>`` (how checkov names what its
    Python checks saw in this framework) → ``[data.]<type>.<logical id>``."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    for section, prefix in (("resource", ""), ("data", "data.")):
        for kind, items in (document.get(section) or {}).items():
            for name in items or {}:
                found.setdefault(f"{section}.{name}", f"{prefix}{kind}.{name}")
    return found


def address_of(resource: str, addresses: dict[str, str]) -> str:
    return addresses.get(resource, resource)


def checkov_version(report: dict) -> str:
    return str((report.get("summary") or {}).get("checkov_version", ""))


def evaluate(report: dict, files: list[Path], skips: list[Skip]) -> dict[Path, FileResult]:
    """Split ``report`` per file and apply the ``skips`` meant for its checkov version."""
    skips = [s for s in skips if s.applies_to(checkov_version(report))]
    results = {Path(f).resolve(): FileResult(Path(f)) for f in files}
    addresses = {path: _addresses(path) for path in results}
    for error in (report.get("results") or {}).get("parsing_errors", []) or []:
        if Path(error).resolve() in results:
            results[Path(error).resolve()].parsing_error = True
    for outcome in ("passed_checks", "failed_checks", "skipped_checks"):
        for record in (report.get("results") or {}).get(outcome, []):
            path = Path(record.get("file_abs_path", "")).resolve()
            if path not in results:
                continue
            target = results[path]
            address = address_of(record["resource"], addresses[path])
            check = record["check_id"]
            if outcome == "passed_checks":
                target.passed.append((check, address))
            elif outcome == "skipped_checks":
                target.skipped.append((check, address, Skip(check, "inline checkov:skip comment")))
            else:
                skip = next((s for s in skips if s.matches(check, address)), None)
                if skip is None:
                    target.failed.append((check, address, record.get("check_name", "")))
                else:
                    target.skipped.append((check, address, skip))
    return results


def unused_skips(skips: list[Skip], results: list[FileResult], version: str) -> list[Skip]:
    """Entries for this checkov version that suppressed nothing."""
    used = {s for r in results for _, _, s in r.skipped}
    return [s for s in skips if s.applies_to(version) and s not in used]


def skips_markdown(skips: list[Skip]) -> str:
    """The skip table of docs/security.md, generated from the skip file."""
    lines = ["| check | applies to | reason |", "| --- | --- | --- |"]
    for skip in skips:
        reason = skip.reason.replace("|", "\\|")
        if skip.checkov:
            reason += f" (checkov {skip.checkov} only)"
        lines.append(f"| {skip.check} | {skip.scope} | {reason} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["--skip-ids"]:
        print(",".join(sorted({s.check for s in load_skips() if not s.resources})))
