"""``FakeAws``: the AWS side of an instance on loopback, for tests that run the shipped
``lifecycle_action.py`` (the lifecycle wait, the fail-fast abandon, the liveness
watcher, the region in a box) for real.

One local HTTP port serves IMDSv2 (token, instance id, region, role credentials,
lifecycle state) and the EC2 Auto Scaling Query API. Every API call's SigV4 signature
is recomputed from what arrived, with the library's own signer, and recorded with the
call's parameters: a test asserts what was asked, how often and that it was signed
with the role's session credentials. Replies: ``answers`` in turn, then ``answer``.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from constructs_substrate.cluster import lifecycle_action

INSTANCE = "i-0123456789abcdef0"
ACCOUNT = "123456789012"
"""The identity document's account (moto's default account, for tests against moto)."""
CREDENTIALS = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret/key+EXAMPLE", "Token": "session-token"}
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$"
)


class FakeAws:
    """Serve with ``with FakeAws() as aws:`` (or start ``aws.server`` yourself);
    ``aws.url`` is both the IMDS base and the API endpoint."""

    def __init__(self, answers: list[tuple[int, str]] | None = None, instance: str = INSTANCE) -> None:
        self.calls: list[dict] = []
        self.answers = list(answers or [])
        self.answer = (200, "<CompleteLifecycleActionResponse/>")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_PUT(self) -> None:
                ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                self._send(200 if ok else 400, "imds-token")

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") != "imds-token":
                    return self._send(401, "")
                answers = {
                    "/latest/meta-data/instance-id": instance,
                    "/latest/meta-data/placement/region": "eu-central-1",
                    "/latest/meta-data/iam/security-credentials/": "node-role",
                    "/latest/meta-data/iam/security-credentials/node-role": json.dumps(CREDENTIALS),
                    "/latest/meta-data/autoscaling/target-lifecycle-state": "InService",
                    "/latest/dynamic/instance-identity/document": json.dumps(
                        {"accountId": ACCOUNT, "region": "eu-central-1", "instanceId": INSTANCE}),
                }
                self._send(200, answers[self.path]) if self.path in answers else self._send(404, "")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.calls.append({"time": time.monotonic(), "params": dict(urllib.parse.parse_qsl(body.decode())),
                                   "signed": fake.check_signature(self.headers, body)})
                self._send(*(fake.answers.pop(0) if fake.answers else fake.answer))

            def _send(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def check_signature(headers, body: bytes) -> bool:
        """True when the request is signed for Auto Scaling with the role's session
        credentials and the signature is the one the library's signer computes."""
        match = _AUTHORIZATION.match(headers.get("Authorization", ""))
        if not match or match.group(1) != CREDENTIALS["AccessKeyId"]:
            return False
        names = match.group(5).split(";")
        signed = {name: headers[name] for name in names}
        now = datetime.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        expected = lifecycle_action.sign("POST", "", signed, body, match.group(3), match.group(4),
                                         CREDENTIALS["AccessKeyId"], CREDENTIALS["SecretAccessKey"], now)
        return (expected == headers["Authorization"] and match.group(4) == "autoscaling"
                and "x-amz-security-token" in names and headers["X-Amz-Security-Token"] == CREDENTIALS["Token"])

    def actions(self) -> list[str]:
        return [call["params"]["Action"] for call in self.calls]

    def results(self) -> list[str | None]:
        return [call["params"].get("LifecycleActionResult") for call in self.calls]

    def __enter__(self) -> "FakeAws":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
