"""The bootstrap bundle, for real: the shipped boot stage (``bundle_fetch.py`` +
``lifecycle_action.py``, as the user data writes them) fetches the bundle from moto's
S3 server on loopback, signed with SigV4 from a fake IMDSv2, verifies it against the
pinned SHA-256 and unpacks it into a temporary root; a tampered object is refused and
nothing is unpacked; a transient 5xx is retried with backoff; a bundle that never
comes fails the boot and (cluster) abandons the launch lifecycle action.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from constructs_substrate import NodeConfig
from constructs_substrate.bootstrap import BUNDLE_LIMIT, USER_DATA_LIMIT, BundleSource, bundle, render_bootstrap
from constructs_substrate.bootstrap import cluster_extension as ext
from constructs_substrate.cluster import lifecycle_action
from constructs_substrate.cluster.config import ApiClusterConfig, ChainSnapshot
from constructs_substrate.errors import ConfigError

from bootstrap_support import CONFIGS
from fake_aws import ACCOUNT, CREDENTIALS, FakeAws

REGION = "eu-central-1"
SOURCE = BundleSource("test-boot-", "nodes/rpc-1/bootstrap.tar.gz")
BUCKET = f"{SOURCE.bucket_prefix}{ACCOUNT}-{REGION}"


def cluster_bootstrap():
    config = ApiClusterConfig(
        node=NodeConfig(role="archive", name="archive-1"), domain_name="eu.rpc.example.com",
        zone_name="rpc.example.com", hosted_zone_id="Z0123456789",
        snapshot=ChainSnapshot(archive_url="https://snapshots.example.com/polkadot.tar.zst", archive_sha256="a" * 64),
    )
    extension = ext.cluster_extension(config, group_name="group", hook_name="hook")
    return render_bootstrap(config.node, [extension], source=SOURCE)


@pytest.fixture(scope="module")
def moto_s3():
    """moto's server on a free loopback port, with the bucket the boot stage derives."""
    from moto.server import ThreadedMotoServer
    import boto3

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield url, s3
    server.stop()


class SigningProxy:
    """Between the boot stage and moto: checks every request's SigV4 signature with the
    library's signer (moto does not), records it, answers ``failures`` (status, S3
    error code) first, then forwards to moto."""

    def __init__(self, upstream: str, failures: list[tuple[int, str]] = ()):
        self.requests: list[dict] = []
        self.failures = list(failures)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.requests.append({"path": self.path, "signed": proxy.signed(self), "headers": dict(self.headers)})
                if proxy.failures:
                    status, code = proxy.failures.pop(0)
                    return self.reply(status, f"<Error><Code>{code}</Code></Error>".encode())
                forwarded = urllib.request.Request(upstream + self.path, headers={
                    k: v for k, v in self.headers.items() if k.lower() != "host"})
                try:
                    with urllib.request.urlopen(forwarded, timeout=10) as response:
                        self.reply(response.status, response.read())
                except urllib.error.HTTPError as error:
                    self.reply(error.code, error.read())

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def signed(handler) -> bool:
        headers = handler.headers
        authorization = headers.get("Authorization", "")
        names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";") if "SignedHeaders=" in authorization else []
        now = datetime.datetime.strptime(headers.get("X-Amz-Date", "19700101T000000Z"), "%Y%m%dT%H%M%SZ")
        expected = lifecycle_action.sign(
            "GET", "", {n: headers[n] for n in names}, b"", REGION, "s3",
            CREDENTIALS["AccessKeyId"], CREDENTIALS["SecretAccessKey"], now, handler.path)
        return (authorization == expected and headers.get("X-Amz-Security-Token") == CREDENTIALS["Token"]
                and headers.get("X-Amz-Expected-Bucket-Owner") == ACCOUNT
                and {"x-amz-content-sha256", "x-amz-security-token", "x-amz-expected-bucket-owner", "host"} <= set(names))

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def boot_stage(bootstrap, tmp_path: Path, imds: str, endpoint: str, **overrides) -> tuple[Path, Path, Path]:
    """The boot stage's files as the user data writes them, pointed at the fakes;
    ``(fetch script, config, root)``."""
    stage = tmp_path / "boot"
    stage.mkdir()
    for file in bootstrap.boot_files:
        (stage / Path(file.path).name).write_text(file.content)
    config = json.loads(bootstrap.file(bundle.BOOT_CONFIG).content)
    root = tmp_path / "root"
    config.update(imds=imds, endpoint=endpoint, root=str(root), **overrides)
    path = stage / "bundle.json"
    path.write_text(json.dumps(config))
    return stage / "bundle_fetch.py", path, root


