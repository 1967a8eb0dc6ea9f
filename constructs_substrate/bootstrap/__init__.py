"""The cloud-init bootstrap of a node, rendered in Python: pure functions from a
:class:`~constructs_substrate.config.NodeConfig` to text (see docs/bootstrap.md).

- :func:`render_bootstrap` gives the user data (a small boot stage) and the bootstrap
  bundle it fetches from S3 (:class:`Bootstrap`, :class:`Bundle`);
- :class:`BootstrapExtension` lets another construct add files, packages and commands;
- :func:`render_nginx_site` and :func:`certbot_command` are the TLS pieces, usable alone.

Scripts, units and nginx sites are files under ``templates/``, one concern each.
"""

from .bundle import BUNDLE_LIMIT, Bundle, BundleSource
from .model import USER_DATA_LIMIT, Bootstrap, BootstrapExtension, RenderedFile
from .render import render_bootstrap
from .tls import Location, certbot_command, render_nginx_site

__all__ = [
    "BUNDLE_LIMIT",
    "Bootstrap",
    "BootstrapExtension",
    "Bundle",
    "BundleSource",
    "Location",
    "RenderedFile",
    "USER_DATA_LIMIT",
    "certbot_command",
    "render_bootstrap",
    "render_nginx_site",
]
