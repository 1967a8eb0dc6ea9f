"""The readiness probe shipped to RPC nodes (``readiness_probe.py``, stdlib only)."""
