"""``DnsValidatedCertificate``: an ACM certificate validated through Route53 DNS."""

from __future__ import annotations

import re
from typing import Sequence

from .._framework import Construct, TerraformResourceLifecycle, aws
from ..domains import check_domain
from ..errors import ConfigError


def _validation(certificate, attribute: str, name: str) -> str:
    """``attribute`` of the validation option of ``name``: picked by domain name, not
    by position (the options are a set, whose order is not the names' order)."""
    address = f"{certificate.terraform_resource_type}.{certificate.friendly_unique_id}"
    return (
        "${one([for o in " + address + ".domain_validation_options : o." + attribute
        + ' if o.domain_name == "' + name + '"])}'
    )


class DnsValidatedCertificate(Construct):
    """A public ACM certificate for ``names`` (the first is the subject), one explicit
    CNAME validation record per name in ``zone_id``, and the validation itself.

    ``certificate_arn`` is the validated certificate's ARN: a listener using it is only
    created once ACM has issued the certificate. Names must be within the zone and
    are checked by the caller (see :class:`~constructs_substrate.cluster.config.ApiClusterConfig`).

    Attributes: ``certificate``, ``records`` (name to record), ``validation``,
    ``certificate_arn``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Sequence[str],
        zone_id: str,
        tags: dict[str, str] | None = None,
        provider=None,
    ) -> None:
        try:
            names = [check_domain(name) for name in names]
        except ValueError as error:
            raise ConfigError.of("names", str(error), "DnsValidatedCertificate") from None
        if not names or len(set(names)) != len(names):
            raise ConfigError.of("names", "give at least one name, each once", "DnsValidatedCertificate")
        super().__init__(scope, id)
        self.certificate = aws("acm_certificate").AcmCertificate(
            self,
            "certificate",
            domain_name=names[0],
            subject_alternative_names=names[1:] or None,
            validation_method="DNS",
            tags=tags,
            # A name change issues a new certificate before the listener lets go of the old one.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            provider=provider,
        )
        self.records = {}
        for name in names:
            key = re.sub(r"[^a-z0-9]+", "-", name)
            self.records[name] = aws("route53_record").Route53Record(
                self,
                f"validation-{key}",
                zone_id=zone_id,
                name=_validation(self.certificate, "resource_record_name", name),
                type=_validation(self.certificate, "resource_record_type", name),
                records=[_validation(self.certificate, "resource_record_value", name)],
                ttl=300,
                # Another certificate of the same name (e.g. a previous deploy) uses the same record.
                allow_overwrite=True,
                provider=provider,
            )
        self.validation = aws("acm_certificate_validation").AcmCertificateValidation(
            self,
            "validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=[record.fqdn for record in self.records.values()],
            provider=provider,
        )
        self.certificate_arn = self.validation.certificate_arn
