"""Backends: CDK for Terraform (cdktf) and CDK Terrain (cdktn).

Selection rules (pure function, then real processes), mixing the two rejected, and the
same stack synthesized on each backend giving the same logical ids and resources (no
state drift when a deployment moves from one to the other). See docs/backends.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from constructs_substrate import ConfigError
from constructs_substrate import _framework as fw

ROOT = Path(__file__).resolve().parents[2]
BOTH = ("cdktf", "cdktn")
INSTALLED = fw.installed_backends()
ENV = fw.FRAMEWORK_ENV
needs_both = pytest.mark.skipif(len(INSTALLED) < 2, reason="needs cdktf and cdktn installed ([cdktn] extra)")


def select(env: dict[str, str] | None = None, imported=(), installed=BOTH) -> fw.Selection:
    return fw.select_backend(environ=env or {}, modules=dict.fromkeys(imported), installed=installed)


def run(code: str, backend: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (so nothing is imported yet), with the
    backend forced by the environment variable, or with it unset."""
    env = {key: value for key, value in os.environ.items() if key != ENV}
    if backend:
        env[ENV] = backend
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, check=check, cwd=ROOT
    )


# -- selection rules --------------------------------------------------------------


@pytest.mark.parametrize("name", BOTH)
def test_environment_variable_wins_over_imports(name):
    other = next(b for b in BOTH if b != name)
    chosen = select({ENV: name}, imported=[other])
    assert chosen.backend is fw.BACKENDS[name]
    assert ENV in chosen.reason


def test_environment_variable_ignores_case_and_spaces_and_empty_means_unset():
    assert select({ENV: " CDKTN "}).backend.name == "cdktn"
    assert select({ENV: ""}, imported=["cdktf"]).backend.name == "cdktf"


def test_invalid_environment_value_is_a_clear_error():
    with pytest.raises(ConfigError) as raised:
        select({ENV: "pulumi"})
    message = str(raised.value)
    assert raised.value.fields == (ENV,)
    assert "'pulumi'" in message and "'cdktf'" in message and "'cdktn'" in message


def test_environment_naming_a_backend_that_is_not_installed_says_what_to_install():
    with pytest.raises(ConfigError, match=r"not installed.*pip install 'constructs-substrate\[cdktn\]'"):
        select({ENV: "cdktn"}, installed=("cdktf",))


@pytest.mark.parametrize("name", BOTH)
def test_the_framework_the_application_imported_is_used(name):
    chosen = select(imported=[name, "constructs", "jsii", f"{fw.BACKENDS[name].aws_package}.vpc"])
    assert chosen.backend.name == name
    assert chosen.reason == f"the application imported {name}"


@pytest.mark.parametrize("imported", [(), BOTH])
def test_without_a_single_import_the_installed_backend_decides(imported):
    assert select(imported=imported, installed=("cdktf",)).backend.name == "cdktf"
    assert select(imported=imported, installed=("cdktn",)).backend.name == "cdktn"
    both = select(imported=imported, installed=BOTH)
    assert both.backend.name == fw.DEFAULT_BACKEND == "cdktn"
    assert "default" in both.reason


def test_nothing_installed_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"neither .* is installed"):
        select(installed=())


def test_installed_backends_are_real():
    assert INSTALLED, "cdktf (a base dependency) or cdktn must be installed"
    assert set(INSTALLED) <= set(BOTH)


def test_the_selection_is_made_once_per_process():
    assert fw.selection() is fw.selection()
    if os.environ.get(ENV):
        assert fw.backend().name == os.environ[ENV].strip().lower()


# -- stand-ins and scope checks in this process -------------------------------------


def test_stand_ins_are_the_selected_framework_classes():
    app = fw.App(stack_traces=False)

    class Stack(fw.TerraformStack):
        pass

    stack = Stack(app, "stack")
    assert isinstance(stack, fw.TerraformStack) and issubclass(Stack, fw.TerraformStack)
    assert not isinstance("text", fw.TerraformStack)
    assert type(app).__module__.split(".")[0] == fw.backend().name
    assert fw.framework_of(stack) == {fw.backend().name}
    fw.check_scope(stack)  # same framework: accepted
    assert fw.is_token("plain") is False


