"""``DnsValidatedCertificate``: an ACM certificate validated through Route53 DNS."""

from __future__ import annotations

import re
from typing import Sequence

from .._framework import Construct, TerraformResourceLifecycle, aws
from ..domains import check_domain
from ..errors import ConfigError


def _option(certificate, attribute: str, name: str) -> str:
    address = f"{certificate.terraform_resource_type}.{certificate.friendly_unique_id}"
    return "one([for o in " + address + ".domain_validation_options : o." + attribute + ' if o.domain_name == "' + name + '"])'


def _validation(certificate, attribute: str, name: str) -> str:
    """``attribute`` of the validation option of ``name``: picked by domain name, not
    by position (the options are a set, whose order is not the names' order)."""
    return "${" + _option(certificate, attribute, name) + "}"


def _record_fqdn(certificate, name: str) -> str:
    """The validation record's FQDN of ``name`` as ACM names it (without the final dot),
    for a record another stack owns."""
    return '${trimsuffix(' + _option(certificate, "resource_record_name", name) + ', ".")}'


class DnsValidatedCertificate(Construct):
    """A public ACM certificate for ``names`` (the first is the subject), one explicit
    CNAME validation record per name in ``zone_id``, and the validation itself.

    ACM gives every certificate of a name in one account the same validation CNAME, in
    every Region, and renews each of them only while that record exists ("DNS
    validation", ACM User Guide). A name that several stacks' certificates carry (the
    global name of ``deploy_chain``) must therefore have one owner: list it in
    ``validated_elsewhere`` everywhere but in that owner. No record is written for
    those names here; the validation waits for the owner's record (apply the owner's
    stack first, as ``deploy_chain`` orders its ``<chain>-validation`` stack).

    ``certificate_arn`` is the validated certificate's ARN: a listener using it is only
    created once ACM has issued the certificate. Names must be within the zone and
    are checked by the caller (see :class:`~constructs_substrate.cluster.config.ApiClusterConfig`).

    Attributes: ``certificate``, ``records`` (name to record, for the names this
    construct owns), ``validation``, ``certificate_arn``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Sequence[str],
        zone_id: str,
        validated_elsewhere: Sequence[str] = (),
        tags: dict[str, str] | None = None,
        provider=None,
    ) -> None:
        try:
            names = [check_domain(name) for name in names]
        except ValueError as error:
            raise ConfigError.of("names", str(error), "DnsValidatedCertificate") from None
        if not names or len(set(names)) != len(names):
            raise ConfigError.of("names", "give at least one name, each once", "DnsValidatedCertificate")
        others = [name for name in validated_elsewhere if name not in names]
        if others:
            raise ConfigError.of(
                "validated_elsewhere", f"{others} are not among names {names}", "DnsValidatedCertificate"
            )
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
        for name in (n for n in names if n not in validated_elsewhere):
            key = re.sub(r"[^a-z0-9]+", "-", name)
            self.records[name] = aws("route53_record").Route53Record(
                self,
                f"validation-{key}",
                zone_id=zone_id,
                name=_validation(self.certificate, "resource_record_name", name),
                type=_validation(self.certificate, "resource_record_type", name),
                records=[_validation(self.certificate, "resource_record_value", name)],
                ttl=300,
                # Create-before-destroy replacements of this certificate share the record:
                # the same resource keeps it, no second owner (allow_overwrite stays off).
                provider=provider,
            )
        self.validation = aws("acm_certificate_validation").AcmCertificateValidation(
            self,
            "validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=[
                self.records[name].fqdn if name in self.records else _record_fqdn(self.certificate, name)
                for name in names
            ],
            provider=provider,
        )
        self.certificate_arn = self.validation.certificate_arn
