"""In-place release upgrade and rollback of a single node, as two SSM Command documents.

A ``SubstrateNode`` is not replaced when its release pin changes (see ``node.py``:
user data changes are ignored unless ``replace_on_bootstrap_change``). Instead the pin
in the config becomes the upgrade document's default, so ``cdktf deploy`` of a pin bump
followed by one ``aws ssm send-command`` upgrades the running node:

- **upgrade** (parameters ``releaseVersion``, ``sha256s``, ``healthTimeoutSeconds``):
  downloads and verifies the release beside the running one (install-binaries.sh:
  pinned SHA-256, or GPG signature + published ``.sha256``), stops the node, switches
  ``current`` atomically, starts it, and keeps the release it left as ``previous``.
- **rollback** (``healthTimeoutSeconds``): switches back to ``previous``.

Both are health-gated and undo their switch when the node does not come back (see
``bootstrap/templates/upgrade-node.sh``). The script travels inside the documents, not
in the user data: it costs none of EC2's 16 KiB, and a library upgrade reaches running
nodes through ``cdktf deploy`` alone. Parameters are passed as environment variables
(``interpolationType: ENV_VAR``, SSM Agent 3.3.2746.0 or later) and, for older agents,
substituted into quoted strings their ``allowedPattern`` keeps free of quotes and ``$``.
"""

from __future__ import annotations

import json
import shlex

from . import layout
from .bootstrap.env import bootstrap_env
from .bootstrap.templating import shell_assignments, template
from .config import NodeConfig

SCRIPT = "upgrade-node.sh"
"""The template in ``bootstrap/templates/``, run from a temporary directory."""
VERSION_PLACEHOLDER = "{version}"
"""In the release template's URLs; the script puts the ``releaseVersion`` parameter there."""
HEALTH_TIMEOUT_S = 600
"""Default bound for the node to come back healthy after a switch (a node opening a
large database answers JSON-RPC only once it is open)."""
STEP_TIMEOUT_S = 7200
"""The Run Command step's own limit: downloads with their retries (install-binaries.sh,
at most ~10 min each) plus two health gates. The agent kills the script at this point,
so it is well above what the script bounds itself."""
RELEASE_KEYS = (
    "RELEASE_VERSION", "GPG_FINGERPRINT", "KEYSERVER", "ARTIFACT_NAMES", "ARTIFACT_URLS",
    "ARTIFACT_SHA256S", "ARTIFACT_SHA256_URLS", "ARTIFACT_SIGNATURE_URLS",
)
"""The release's part of ``bootstrap.env``, the same names install-binaries.sh reads."""
_HEREDOC = "SUBSTRATE_EOF"

PARAMETERS = {
    "releaseVersion": ("Release to install (its name in the download URLs)", r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,79}$"),
    "sha256s": (
        "SHA-256 of each artifact, space-separated, in the release's artifact order; "
        "empty: verify by the release's GPG signature",
        r"^([0-9a-fA-F]{64}( [0-9a-fA-F]{64})*)?$",
    ),
    "healthTimeoutSeconds": (
        "Seconds the node has to come back healthy after the switch before it is rolled back",
        r"^[1-9][0-9]{0,4}$",
    ),
}


def release_template(config: NodeConfig) -> dict[str, object]:
    """The pinned release as shell assignments, with the version in every URL replaced
    by ``{version}`` (where the URL contains it), so an operator can name another one."""
    env = bootstrap_env(config)
    version = config.chain.release.version
    values: dict[str, object] = {key: env[key] for key in RELEASE_KEYS}
    for key in ("ARTIFACT_URLS", "ARTIFACT_SHA256_URLS", "ARTIFACT_SIGNATURE_URLS"):
        values[key] = tuple(url.replace(version, VERSION_PLACEHOLDER) for url in values[key])  # type: ignore[union-attr]
    return values


def default_sha256s(config: NodeConfig) -> str:
    """The ``sha256s`` default: the config's pins, or empty when the release is GPG-verified."""
    release = config.chain.release
    return " ".join(a.sha256 or "" for a in release.artifacts) if release.verification == "sha256" else ""


def _parameter(name: str, default: str) -> dict[str, str]:
    description, pattern = PARAMETERS[name]
    return {"type": "String", "description": description, "default": default,
            "allowedPattern": pattern, "interpolationType": "ENV_VAR"}


def _heredoc(path: str, text: str) -> list[str]:
    assert _HEREDOC not in text and "{{" not in text, "the text would end the here-document or name a parameter"
    return [f"cat > {path} <<'{_HEREDOC}'", *text.rstrip("\n").split("\n"), _HEREDOC]


def _document(description: str, step: str, parameters: dict[str, str], files: dict[str, str], command: str) -> str:
    commands = ["set -eu"]
    for name in parameters:
        # Agents before 3.3.2746.0 set no SSM_<name>: then the quoted {{ }} form, which
        # allowedPattern keeps free of quotes, '$' and backquotes.
        commands.append(f'if [ -z "${{SSM_{name}+x}}" ]; then export SSM_{name}="{{{{{name}}}}}"; fi')
    commands += ["work=$(mktemp -d)", "trap 'rm -rf \"$work\"' EXIT", f"export PREVIOUS_RELEASE={layout.PREVIOUS_RELEASE}"]
    for name, text in files.items():
        commands += _heredoc(f'"$work/{name}"', text)
    commands.append(command)
    return json.dumps(
        {
            "schemaVersion": "2.2",
            "description": description,
            "parameters": {name: _parameter(name, default) for name, default in parameters.items()},
            "mainSteps": [
                {
                    "action": "aws:runShellScript",
                    "name": step,
                    "precondition": {"StringEquals": ["platformType", "Linux"]},
                    "inputs": {"runCommand": commands, "timeoutSeconds": str(STEP_TIMEOUT_S)},
                }
            ],
        },
        sort_keys=True,
    )


def upgrade_document(config: NodeConfig, env_file: str = layout.BOOTSTRAP_ENV_FILE) -> str:
    """The upgrade Command document's content (JSON). ``env_file``: where the node's
    ``bootstrap.env`` is (tests point it into a temporary root)."""
    release = config.chain.release
    return _document(
        f"Upgrade this {config.chain.name} node in place to a verified release (default {release.version}); "
        "rolls back by itself if the node does not come back healthy",
        "upgradeRelease",
        {"releaseVersion": release.version, "sha256s": default_sha256s(config),
         "healthTimeoutSeconds": str(HEALTH_TIMEOUT_S)},
        {SCRIPT: template(SCRIPT), "release.env": shell_assignments(release_template(config))},
        f'bash "$work/{SCRIPT}" upgrade {shlex.quote(env_file)} "$work/release.env" '
        '"$SSM_releaseVersion" "$SSM_sha256s" "$SSM_healthTimeoutSeconds"',
    )


def rollback_document(config: NodeConfig, env_file: str = layout.BOOTSTRAP_ENV_FILE) -> str:
    """The rollback Command document's content (JSON): back to the release the last
    in-place upgrade left."""
    return _document(
        f"Roll this {config.chain.name} node back to the release its last in-place upgrade replaced",
        "rollbackRelease",
        {"healthTimeoutSeconds": str(HEALTH_TIMEOUT_S)},
        {SCRIPT: template(SCRIPT)},
        f'bash "$work/{SCRIPT}" rollback {shlex.quote(env_file)} "$SSM_healthTimeoutSeconds"',
    )
