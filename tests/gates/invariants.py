"""Security invariants of a synthesized stack, as pure functions.

Each function takes one parsed ``cdk.tf.json`` (a dict) and returns a list of
violations, ``"<resource address>: <what is wrong>"``; an empty list means the stack
holds the invariant. They read only the JSON (no construct, no framework), so the
app gates, the configuration fuzzer and the unit tests that feed them deliberately
bad JSON all use the same code. docs/security.md explains each rule.

(Imported by name: pytest puts this folder on ``sys.path``.)
"""

from __future__ import annotations

import hashlib
import inspect
import ipaddress
import json
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from synthesis import all_resources, blocks, bootstrap_bundles, data_sources, rendered_user_data, resources

Violations = list[str]

# ---- references ------------------------------------------------------------------

_REF = re.compile(r"\$\{(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)")


def _refs(value: Any, kind: str) -> list[str]:
    """Names of ``kind`` resources referenced anywhere in ``value``."""
    found: list[str] = []
    if isinstance(value, str):
        found += [m.group(3) for m in _REF.finditer(value) if m.group(2) == kind and not m.group(1)]
    elif isinstance(value, dict):
        for item in value.values():
            found += _refs(item, kind)
    elif isinstance(value, list):
        for item in value:
            found += _refs(item, kind)
    return found


def _ref(value: Any, kind: str) -> str | None:
    names = _refs(value, kind)
    return names[0] if names else None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _tags(body: dict) -> dict:
    tags = dict(body.get("tags") or {})
    for spec in blocks(body.get("tag_specifications")):  # launch templates
        tags.update(spec.get("tags") or {})
    for tag in blocks(body.get("tag")):  # autoscaling groups
        if "key" in tag:
            tags[tag["key"]] = tag.get("value")
    return tags


# ---- 1. public ingress ----------------------------------------------------------

ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})
P2P_PORTS = (30333, 30334)
"""p2p (libp2p TCP/WebSocket, litep2p WebRTC over UDP) and an embedded relay's p2p."""
WEB_PORTS = (80, 443)
"""HTTPS, and HTTP for the redirect and ACME HTTP-01: only on an ALB's security group
or on a node that terminates TLS itself (its user data installs nginx)."""
_ALL_PROTOCOLS = {"-1", "all"}
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _protocol(value: Any) -> str:
    text = str(value).lower()
    return _PROTOCOLS.get(text, text)


def _is_anywhere(cidr: Any) -> bool:
    if not isinstance(cidr, str) or "${" in cidr:
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def ingress_rules(document: dict) -> Iterator[dict]:
    """Every ingress permission, from all three ways of writing one, as
    ``{address, group, protocol, from, to, cidrs, sources}`` (``group`` is the
    ``aws_security_group`` name, or ``None`` for a group defined elsewhere)."""
    for name, rule in resources(document, "aws_vpc_security_group_ingress_rule").items():
        cidrs = [c for c in (rule.get("cidr_ipv4"), rule.get("cidr_ipv6")) if c]
        yield {
            "address": f"aws_vpc_security_group_ingress_rule.{name}",
            "group": _ref(rule.get("security_group_id"), "aws_security_group"),
            "protocol": _protocol(rule.get("ip_protocol")),
            "from": rule.get("from_port"), "to": rule.get("to_port"),
            "cidrs": cidrs,
            "sources": cidrs + [s for s in (rule.get("referenced_security_group_id"), rule.get("prefix_list_id")) if s],
        }
    for name, rule in resources(document, "aws_security_group_rule").items():
        if rule.get("type") != "ingress":
            continue
        cidrs = list(rule.get("cidr_blocks") or []) + list(rule.get("ipv6_cidr_blocks") or [])
        yield {
            "address": f"aws_security_group_rule.{name}",
            "group": _ref(rule.get("security_group_id"), "aws_security_group"),
            "protocol": _protocol(rule.get("protocol")),
            "from": rule.get("from_port"), "to": rule.get("to_port"),
            "cidrs": cidrs,
            "sources": cidrs + [s for s in (rule.get("source_security_group_id"),) if s] + (["self"] if rule.get("self") else []),
        }
    for kind in ("aws_security_group", "aws_default_security_group"):
        for name, group in resources(document, kind).items():
            for index, rule in enumerate(blocks(group.get("ingress"))):
                cidrs = list(rule.get("cidr_blocks") or []) + list(rule.get("ipv6_cidr_blocks") or [])
                yield {
                    "address": f"{kind}.{name}.ingress[{index}]",
                    "group": name if kind == "aws_security_group" else None,
                    "protocol": _protocol(rule.get("protocol")),
                    "from": rule.get("from_port"), "to": rule.get("to_port"),
                    "cidrs": cidrs,
                    "sources": cidrs + list(rule.get("security_groups") or []) + (["self"] if rule.get("self") else []),
                }


