"""The one module that imports the Terraform-CDK framework.

Every other module gets ``App``, ``TerraformStack``, the AWS bindings and friends
from here, so the library runs unchanged on CDK for Terraform (``cdktf`` with
``cdktf-cdktf-provider-aws``) and on CDK Terrain (``cdktn`` with ``cdktn-provider-aws``),
the community continuation of cdktf. See docs/backends.md.

Which framework (the *backend*) is used is decided once per process, on first use
(not at import, so the order of a user's imports does not matter):

1. ``CONSTRUCTS_SUBSTRATE_FRAMEWORK=cdktf|cdktn`` if set;
2. otherwise the one of ``cdktf`` / ``cdktn`` the application already imported
   (it built its ``App`` and stacks with it), if exactly one is in ``sys.modules``;
3. otherwise the one installed; with both installed, CDK Terrain (:data:`DEFAULT_BACKEND`).

``App``, ``TerraformStack``, ``Fn``... exported here are stand-ins that resolve to the
selected framework's class on first use (calls, attributes, ``isinstance`` and
subclassing work). Constructs derive from :class:`Construct`, which rejects a scope
whose tree was built with the other framework (:func:`check_scope`).

AWS bindings are imported per submodule through :func:`aws`: cdktf's provider
package root eagerly imports ~2,200 submodules (seconds and hundreds of MB), so we
never import a provider package root.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import weakref
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Mapping

JSII_NODE_BANNER_ENV = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
"""jsii's own switch for its 11-line "Node <major> is end-of-life" banner (comma-separated
Node majors), printed on stderr as Python byte literals at every start of its runtime
(docs/backends.md#nodejs). Set for Node 20, which the README supports, unless the user
set it: importing this module starts the runtime."""
os.environ.setdefault(JSII_NODE_BANNER_ENV, "20")

import constructs as _constructs  # noqa: E402  (shared by both frameworks: one jsii assembly)

from .errors import ConfigError

FRAMEWORK_ENV = "CONSTRUCTS_SUBSTRATE_FRAMEWORK"
"""Environment variable that forces the backend: ``cdktf`` or ``cdktn``."""


@dataclass(frozen=True)
class Backend:
    """One Terraform-CDK framework and its AWS provider bindings."""

    name: str
    """``cdktf`` or ``cdktn``: the framework's Python module and this library's name for it."""
    title: str
    aws_package: str
    """Python package of the prebuilt AWS provider bindings."""
    requirement: str
    """What to ``pip install`` to get it."""

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(self.name)


BACKENDS: dict[str, Backend] = {
    "cdktf": Backend(
        "cdktf", "CDK for Terraform", "cdktf_cdktf_provider_aws",
        "constructs-substrate (cdktf and cdktf-cdktf-provider-aws are its base dependencies)",
    ),
    "cdktn": Backend(
        "cdktn", "CDK Terrain", "cdktn_provider_aws", "'constructs-substrate[cdktn]'",
    ),
}
DEFAULT_BACKEND = "cdktn"
"""Used when both frameworks are installed and the application imported neither (or
both): having both means someone installed the ``[cdktn]`` extra on purpose, and CDK
Terrain is maintained and imports its AWS bindings several times faster."""


@dataclass(frozen=True)
class Selection:
    backend: Backend
    reason: str
    """Why this backend, for messages: e.g. ``the application imported cdktn``."""


def installed_backends() -> tuple[str, ...]:
    """Backends whose framework and AWS bindings are both installed (nothing is imported)."""
    return tuple(
        name for name, b in BACKENDS.items()
        if importlib.util.find_spec(name) is not None and importlib.util.find_spec(b.aws_package) is not None
    )


def select_backend(
    environ: Mapping[str, str] | None = None,
    modules: Mapping[str, object] | None = None,
    installed: tuple[str, ...] | None = None,
) -> Selection:
    """Apply the selection rules to an environment, a ``sys.modules`` and the installed
    backends (defaults: this process's). Pure: nothing is imported or cached."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    forced = environ.get(FRAMEWORK_ENV, "").strip().lower()
    if forced:
        if forced not in BACKENDS:
            raise ConfigError.of(
                FRAMEWORK_ENV,
                f"{environ[FRAMEWORK_ENV]!r} is not a framework; use 'cdktf' (CDK for Terraform) "
                "or 'cdktn' (CDK Terrain), or unset it to detect the one your app uses",
            )
        backend = BACKENDS[forced]
        installed = installed_backends() if installed is None else installed
        if forced not in installed:
            raise ConfigError.of(
                FRAMEWORK_ENV,
                f"{forced!r} ({backend.title}) is selected but not installed with its AWS "
                f"bindings ({backend.aws_package}); pip install {backend.requirement}",
            )
        return Selection(backend, f"{FRAMEWORK_ENV}={forced}")
    imported = [name for name in BACKENDS if name in modules]
    if len(imported) == 1:
        return Selection(BACKENDS[imported[0]], f"the application imported {imported[0]}")
    installed = installed_backends() if installed is None else installed
    if not installed:
        raise ConfigError.of(
            FRAMEWORK_ENV,
            "neither CDK for Terraform (cdktf + cdktf-cdktf-provider-aws) nor CDK Terrain "
            "(cdktn + cdktn-provider-aws) is installed; pip install constructs-substrate "
            "or 'constructs-substrate[cdktn]'",
        )
    if len(installed) == 1:
        return Selection(BACKENDS[installed[0]], f"only {installed[0]} is installed")
    why = "both are imported" if imported else "both are installed"
    return Selection(BACKENDS[DEFAULT_BACKEND], f"{why}; {DEFAULT_BACKEND} is the default")


_selection: Selection | None = None


def selection() -> Selection:
    """The backend of this process and why; decided on first call, then fixed."""
    global _selection
    if _selection is None:
        _selection = select_backend()
    return _selection


def backend() -> Backend:
    return selection().backend


def aws(submodule: str) -> ModuleType:
    """Import one AWS provider binding submodule, e.g. ``aws("instance").Instance``."""
    package = backend().aws_package
    name = f"{package}.{submodule}"
    module = sys.modules.get(name)
    return module if module is not None else importlib.import_module(name)


def is_token(value: object) -> bool:
    """True when ``value`` is only known at deploy time (a Terraform reference)."""
    # Both frameworks mark string tokens "${TfToken[TOKEN.n]}": skip the jsii round trip
    # for strings that cannot be one.
    return isinstance(value, str) and "TfToken[" in value and Token.is_unresolved(value)


def framework_of(scope: Any) -> set[str]:
    """The backends whose classes built ``scope`` and its ancestors (normally one;
    empty for a tree of plain ``constructs.Construct``)."""
    found = set()
    for node in scope.node.scopes:
        for klass in type(node).__mro__:
            root = klass.__module__.partition(".")[0]
            if root in BACKENDS:
                found.add(root)
                break
    return found


_checked_scopes: "weakref.WeakSet[Any]" = weakref.WeakSet()
"""Scopes already accepted (each check costs jsii round trips; stacks get many children)."""


def check_scope(scope: Any, owner: str = "scope") -> None:
    """Reject a ``scope`` whose construct tree was built with the other framework (or
    with both): the two frameworks' objects must never be mixed in one app."""
    if isinstance(scope, Construct) or scope in _checked_scopes:
        return  # one of ours (checked when it was created), or checked before
    if not isinstance(scope, _constructs.Construct):
        raise ConfigError.of("scope", f"must be a construct (an App, a stack or a construct), not {type(scope).__name__}", owner)
    found = framework_of(scope)
    chosen = selection()
    if found - {chosen.backend.name}:
        other = " and ".join(f"{BACKENDS[n].title} ({n})" for n in sorted(found))
        raise ConfigError.of(
            "scope",
            f"'{scope.node.path}' was built with {other}, but constructs_substrate is using "
            f"{chosen.backend.title} ({chosen.backend.name}) because {chosen.reason}. Build the app, "
            "its stacks and providers with one framework; if the application imports both, "
            f"choose with {FRAMEWORK_ENV}=cdktf or =cdktn",
            owner,
        )
    _checked_scopes.add(scope)


class Construct(_constructs.Construct):
    """Base of this library's constructs: a ``constructs.Construct`` whose scope must
    belong to the selected framework (see :func:`check_scope`)."""

    def __init__(self, scope: _constructs.Construct, id: str) -> None:
        check_scope(scope, type(self).__name__)
        super().__init__(scope, id)


class _Deferred:
    """Stands for a class or object of the selected framework, looked up on first use."""

    __slots__ = ("_name", "_resolved")

    def __init__(self, name: str) -> None:
        self._name = name
        self._resolved: Any = None

    def _target(self) -> Any:
        if self._resolved is None:
            self._resolved = getattr(backend().module, self._name)
        return self._resolved

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._target(), attribute)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self._target())

    def __subclasscheck__(self, subclass: type) -> bool:
        return issubclass(subclass, self._target())

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (self._target(),)

    def __repr__(self) -> str:
        return f"<{self._name} of the selected Terraform-CDK framework>"


App = _Deferred("App")
Fn = _Deferred("Fn")
LocalBackend = _Deferred("LocalBackend")
S3Backend = _Deferred("S3Backend")
TerraformOutput = _Deferred("TerraformOutput")
TerraformResourceLifecycle = _Deferred("TerraformResourceLifecycle")
TerraformStack = _Deferred("TerraformStack")
Token = _Deferred("Token")
SynthTesting = _Deferred("Testing")  # pytest would collect a name "Testing"


def __getattr__(name: str) -> Any:
    if name == "AWS_PROVIDER_PACKAGE":  # before backends: a constant
        return backend().aws_package
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "App",
    "BACKENDS",
    "Backend",
    "Construct",
    "DEFAULT_BACKEND",
    "FRAMEWORK_ENV",
    "Fn",
    "LocalBackend",
    "S3Backend",
    "Selection",
    "SynthTesting",
    "TerraformOutput",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Token",
    "aws",
    "backend",
    "check_scope",
    "framework_of",
    "installed_backends",
    "is_token",
    "select_backend",
    "selection",
]