def run(script: Path, config: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), str(config), *command],
                          capture_output=True, text=True, timeout=120)


def tree(root: Path) -> dict[str, tuple[str, int]]:
    return {"/" + str(p.relative_to(root)): (p.read_text(), p.stat().st_mode & 0o7777)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_fetches_verifies_unpacks_then_runs_the_bootstrap(moto_s3, tmp_path):
    url, s3 = moto_s3
    bootstrap = render_bootstrap(CONFIGS["rpc"](), source=SOURCE)
    s3.put_object(Bucket=BUCKET, Key=SOURCE.key, Body=bootstrap.bundle.data)
    with FakeAws() as imds, SigningProxy(url) as proxy:
        script, config, root = boot_stage(bootstrap, tmp_path, imds.url, proxy.url)
        result = run(script, config, "/bin/sh", "-c", 'echo "bootstrap ran with $0 $1"', "arg0", "env-file")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "bootstrap ran with arg0 env-file\n"
    expected = {f.path: (f.content, int(f.mode, 8)) for f in bootstrap.bundle.files}
    assert tree(root) == expected
    assert f"unpacked {len(expected)} files from s3://{BUCKET}/{SOURCE.key}" in result.stderr
    assert [r["path"] for r in proxy.requests] == [f"/{BUCKET}/{SOURCE.key}"]
    assert proxy.requests[0]["signed"], proxy.requests[0]["headers"]


def test_a_tampered_object_is_refused_and_nothing_is_unpacked(moto_s3, tmp_path):
    url, s3 = moto_s3
    bootstrap = render_bootstrap(CONFIGS["rpc"](), source=SOURCE)
    files = list(bootstrap.bundle.files)
    env = next(i for i, f in enumerate(files) if f.path.endswith("bootstrap.env"))
    files[env] = type(files[env])(files[env].path, files[env].content + "EXTRA=1\n")
    tampered = bundle.pack(files)
    s3.put_object(Bucket=BUCKET, Key=SOURCE.key, Body=tampered)
    with FakeAws() as imds, SigningProxy(url) as proxy:
        script, config, root = boot_stage(bootstrap, tmp_path, imds.url, proxy.url, size=len(tampered))
        result = run(script, config, "/bin/sh", "-c", "echo bootstrap ran")
    assert result.returncode == 1
    assert "bootstrap ran" not in result.stdout
    assert f"SHA-256 of s3://{BUCKET}/{SOURCE.key} is {hashlib.sha256(tampered).hexdigest()}" in result.stderr
    assert "the user data pins " + bootstrap.bundle.sha256 in result.stderr
    assert "ERROR: the bootstrap bundle is missing" in result.stderr
    assert not root.exists() or tree(root) == {}
    assert len(proxy.requests) == 1  # refused, not retried


def test_an_object_of_another_size_is_refused_without_reading_it_all(moto_s3, tmp_path):
    url, s3 = moto_s3
    bootstrap = render_bootstrap(CONFIGS["rpc"](), source=SOURCE)
    s3.put_object(Bucket=BUCKET, Key=SOURCE.key, Body=bootstrap.bundle.data + b"x" * 1000)
    with FakeAws() as imds, SigningProxy(url) as proxy:
        script, config, root = boot_stage(bootstrap, tmp_path, imds.url, proxy.url)
        result = run(script, config)
    assert result.returncode == 1
    assert f"has more than {bootstrap.bundle.size} bytes; the user data pins {bootstrap.bundle.size}" in result.stderr
    assert not root.exists()


def test_a_bundle_with_a_path_outside_the_root_is_refused_whole(moto_s3, tmp_path):
    url, s3 = moto_s3
    bootstrap = render_bootstrap(CONFIGS["rpc"](), source=SOURCE)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("etc/substrate/fine.env", "../escaped"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"x\n"))
    evil = gzip.compress(buffer.getvalue())
    s3.put_object(Bucket=BUCKET, Key=SOURCE.key, Body=evil)
    with FakeAws() as imds, SigningProxy(url) as proxy:
        script, config, root = boot_stage(
            bootstrap, tmp_path, imds.url, proxy.url, sha256=hashlib.sha256(evil).hexdigest(), size=len(evil))
        result = run(script, config)
    assert result.returncode == 1
    assert "bundle member '../escaped' is not a regular file at a relative path" in result.stderr
    assert not root.exists() and not (tmp_path / "escaped").exists()