def _ports(rule: dict) -> range | None:
    """The rule's port range; ``None`` when it covers every port."""
    if rule["protocol"] in _ALL_PROTOCOLS:
        return None
    low, high = rule["from"], rule["to"]
    if not isinstance(low, int) or not isinstance(high, int) or low < 0 or high > 65535:
        return None if rule["protocol"] in ("tcp", "udp") else range(0)
    if rule["protocol"] not in ("tcp", "udp"):
        return range(0)  # icmp: from/to are type and code
    return range(low, high + 1)


def _installs_nginx(user_data: str) -> bool:
    return re.search(r"(?m)^\s*-\s*\"?nginx\"?\s*$", user_data) is not None


def security_group_users(document: dict) -> dict[str, set[str]]:
    """``aws_security_group`` name → what uses it: ``alb``, ``tls-node`` (an instance or
    launch template whose user data installs nginx), ``node``, ``nlb``, ``other``."""
    users: dict[str, set[str]] = defaultdict(set)
    user_data = dict(_safe_user_data(document))
    for kind in ("aws_lb", "aws_alb"):
        for body in resources(document, kind).values():
            kind_of_lb = "alb" if body.get("load_balancer_type", "application") == "application" else "nlb"
            for group in _refs(body.get("security_groups"), "aws_security_group"):
                users[group].add(kind_of_lb)
    for kind in ("aws_instance", "aws_launch_template"):
        for name, body in resources(document, kind).items():
            attached = _refs(body.get("vpc_security_group_ids"), "aws_security_group")
            attached += _refs(body.get("security_groups"), "aws_security_group")
            for interface in blocks(body.get("network_interfaces")):
                attached += _refs(interface.get("security_groups"), "aws_security_group")
            role = "tls-node" if _installs_nginx(user_data.get(f"{kind}.{name}", "")) else "node"
            for group in attached:
                users[group].add(role)
    return users


def _safe_user_data(document: dict) -> Iterator[tuple[str, str]]:
    try:
        yield from rendered_user_data(document)
    except ValueError:
        return  # reported by no_secrets


def no_public_ingress(document: dict, p2p_ports: Iterable[int] = P2P_PORTS) -> Violations:
    """No ingress from 0.0.0.0/0 or ::/0 except p2p (tcp/udp on ``p2p_ports``) and
    80/443 tcp on an ALB's group or a TLS node's own group."""
    p2p = set(p2p_ports)
    users = security_group_users(document)
    violations = []
    for rule in ingress_rules(document):
        public = [c for c in rule["cidrs"] if _is_anywhere(c)]
        if not public:
            continue
        ports = _ports(rule)
        where = f"from {', '.join(public)}"
        if ports is None:
            violations.append(f"{rule['address']}: every port open {where}")
            continue
        if not ports:
            violations.append(f"{rule['address']}: {rule['protocol']} open {where}")
            continue
        web_ok = bool(users.get(rule["group"] or "", set()) & {"alb", "tls-node"}) and rule["protocol"] == "tcp"
        allowed = p2p | (set(WEB_PORTS) if web_ok else set())
        bad = [p for p in ports if p not in allowed]
        if bad:
            shown = f"{ports.start}-{ports.stop - 1}" if len(ports) > 1 else str(ports.start)
            violations.append(
                f"{rule['address']}: {rule['protocol']} {shown} open {where} "
                f"(allowed: p2p {sorted(p2p)}{', 80/443 on an ALB or TLS node' if not web_ok else ', 80/443'})"
            )
    return violations


PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
))
"""RFC 1918, shared address space (RFC 6598) and IPv6 unique local addresses."""
SENSITIVE_PORTS = (9944, 9615, 9616, 9100, 9955, 22)
"""JSON-RPC, node and relay metrics, node_exporter, the readiness probe, SSH."""


def _is_private(cidr: str) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(network.version == p.version and network.subnet_of(p) for p in PRIVATE_NETWORKS)


def private_sources_only(document: dict, sensitive_ports: Iterable[int] = SENSITIVE_PORTS) -> Violations:
    """RPC, metrics, probe and SSH ports are reachable only from private networks or
    security groups: a public CIDR other than 0.0.0.0/0 (e.g. ``0.0.0.0/1`` plus
    ``128.0.0.0/1``, or someone's office range) is still the internet."""
    sensitive = set(sensitive_ports)
    violations = []
    for rule in ingress_rules(document):
        ports = _ports(rule)
        hit = sorted(sensitive) if ports is None else sorted(p for p in sensitive if p in ports)
        if not hit:
            continue
        for cidr in rule["cidrs"]:
            if "${" not in str(cidr) and not _is_private(str(cidr)):
                violations.append(f"{rule['address']}: port {', '.join(map(str, hit))} open to {cidr}, not a private network")
    return violations


# ---- 2. instances: IMDSv2 and encrypted volumes ---------------------------------


def imdsv2_required(document: dict) -> Violations:
    violations = []
    for kind in ("aws_instance", "aws_launch_template"):
        for name, body in resources(document, kind).items():
            options = blocks(body.get("metadata_options"))
            if not options or options[0].get("http_tokens") != "required":
                violations.append(f"{kind}.{name}: metadata_options.http_tokens must be \"required\" (IMDSv2)")
    return violations


def ebs_encrypted(document: dict) -> Violations:
    violations = []
    for name, body in resources(document, "aws_ebs_volume").items():
        if not _truthy(body.get("encrypted")):
            violations.append(f"aws_ebs_volume.{name}: not encrypted")
    for kind in ("aws_instance", "aws_launch_configuration"):
        for name, body in resources(document, kind).items():
            roots = blocks(body.get("root_block_device"))
            if not roots:
                violations.append(f"{kind}.{name}: no root_block_device, so the root volume is not encrypted")
            for index, device in enumerate(roots + blocks(body.get("ebs_block_device"))):
                if not _truthy(device.get("encrypted")):
                    violations.append(f"{kind}.{name}: block device {index} not encrypted")
    for name, body in resources(document, "aws_launch_template").items():
        mappings = [m for m in blocks(body.get("block_device_mappings")) if m.get("ebs") is not None]
        if not mappings:
            violations.append(
                f"aws_launch_template.{name}: no block_device_mappings, so the root volume is the AMI's (not encrypted)"
            )
        for mapping in mappings:
            for ebs in blocks(mapping.get("ebs")):
                if not _truthy(ebs.get("encrypted")):
                    violations.append(
                        f"aws_launch_template.{name}: {mapping.get('device_name', '?')} not encrypted"
                    )
    return violations


# ---- 3. S3 buckets ---------------------------------------------------------------

_PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _policy_statements(value: Any, document: dict) -> list[dict] | None:
    """Statements of a JSON policy string or of an ``aws_iam_policy_document``
    reference, in the JSON shape; ``None`` when it cannot be read."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}", value.strip())
    if match:
        source = data_sources(document, "aws_iam_policy_document").get(match.group(1))
        return None if source is None else [_from_hcl(s) for s in blocks(source.get("statement"))]
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    statements = parsed.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _from_hcl(statement: dict) -> dict:
    """An ``aws_iam_policy_document`` statement block in the JSON policy shape."""
    result: dict[str, Any] = {"Effect": statement.get("effect", "Allow")}
    for hcl, key in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                     ("not_resources", "NotResource")):
        if statement.get(hcl) is not None:
            result[key] = statement[hcl]
    for hcl, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        if statement.get(hcl) is not None:
            principal: dict[str, list] = defaultdict(list)
            for item in blocks(statement[hcl]):
                principal[item.get("type", "*")] += list(item.get("identifiers") or [])
            result[key] = "*" if set(principal) == {"*"} else dict(principal)
    conditions = blocks(statement.get("condition"))
    if conditions:
        condition: dict[str, dict] = defaultdict(dict)
        for item in conditions:
            condition[item.get("test", "")][item.get("variable", "")] = item.get("values")
        result["Condition"] = dict(condition)
    if statement.get("sid"):
        result["Sid"] = statement["sid"]
    return result


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return "*" in _as_list(principal.get("AWS")) or "*" in _as_list(principal.get("*"))
    return False


def _denies_insecure_transport(statements: list[dict]) -> bool:
    for statement in statements:
        if statement.get("Effect") != "Deny" or not _everyone(statement.get("Principal")):
            continue
        if not {"s3:*", "*"} & set(_as_list(statement.get("Action"))):
            continue
        values = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
        if [str(v).lower() for v in _as_list(values)] == ["false"]:
            return True
    return False


def s3_buckets_protected(document: dict) -> Violations:
    """Every bucket: server-side encryption configured, a public access block with all
    four flags true, and a policy denying requests without TLS."""
    def targeting(kind: str, bucket: str) -> list[dict]:
        return [b for b in resources(document, kind).values() if _ref(b.get("bucket"), "aws_s3_bucket") == bucket]

    violations = []
    for name, bucket in resources(document, "aws_s3_bucket").items():
        address = f"aws_s3_bucket.{name}"
        encryption = targeting("aws_s3_bucket_server_side_encryption_configuration", name)
        if not any(blocks(e.get("rule")) for e in encryption) and not bucket.get("server_side_encryption_configuration"):
            violations.append(f"{address}: no aws_s3_bucket_server_side_encryption_configuration")
        blocks_ = targeting("aws_s3_bucket_public_access_block", name)
        if not blocks_:
            violations.append(f"{address}: no aws_s3_bucket_public_access_block")
        for item in blocks_:
            off = [flag for flag in _PUBLIC_ACCESS_FLAGS if not _truthy(item.get(flag))]
            if off:
                violations.append(f"{address}: public access block leaves {', '.join(off)} off")
        policies = [p.get("policy") for p in targeting("aws_s3_bucket_policy", name)] + [bucket.get("policy")]
        statements = [s for p in policies if p for s in (_policy_statements(p, document) or [])]
        if not _denies_insecure_transport(statements):
            violations.append(f"{address}: no bucket policy statement denying s3:* when aws:SecureTransport is false")
    return violations


# ---- 4. IAM ----------------------------------------------------------------------

READ_ONLY_PREFIXES = ("Describe", "Get", "List")
"""Actions (after ``service:``) that may apply to ``Resource: "*"``: they read, and
many have no resource-level permissions at all (e.g. ``ec2:DescribeInstances``)."""
UNSCOPABLE_WRITES = {"cloudwatch:PutMetricData": "cloudwatch:namespace"}
"""Write actions AWS offers no resource-level permission for, allowed on ``*`` only
with a condition on the given key."""
REVIEWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore":
        "Session Manager and Run Command instead of SSH; no data access",
}
"""AWS-managed policies a role may attach, each reviewed (read the policy first)."""
KEY_POLICY_KINDS = {("aws_kms_key", "policy"), ("aws_kms_key_policy", "policy")}
TRUST_POLICY_KINDS = {("aws_iam_role", "assume_role_policy")}
_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}|\$\{[^}]+\}):root$")


def _is_read_only(action: str) -> bool:
    _, _, name = action.partition(":")
    return name.startswith(READ_ONLY_PREFIXES)


def _policies(document: dict) -> Iterator[tuple[str, tuple[str, str], list[dict]]]:
    """``(address, (kind, attribute), statements)`` of every policy in the stack:
    JSON strings anywhere in a resource, and ``aws_iam_policy_document`` data sources
    (classified by the first resource that uses them)."""
    used_by: dict[str, tuple[str, str]] = {}
    for kind, name, body in all_resources(document):
        for attribute, value in _strings(body):
            for match in re.finditer(r"\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}", value):
                used_by.setdefault(match.group(1), (kind, attribute))
            if "Statement" not in value or not value.lstrip().startswith("{"):
                continue
            statements = _policy_statements(value, document)
            if statements is None:
                yield f"{kind}.{name}.{attribute}", (kind, attribute), [{"Unreadable": value[:80]}]
            else:
                yield f"{kind}.{name}.{attribute}", (kind, attribute), statements
    for name, source in data_sources(document, "aws_iam_policy_document").items():
        statements = [_from_hcl(s) for s in blocks(source.get("statement"))]
        yield f"data.aws_iam_policy_document.{name}", used_by.get(name, ("aws_iam_policy", "policy")), statements


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "//":
                yield from _strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _statement_problems(statement: dict, context: tuple[str, str]) -> list[str]:
    if "Unreadable" in statement:
        return [f"policy is not readable JSON: {statement['Unreadable']!r}"]
    if statement.get("Effect", "Allow") != "Allow":
        return []
    label = f"statement {statement.get('Sid') or ''}".rstrip()
    principal = statement.get("Principal")
    if context in TRUST_POLICY_KINDS:
        if _everyone(principal) and not statement.get("Condition"):
            return [f"{label}: anyone may assume the role"]
        return []
    problems = []
    if "NotAction" in statement:
        problems.append(f"{label}: Allow with NotAction grants everything else")
    if "NotResource" in statement:
        problems.append(f"{label}: Allow with NotResource")
    actions = [str(a) for a in _as_list(statement.get("Action"))]
    resources_ = [str(r) for r in _as_list(statement.get("Resource"))]
    key_policy = context in KEY_POLICY_KINDS
    for action in actions:
        if action in ("*", "*:*"):
            problems.append(f"{label}: Action \"*\"")
        elif action.endswith(":*"):
            root_only = principal and isinstance(principal, dict) and all(
                _ROOT.match(str(p)) for p in _as_list(principal.get("AWS"))
            ) and set(principal) == {"AWS"}
            if not (key_policy and action == "kms:*" and root_only):
                problems.append(f"{label}: {action} grants every action of the service")
    if principal is not None and _everyone(principal) and not statement.get("Condition"):
        problems.append(f"{label}: allows anyone (Principal \"*\") without a condition")
    # In a key policy "Resource": "*" means the key itself.
    if not key_policy and ("*" in resources_ or "NotResource" in statement):
        condition = json.dumps(statement.get("Condition") or {})
        for action in actions:
            if action in ("*", "*:*") or action.endswith(":*") or _is_read_only(action):
                continue
            needed = UNSCOPABLE_WRITES.get(action)
            if needed and needed in condition:
                continue
            problems.append(f"{label}: write action {action} on Resource \"*\"")
    return problems


def iam_least_privilege(document: dict) -> Violations:
    """No ``Action: "*"``, no ``service:*`` (except the account root's ``kms:*`` in a
    KMS key policy), no write action on ``Resource: "*"``, no public principals, and
    only reviewed AWS-managed policies."""
    violations = []
    for address, context, statements in _policies(document):
        for statement in statements:
            violations += [f"{address}: {p}" for p in _statement_problems(statement, context)]
    attachments = ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment",
                   "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment")
    for kind in attachments:
        for name, body in resources(document, kind).items():
            arn = str(body.get("policy_arn", ""))
            if ":iam::aws:policy/" in arn and arn not in REVIEWED_MANAGED_POLICIES:
                violations.append(f"{kind}.{name}: AWS-managed policy {arn} is not reviewed (see invariants.REVIEWED_MANAGED_POLICIES)")
    for name, body in resources(document, "aws_iam_role").items():
        for arn in _as_list(body.get("managed_policy_arns")):
            if ":iam::aws:policy/" in str(arn) and arn not in REVIEWED_MANAGED_POLICIES:
                violations.append(f"aws_iam_role.{name}: AWS-managed policy {arn} is not reviewed")
    return violations


# ---- 5. secrets ------------------------------------------------------------------

BIP39_WORDLIST = Path(__file__).with_name("bip39_english.txt")
BIP39_SHA256 = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"
"""SHA-256 of BIP-0039's english.txt (bitcoin/bips), 2048 words."""

