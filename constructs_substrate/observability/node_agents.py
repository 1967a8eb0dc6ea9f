"""``agent_extension``: the observability agents as a
:class:`~constructs_substrate.bootstrap.BootstrapExtension` of a node's bootstrap.

A pure function of :class:`AgentConfig` and the node's :class:`NodeConfig`: the
Prometheus agent config (a template the host completes), its systemd drop-in and
render script, the Fluent Bit config and drop-in, and one install script run as the
extension command. Packages are installed by that script, not by cloud-init's
``packages``: Fluent Bit's repository must be added first, and a failure here must
never keep the node itself from being set up.
"""

from __future__ import annotations

from .. import layout
from ..bootstrap import BootstrapExtension, RenderedFile
from ..config import NodeConfig
from .agent_config import AgentConfig, AmpRemoteWrite
from .log_shipper import STATE_DIR, render_fluent_bit_config
from .prometheus_agent import AGENT_LISTEN_PORT, render_prometheus_config
from .templating import render_template

CONFIG_DIR = f"{layout.CONFIG_DIR}/observability"
HOST_ENV = f"{CONFIG_DIR}/host.env"
"""``INSTANCE_ID`` and ``AWS_REGION`` of the instance, written at boot from IMDSv2."""
PROMETHEUS_TEMPLATE = f"{CONFIG_DIR}/prometheus-agent.yml.in"
PROMETHEUS_CONFIG = f"{CONFIG_DIR}/prometheus-agent.yml"
PROMETHEUS_STORAGE = "/var/lib/prometheus/agent"
PROMETHEUS_DROPIN = "/etc/systemd/system/prometheus.service.d/substrate-agent.conf"
FLUENT_BIT_CONFIG = f"{CONFIG_DIR}/fluent-bit.yaml"
FLUENT_BIT_EXTRA_ENV = f"{CONFIG_DIR}/loki.env"
FLUENT_BIT_DROPIN = "/etc/systemd/system/fluent-bit.service.d/substrate.conf"
RENDER_SCRIPT = f"{layout.SCRIPTS_DIR}/render-prometheus-agent.sh"
INSTALL_SCRIPT = f"{layout.SCRIPTS_DIR}/install-observability.sh"

FLUENT_BIT_REPO = "https://packages.fluentbit.io/ubuntu/noble"
FLUENT_BIT_KEY_FINGERPRINT = "C3C0A28534B9293EAF51FABD9F9DDC083888C1CD"
"""Fluent Bit's release signing key (``releases@fluentbit.io``, used since 1.9); the
install script refuses a downloaded key with any other fingerprint."""
FLUENT_BIT_KEYRING = "/usr/share/keyrings/fluentbit-keyring.gpg"
FLUENT_BIT_SOURCES = "/etc/apt/sources.list.d/fluent-bit.list"
"""Written by the install script once the key is in place (a sources file written by
cloud-init before the key would break cloud-init's own ``apt-get update``)."""


def agent_files(agent: AgentConfig, node: NodeConfig) -> list[RenderedFile]:
    """Every file of the agents, in write order."""
    metrics = agent.metrics
    amp = isinstance(metrics, AmpRemoteWrite)
    result = [
        RenderedFile(PROMETHEUS_TEMPLATE, render_prometheus_config(agent, node)),
        RenderedFile(RENDER_SCRIPT, render_template(
            "render-prometheus-agent.sh", shell=True,
            template=PROMETHEUS_TEMPLATE, config=PROMETHEUS_CONFIG, host_env=HOST_ENV,
            url=metrics.url or "", url_file=metrics.url_file if amp else "/dev/null", amp=int(amp),
        ), "0755"),
        RenderedFile(PROMETHEUS_DROPIN, render_template(
            "prometheus-agent.conf", shell=False, render_script=RENDER_SCRIPT,
            config=PROMETHEUS_CONFIG, storage=PROMETHEUS_STORAGE, listen_port=AGENT_LISTEN_PORT,
        )),
    ]
    if agent.logs is not None:
        result += [
            RenderedFile(FLUENT_BIT_CONFIG, render_fluent_bit_config(agent, node)),
            RenderedFile(FLUENT_BIT_DROPIN, render_template(
                "fluent-bit.conf", shell=False, host_env=HOST_ENV, extra_env=FLUENT_BIT_EXTRA_ENV,
                config=FLUENT_BIT_CONFIG, state_directory=STATE_DIR.removeprefix("/var/lib/"),
            )),
        ]
    result.append(RenderedFile(INSTALL_SCRIPT, install_script(agent), "0755"))
    return result


def install_script(agent: AgentConfig, **paths: str) -> str:
    """The install script; ``paths`` override the host paths (tests run it in a sandbox)."""
    values = dict(
        host_env=HOST_ENV,
        fluent_bit_key_fingerprint=FLUENT_BIT_KEY_FINGERPRINT,
        fluent_bit_repo=FLUENT_BIT_REPO,
        fluent_bit_keyring=FLUENT_BIT_KEYRING,
        sources_list=FLUENT_BIT_SOURCES,
    )
    unknown = set(paths) - set(values)
    if unknown:
        raise TypeError(f"unknown install script values {sorted(unknown)}")
    return render_template(
        "install-observability.sh", shell=True,
        prometheus_version=agent.prometheus_package_version,
        fluent_bit_version=agent.fluent_bit_version if agent.logs is not None else "",
        **{**values, **paths},
    )


def agent_extension(agent: AgentConfig, node: NodeConfig) -> BootstrapExtension:
    """The agents for ``node``, to pass to ``render_bootstrap(config, extensions=[...])``.

    Metrics: node_exporter (always), the node's own metrics and an embedded relay
    chain's (chain nodes), the readiness probe (rpc/archive). Logs: the journal of
    ``agent.journal_units`` when ``agent.logs`` is set.
    """
    return BootstrapExtension(
        files=tuple(agent_files(agent, node)),
        commands=(INSTALL_SCRIPT,),
    )


__all__ = ["agent_extension", "agent_files", "install_script"]
