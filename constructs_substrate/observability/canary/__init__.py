"""The synthetic WebSocket check: a stdlib RFC 6455 client (:mod:`.websocket`), the
check a client would make (:mod:`.check`), the Synthetics entry point
(:mod:`.handler`) and its deterministic zip (:mod:`.package`)."""