SECRET_PATTERNS = {
    "private key (PEM)": re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"),
    "0x-prefixed 32-byte hex (a seed or secret key)": re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{64}(?![0-9a-fA-F])"),
    "node key on the command line": re.compile(r"--node-key[= ]+[\"']?[0-9a-fA-F]{64}"),
    "AWS access key id": re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
    "AWS secret access key": re.compile(
        r"(?i)(aws_?secret_?(access_?)?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
    ),
    # A literal value: one whole token, optionally quoted; not a variable, expression
    # or placeholder (``password = creds["x"]``, ``$PASSWORD``, ``<password>``).
    "password assignment": re.compile(
        r"(?i)(?<![\w$])(password|passwd|secret_key|private_key|api_key|auth_token)[\"']?\s*[:=]\s*"
        r"([\"']?)(?!(?:none|null|true|false|required|optional)\b)[A-Za-z0-9+/=_!@#%^&*~-]{4,}\2(?=[\s,;}\]]|$)"
    ),
}
SECRET_ATTRIBUTE = re.compile(
    r"(?i)(^|_)(password|passwd|secret|secret_key|secret_access_key|access_key|private_key|"
    r"seed|mnemonic|api_key|auth_token|node_key|secret_string)$"
)
"""Attribute names whose literal value would be a secret in Terraform state."""


