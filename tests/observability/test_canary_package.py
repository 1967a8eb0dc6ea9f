"""The canary's zip: deterministic bytes, the layout Synthetics expects, stdlib only."""

from __future__ import annotations

import ast
import io
import sys
import zipfile

from constructs_substrate.observability.canary.package import HANDLER, build_zip, canary_sources, zip_digest


def test_zip_is_byte_identical_between_builds():
    assert build_zip() == build_zip()
    assert zip_digest(build_zip()) == zip_digest(build_zip())


def test_zip_layout():
    archive = zipfile.ZipFile(io.BytesIO(build_zip()))
    names = archive.namelist()
    assert names == sorted(names)
    assert names == [
        "python/canary_handler.py",
        "python/substrate_canary/__init__.py",
        "python/substrate_canary/check.py",
        "python/substrate_canary/handler.py",
        "python/substrate_canary/websocket.py",
    ]
    for info in archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_STORED
        assert (info.external_attr >> 16) == 0o644
    assert HANDLER == "canary_handler.handler"


def test_canary_code_uses_only_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"__future__"}
    for name, source in canary_sources().items():
        tree = ast.parse(source.decode(), filename=name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module.split(".")[0]]
            else:
                continue
            for module in modules:
                assert module in allowed or module == "substrate_canary", f"{name} imports {module}"


def test_a_code_change_changes_the_digest():
    members = canary_sources()
    members["python/substrate_canary/check.py"] += b"\n# changed\n"
    assert zip_digest(build_zip(members)) != zip_digest(build_zip())
