"""All framework imports go through constructs_substrate._framework, per submodule."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "constructs_substrate"
FRAMEWORK_ROOTS = {"cdktf", "cdktn", "constructs", "cdktf_cdktf_provider_aws", "cdktn_provider_aws"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_framework_module_imports_the_framework():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(imported_roots(path) & FRAMEWORK_ROOTS)
        for path in PACKAGE.rglob("*.py")
        if path.name != "_framework.py" and imported_roots(path) & FRAMEWORK_ROOTS
    }
    assert offenders == {}


def test_config_imports_without_the_framework():
    import subprocess
    import sys

    code = (
        "import sys, constructs_substrate as c; c.NodeConfig(role='rpc', name='x');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{sorted(FRAMEWORK_ROOTS)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