@lru_cache(maxsize=1)
def bip39_words() -> frozenset[str]:
    data = BIP39_WORDLIST.read_bytes()
    if hashlib.sha256(data).hexdigest() != BIP39_SHA256:
        raise RuntimeError(f"{BIP39_WORDLIST} is not BIP-0039's english.txt")
    return frozenset(data.decode().split())


def mnemonic_phrases(text: str, minimum: int = 12) -> list[str]:
    """Runs of at least ``minimum`` consecutive BIP39 words (a 12..24-word phrase)."""
    words = bip39_words()
    found, run = [], []
    for token in re.split(r"[\s\"',;:=()\[\]{}/]+", text):
        if token in words:
            run.append(token)
            continue
        if len(run) >= minimum:
            found.append(" ".join(run))
        run = []
    if len(run) >= minimum:
        found.append(" ".join(run))
    return found


def secrets_in_text(text: str) -> list[str]:
    """What in ``text`` looks like a secret (never the value itself, to keep logs clean)."""
    problems = [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(text)]
    phrases = mnemonic_phrases(text)
    if phrases:
        problems.append(f"a {len(phrases[0].split())}-word BIP39-like phrase ({phrases[0].split()[0]} ...)")
    return problems


def no_secrets(document: dict) -> Violations:
    """No key material or literal credentials anywhere in the JSON, nor in the
    rendered user data (base64 → gzip → text) of instances and launch templates."""
    violations = []
    for section in ("resource", "data", "provider", "output", "variable", "locals", "terraform"):
        for path, value in _strings(document.get(section) or {}, section):
            if path.endswith("user_data_base64") or (".aws_launch_template." in f".{path}" and path.endswith(".user_data")):
                continue  # scanned decoded below
            if ".aws_s3_object." in f".{path}" and path.endswith(".content_base64") and value.startswith("H4sI"):
                continue  # gzip (a bootstrap bundle): scanned decoded below
            violations += [f"{path}: {p}" for p in secrets_in_text(value)]
        for path, key, value in _attributes(document.get(section) or {}, section):
            if SECRET_ATTRIBUTE.search(key) and isinstance(value, str) and value and "${" not in value:
                violations.append(f"{path}: literal value for secret attribute {key!r}")
    try:
        rendered = list(rendered_user_data(document))
    except ValueError as error:
        return violations + [f"user data: {error} (cannot be scanned)"]
    for address, text in rendered:
        violations += [f"{address} user data: {p}" for p in secrets_in_text(text)]
    for address, _, files in bootstrap_bundles(document):
        for path, text in files:
            violations += [f"{address} (bootstrap bundle) {path}: {p}" for p in secrets_in_text(text)]
    return violations


