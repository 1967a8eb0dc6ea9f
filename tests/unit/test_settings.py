"""Deployment settings: file + environment, documented defaults, clear errors."""

import json

import pytest

from constructs_substrate import ConfigError
from constructs_substrate.settings import DeploymentSettings, load_settings


def test_defaults_without_file_or_env(tmp_path):
    settings = load_settings(tmp_path, environ={})
    assert settings == DeploymentSettings()
    assert settings.regions[0] == "eu-central-1"


def test_file_then_environment(tmp_path):
    (tmp_path / "substrate.settings.json").write_text(json.dumps({"domain": "dot.example.org", "validators": 3}))
    settings = load_settings(tmp_path, environ={"SUBSTRATE_REGIONS": "us-west-2, eu-west-1"})
    assert settings.domain == "dot.example.org" and settings.validators == 3
    assert settings.regions == ("us-west-2", "eu-west-1")
    assert settings.acme_email == "hostmaster@dot.example.org"


@pytest.mark.parametrize(
    "environ,field",
    [
        ({"SUBSTRATE_REGIONS": "eu-central-1,eu-central-1"}, "DeploymentSettings.regions"),
        ({"SUBSTRATE_REGIONS": "moon-1"}, "DeploymentSettings.regions"),
        ({"SUBSTRATE_DOMAIN": "a.example.org", "SUBSTRATE_ZONE_NAME": "example.com"}, "DeploymentSettings.domain"),
        ({"SUBSTRATE_RPC_MIN": "5", "SUBSTRATE_RPC_MAX": "2"}, "DeploymentSettings.rpc_min_size"),
        ({"SUBSTRATE_VALIDATORS": "many"}, "DeploymentSettings.validators"),
        ({"SUBSTRATE_ROUTING": "random"}, "DeploymentSettings.routing_policy"),
    ],
)
def test_bad_settings(tmp_path, environ, field):
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path, environ=environ)
    assert field in raised.value.fields


def test_missing_named_settings_file(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path, environ={"SUBSTRATE_SETTINGS": str(tmp_path / "nope.json")})
    assert "does not exist" in str(raised.value)