def test_scope_must_be_a_construct():
    with pytest.raises(ConfigError, match="must be a construct"):
        fw.check_scope("not a construct", "SubstrateNode")


# -- real processes -------------------------------------------------------------------


@pytest.mark.parametrize("name", INSTALLED)
def test_detection_does_not_depend_on_import_order(name):
    """The library is imported before the app's framework: the choice is made on first
    use, when the app's App and stack exist."""
    out = run(f"""
        from constructs_substrate import NodeNetwork, SubstrateNode  # library first
        from constructs_substrate import _framework as fw
        import {name}
        app = {name}.App()
        stack = {name}.TerraformStack(app, "stack")
        fw.check_scope(stack)
        print(fw.selection().backend.name, "|", fw.selection().reason)
    """)
    assert out.stdout.strip().split("\n")[-1] == f"{name} | the application imported {name}"


MIXED = """
    import cdktf, cdktn
    from constructs_substrate import ConfigError, NodeNetwork
    {build}
    try:
        NodeNetwork(stack, "network")
    except ConfigError as error:
        print("REJECTED", error)
    else:
        print("ACCEPTED")
"""


@needs_both
@pytest.mark.parametrize(
    "selected, build, expected",
    [
        ("cdktn", "stack = cdktf.TerraformStack(cdktf.App(), 'stack')", "built with CDK for Terraform (cdktf), but"),
        ("cdktf", "stack = cdktn.TerraformStack(cdktn.App(), 'stack')", "built with CDK Terrain (cdktn), but"),
        ("cdktn", "stack = cdktf.TerraformStack(cdktn.App(), 'stack')", "CDK for Terraform (cdktf) and CDK Terrain (cdktn)"),
    ],
    ids=["cdktf-app-on-cdktn", "cdktn-app-on-cdktf", "mixed-tree"],
)
def test_mixing_the_frameworks_is_rejected(selected, build, expected):
    out = run(MIXED.format(build=build), backend=selected).stdout
    assert "REJECTED NodeNetwork.scope:" in out, out
    assert expected in out and f"{ENV}=cdktf" in out


SYNTH = """
    import json
    from helpers import synth
    from constructs_substrate import NodeConfig, NodeNetwork, SubstrateNode
    from constructs_substrate._framework import selection

    def build(stack):
        network = NodeNetwork(stack, "network")
        SubstrateNode(stack, "validator", config=NodeConfig(role="validator", name="val-1"),
                      subnet_id=network.subnet_ids[0])
        SubstrateNode(stack, "rpc", subnet_id=network.subnet_ids[1], config=NodeConfig(
            role="rpc", name="rpc-1", dns={"zone_id": "Z123", "name": "rpc.example.com"},
            tls={"domain": "rpc.example.com", "email": "ops@example.com"}))

    print(json.dumps({"backend": selection().backend.name, "document": synth(build)}))
"""


@needs_both
def test_same_stack_gives_the_same_logical_ids_and_resources_on_both_backends():
    env = {key: value for key, value in os.environ.items() if key != ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    processes = {  # in parallel: each spends most of its time importing its AWS bindings
        name: subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(SYNTH)], env={**env, ENV: name}, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in BOTH
    }
    documents = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        result = json.loads(stdout.strip().split("\n")[-1])
        assert result["backend"] == name
        documents[name] = result["document"]
    cdktf, cdktn = documents["cdktf"], documents["cdktn"]

    def ids(document: dict, block: str) -> dict[str, list[str]]:
        return {kind: sorted(items) for kind, items in document.get(block, {}).items()}

    assert ids(cdktf, "resource") == ids(cdktn, "resource")
    assert ids(cdktf, "data") == ids(cdktn, "data")
    assert sorted(cdktf["output"]) == sorted(cdktn["output"])
    assert len(ids(cdktf, "resource")) > 10
    # Everything else is identical too, except the pinned provider version and how
    # its source is spelled ("aws" and "hashicorp/aws" are the same provider address).
    providers = {name: doc["terraform"].pop("required_providers")["aws"] for name, doc in documents.items()}
    assert {p["source"].removeprefix("hashicorp/") for p in providers.values()} == {"aws"}
    assert all(p["version"].split(".")[0] == "6" for p in providers.values())
    assert cdktf == cdktn