def _attributes(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "//":
                continue
            yield f"{path}.{key}", key, item
            yield from _attributes(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _attributes(item, f"{path}[{index}]")


# ---- 6. validators ---------------------------------------------------------------

ROLE_TAG = "substrate:role"
VALIDATOR = "validator"
RPC_PORT = 9944


def validators_safe(document: dict, rpc_port: int = RPC_PORT) -> Violations:
    """Instances tagged ``substrate:role = validator``: exactly one per name, never in
    a launch template or autoscaling group, no ingress at all to the RPC port on
    their security groups, and every attached data volume ``prevent_destroy``."""
    violations = []
    for kind in ("aws_launch_template", "aws_autoscaling_group", "aws_launch_configuration"):
        for name, body in resources(document, kind).items():
            if _tags(body).get(ROLE_TAG) == VALIDATOR:
                violations.append(f"{kind}.{name}: validators must never be autoscaled (one set of keys, one instance)")
    by_name: dict[str, list[str]] = defaultdict(list)
    validators = {n: b for n, b in resources(document, "aws_instance").items() if _tags(b).get(ROLE_TAG) == VALIDATOR}
    for name, body in validators.items():
        by_name[str(_tags(body).get("Name"))].append(name)
        if body.get("count") not in (None, 1) or body.get("for_each") is not None:
            violations.append(f"aws_instance.{name}: a validator must not use count/for_each")
    for tag, names in by_name.items():
        if len(names) != 1 or tag == "None":
            violations.append(f"validator Name {tag!r}: {len(names)} instances ({', '.join(sorted(names))}); exactly one named instance allowed")
    rules = list(ingress_rules(document))
    attachments = resources(document, "aws_volume_attachment")
    for name, body in validators.items():
        groups = set(_refs(body.get("vpc_security_group_ids"), "aws_security_group"))
        groups |= set(_refs(body.get("security_groups"), "aws_security_group"))
        if not groups:
            violations.append(f"aws_instance.{name}: validator without a security group of this stack (RPC exposure cannot be checked)")
        for rule in rules:
            if rule["group"] in groups:
                ports = _ports(rule)
                if ports is None or rpc_port in ports:
                    violations.append(f"{rule['address']}: ingress to the RPC port {rpc_port} of validator {name}")
        volumes = [
            _ref(a.get("volume_id"), "aws_ebs_volume")
            for a in attachments.values()
            if _ref(a.get("instance_id"), "aws_instance") == name
        ]
        if not volumes:
            violations.append(f"aws_instance.{name}: validator without an attached data volume (its keystore would die with the instance)")
        for volume in volumes:
            body_ = resources(document, "aws_ebs_volume").get(volume or "", {})
            if not _truthy((body_.get("lifecycle") or {}).get("prevent_destroy")):
                violations.append(f"aws_ebs_volume.{volume}: validator data volume without lifecycle.prevent_destroy")
    return violations


# ---- all of them -----------------------------------------------------------------

INVARIANTS: dict[str, Callable[[dict], Violations]] = {
    "no_public_ingress": no_public_ingress,
    "private_sources_only": private_sources_only,
    "imdsv2_required": imdsv2_required,
    "ebs_encrypted": ebs_encrypted,
    "s3_buckets_protected": s3_buckets_protected,
    "iam_least_privilege": iam_least_privilege,
    "no_secrets": no_secrets,
    "validators_safe": validators_safe,
}


def check_all(document: dict, **options: Any) -> Violations:
    """Every invariant; ``options`` (``p2p_ports``, ``sensitive_ports``, ``rpc_port``) go
    to those taking them."""
    violations = []
    for name, check in INVARIANTS.items():
        accepted = {k: v for k, v in options.items() if k in inspect.signature(check).parameters}
        violations += [f"[{name}] {v}" for v in check(document, **accepted)]
    return violations
