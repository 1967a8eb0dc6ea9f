"""``ApiLoadBalancer``: the internet-facing Application Load Balancer in front of one
or more RPC clusters (each adds a host rule and its certificate)."""

from __future__ import annotations

from typing import Sequence

from .. import arguments, ports
from .._framework import Construct, TerraformResourceLifecycle, aws
from ..errors import ConfigError, Problem
from ..naming import name_prefix
from ..security_groups import INTERNET, Ingress, add_ingress_rules
from .access_logs import AccessLogBucket
from .config import LoadBalancerConfig
from .waf import RateLimitWebAcl

HSTS = "max-age=31536000"
"""Strict-Transport-Security on every HTTPS response: browsers (polkadot.js apps)
never try plain HTTP again for a year."""


def network_problems(vpc_id: str, subnet_ids: Sequence[str]) -> list[Problem]:
    """Problems with a VPC id and subnet ids (values known only at deploy time pass)."""
    return arguments.aws_id(vpc_id, "vpc", "vpc_id") + arguments.aws_ids(
        subnet_ids, "subnet", "subnet_ids", at_least=2, why="in different AZs: an ALB and the group span AZs",
    )


class ApiLoadBalancer(Construct):
    """An ALB in ``subnet_ids`` (at least two AZs):

    - security group: 443 and 80 from anywhere (IPv4 and IPv6) and nothing else;
      egress only to the clusters' instances (each cluster adds its rules);
    - HTTPS 443 with ``certificate_arn`` as the default certificate, a TLS 1.3 policy
      and HSTS; requests for a host no cluster serves get 404;
    - HTTP 80 redirects to HTTPS (301);
    - ``drop_invalid_header_fields``, idle timeout for WebSockets, access logs to an
      :class:`AccessLogBucket`, optional :class:`RateLimitWebAcl`.

    Share it between clusters with ``AutoscalingApiCluster(load_balancer=...)``.

    Attributes: ``config``, ``security_group``, ``ingress_rules``, ``load_balancer``,
    ``https_listener``, ``http_listener``, ``access_logs``, ``web_acl`` (or ``None``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: LoadBalancerConfig,
        vpc_id: str,
        subnet_ids: Sequence[str],
        certificate_arn: str,
        provider=None,
    ) -> None:
        if not isinstance(config, LoadBalancerConfig):
            raise ConfigError.of("config", "must be a constructs_substrate.cluster.LoadBalancerConfig", "ApiLoadBalancer")
        problems = network_problems(vpc_id, subnet_ids) + arguments.of_type(
            certificate_arn, str, "certificate_arn", "an ACM certificate ARN (e.g. DnsValidatedCertificate(...).certificate_arn)",
        )
        if problems:
            raise ConfigError(problems, "ApiLoadBalancer")
        super().__init__(scope, id)
        self.config = config
        prefix = name_prefix(self)
        name = prefix.rstrip("-")
        tags = {"Name": name}
        self.security_group = aws("security_group").SecurityGroup(
            self, "security-group", name_prefix=prefix, vpc_id=vpc_id, tags=tags,
            description="RPC load balancer: HTTPS and the redirect from HTTP",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True), provider=provider,
        )
        self.ingress_rules = add_ingress_rules(self, self.security_group.id, [
            Ingress("https", ports.HTTPS, "tcp", "HTTPS and WSS from clients", INTERNET),
            Ingress("http", ports.HTTP, "tcp", "HTTP, redirected to HTTPS", INTERNET),
        ], provider)

        self.access_logs = AccessLogBucket(
            self, "access-logs", name_prefix=prefix, retention_days=config.access_log_retention_days, provider=provider
        )
        lb = aws("lb")
        self.load_balancer = lb.Lb(
            self,
            "alb",
            name=name,
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            subnets=list(subnet_ids),
            security_groups=[self.security_group.id],
            idle_timeout=config.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            enable_http2=True,
            enable_deletion_protection=config.deletion_protection,
            access_logs=lb.LbAccessLogs(bucket=self.access_logs.bucket.id, prefix=self.access_logs.prefix, enabled=True),
            tags=tags,
            # The ALB checks on creation that it may write to the bucket.
            depends_on=[self.access_logs.policy],
            provider=provider,
        )
        listener = aws("lb_listener")
        self.https_listener = listener.LbListener(
            self,
            "https",
            load_balancer_arn=self.load_balancer.arn,
            port=ports.HTTPS,
            protocol="HTTPS",
            ssl_policy=config.ssl_policy,
            certificate_arn=certificate_arn,
            routing_http_response_strict_transport_security_header_value=HSTS,
            default_action=[listener.LbListenerDefaultAction(
                type="fixed-response",
                fixed_response=listener.LbListenerDefaultActionFixedResponse(
                    content_type="text/plain", status_code="404", message_body="unknown host\n"
                ),
            )],
            provider=provider,
        )
        self.http_listener = listener.LbListener(
            self,
            "http",
            load_balancer_arn=self.load_balancer.arn,
            port=ports.HTTP,
            protocol="HTTP",
            default_action=[listener.LbListenerDefaultAction(
                type="redirect",
                redirect=listener.LbListenerDefaultActionRedirect(
                    protocol="HTTPS", port=str(ports.HTTPS), status_code="HTTP_301"
                ),
            )],
            provider=provider,
        )
        self.web_acl = None
        if config.waf_rate_limit_per_5min is not None:
            self.web_acl = RateLimitWebAcl(
                self, "waf", name=f"{name}-rate-limit", limit_per_5min=config.waf_rate_limit_per_5min,
                resource_arn=self.load_balancer.arn, provider=provider,
            )

    @property
    def security_group_id(self) -> str:
        return self.security_group.id

    @property
    def arn_suffix(self) -> str:
        return self.load_balancer.arn_suffix
