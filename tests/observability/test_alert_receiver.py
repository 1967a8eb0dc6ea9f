"""Alerts need someone to hear them (issue 12 item 5): a Monitoring or AlertTopic without
an e-mail or PagerDuty receiver refuses to synthesize, naming ``notifications``, unless
the user says why (``Notifications.no_receiver_reason``)."""

from __future__ import annotations

import pytest
from helpers import resources, synth

from constructs_substrate.errors import ConfigError
from constructs_substrate.observability import Monitoring, MonitoringConfig, Notifications
from constructs_substrate.observability.notifications import AlertTopic


def test_monitoring_without_receiver_is_refused_naming_the_field():
    with pytest.raises(ConfigError) as caught:
        synth(lambda stack: Monitoring(stack, "monitoring", config=MonitoringConfig(name="polkadot-eu")))
    assert caught.value.fields == ("notifications",)
    assert "no_receiver_reason" in str(caught.value) and "emails" in str(caught.value)


def test_alert_topic_without_receiver_is_refused():
    with pytest.raises(ConfigError, match="no alert receiver"):
        synth(lambda stack: AlertTopic(stack, "alerts", name_prefix="x-", notifications=Notifications()))


def test_explicit_opt_out_synthesizes_without_subscription():
    config = MonitoringConfig(name="polkadot-eu", notifications={"no_receiver_reason": "staging: dashboard only"})
    document = synth(lambda stack: Monitoring(stack, "monitoring", config=config))
    assert resources(document, "aws_sns_topic") and not resources(document, "aws_sns_topic_subscription")


def test_receiver_synthesizes_with_subscription():
    config = MonitoringConfig(name="polkadot-eu", notifications={"emails": ["ops@example.org"]})
    document = synth(lambda stack: Monitoring(stack, "monitoring", config=config))
    (subscription,) = resources(document, "aws_sns_topic_subscription").values()
    assert subscription["endpoint"] == "ops@example.org"


def test_blank_reason_is_not_a_reason():
    with pytest.raises(ConfigError) as caught:
        Notifications(no_receiver_reason="  ")
    assert caught.value.fields == ("Notifications.no_receiver_reason",)