def test_a_transient_5xx_is_retried_with_backoff(moto_s3, tmp_path):
    url, s3 = moto_s3
    bootstrap = render_bootstrap(CONFIGS["validator"](), source=SOURCE)
    s3.put_object(Bucket=BUCKET, Key=SOURCE.key, Body=bootstrap.bundle.data)
    with FakeAws() as imds, SigningProxy(url, failures=[(503, "SlowDown"), (500, "InternalError")]) as proxy:
        script, config, root = boot_stage(bootstrap, tmp_path, imds.url, proxy.url, attempts=3)
        result = run(script, config)
    assert result.returncode == 0, result.stderr
    assert f"attempt 1/3 to fetch s3://{BUCKET}/{SOURCE.key} failed (HTTP 503 SlowDown); next in 1 s" in result.stderr
    assert "attempt 2/3" in result.stderr and "(HTTP 500 InternalError); next in 2 s" in result.stderr
    assert len(proxy.requests) == 3 and all(r["signed"] for r in proxy.requests)
    assert tree(root) == {f.path: (f.content, int(f.mode, 8)) for f in bootstrap.bundle.files}


def test_a_bundle_that_never_comes_fails_the_boot_and_abandons_the_launch(moto_s3, tmp_path):
    """The cluster's fail-fast path without the bundle: no lifecycle-ready.sh exists yet,
    so the boot stage abandons the lifecycle action with its own client."""
    url, _ = moto_s3
    bootstrap = cluster_bootstrap()
    config = json.loads(bootstrap.file(bundle.BOOT_CONFIG).content)
    assert config["on_failure"] == [list(ext.abandon_command("group", "hook"))]
    with FakeAws() as aws, SigningProxy(url, failures=[(403, "AccessDenied")] * 2) as proxy:
        stage_client = str(tmp_path / "boot" / "lifecycle_action.py")
        abandon = [sys.executable, stage_client, "abandon", "--group", "group", "--hook", "hook",
                   "--imds", aws.url, "--endpoint", aws.url]
        script, config_path, root = boot_stage(bootstrap, tmp_path, aws.url, proxy.url, attempts=2, on_failure=[abandon])
        result = run(script, config_path, "/bin/sh", "-c", "echo bootstrap ran")
    assert result.returncode == 1
    assert "bootstrap ran" not in result.stdout
    assert (f"ERROR: could not fetch s3://{BUCKET}/{SOURCE.key} after 2 attempts (last: HTTP 403 AccessDenied)"
            in result.stderr)
    assert len(proxy.requests) == 2
    assert aws.actions() == ["CompleteLifecycleAction"] and aws.results() == ["ABANDON"]
    assert aws.calls[0]["signed"] and aws.calls[0]["params"]["AutoScalingGroupName"] == "group"
    assert not root.exists()


def test_the_bundle_is_deterministic_and_changes_the_user_data_when_it_changes():
    a = render_bootstrap(CONFIGS["rpc"](), source=SOURCE)
    b = render_bootstrap(CONFIGS["rpc"](), source=SOURCE)
    assert a.bundle.data == b.bundle.data and a.user_data() == b.user_data()
    other = render_bootstrap(NodeConfig(role="rpc", name="rpc-2"), source=SOURCE)
    assert other.bundle.sha256 != a.bundle.sha256
    assert other.user_data() != a.user_data()
    assert a.bundle.sha256 in a.cloud_config


def test_the_bundle_has_its_own_bound(monkeypatch):
    from constructs_substrate.bootstrap import render

    monkeypatch.setattr(render, "BUNDLE_LIMIT", 1000)
    with pytest.raises(ConfigError, match=r"bootstrap bundle is \d+ bytes; at most 1000"):
        render_bootstrap(CONFIGS["rpc"](), source=SOURCE)


def test_the_user_data_limit_now_bounds_the_boot_stage(monkeypatch):
    from constructs_substrate.bootstrap import render

    monkeypatch.setattr(render, "USER_DATA_LIMIT", 4000)
    with pytest.raises(ConfigError, match=r"gzipped user data \(the boot stage\) is \d+ bytes; EC2 accepts at most 4000"):
        render_bootstrap(CONFIGS["rpc"](), source=SOURCE)


def test_sizes_user_data_and_bundle_per_role():
    """Prints the gzipped user data (boot stage) and bundle per role and for the
    fullest cluster instance (docs/bootstrap.md quotes these)."""
    rows = {name: render_bootstrap(build(), source=SOURCE) for name, build in sorted(CONFIGS.items())}
    rows["cluster archive (lifecycle, liveness, restore)"] = cluster_bootstrap()
    print()
    for name, rendered in rows.items():
        print(f"{name:50} user data {rendered.gzip_size():6} B   bundle {rendered.bundle.size:6} B")
        assert rendered.gzip_size() <= USER_DATA_LIMIT // 2
        assert rendered.bundle.size <= BUNDLE_LIMIT
