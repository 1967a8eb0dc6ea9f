"""The systemd sandbox of the small units the library writes in Python (the cluster's
lifecycle, restore, launch-failed and liveness units): no privileges, no devices, a
read-only system. One copy, so the units cannot drift apart; the node's and the
probe's units are templates with sandboxes of their own (bootstrap/templates/)."""

UNIT_SANDBOX = """CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=true
PrivateDevices=true
PrivateMounts=true
PrivateTmp=true
PrivateUsers=true
ProtectProc=invisible
ProtectSystem=strict
ProtectHome=true
ProtectClock=true
ProtectControlGroups=true
ProtectHostname=true
ProtectKernelLogs=true
ProtectKernelModules=true
ProtectKernelTunables=true
LockPersonality=true
MemoryDenyWriteExecute=true
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=true
RestrictRealtime=true
RestrictSUIDSGID=true
RemoveIPC=true
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
# A refused call fails with EPERM instead of killing the process with SIGSYS.
SystemCallErrorNumber=EPERM
"""
