"""Completes, abandons or heartbeats this instance's Auto Scaling lifecycle action,
or reports the instance unhealthy.

Run on the instance by ``lifecycle-ready.sh`` (see
``constructs_substrate/bootstrap/cluster_extension.py``) once the readiness probe
answers 200 (``complete``: result ``CONTINUE``), while it waits (``heartbeat``), or
when the node was not ready in time (``abandon``: result ``ABANDON``); and by the
liveness watcher (``constructs_substrate/bootstrap/liveness.py``) when the node has
not answered JSON-RPC for the liveness window (``unhealthy``: ``SetInstanceHealth``
with ``HealthStatus=Unhealthy`` and ``ShouldRespectGracePeriod=true``; the group then
replaces the instance)::

    python3 lifecycle_action.py complete|abandon|heartbeat --group NAME --hook NAME
    python3 lifecycle_action.py unhealthy --group NAME

The request is signed with SigV4 using the instance role's credentials from IMDSv2,
with the Python 3 standard library only: Ubuntu 24.04 has no ``awscli`` package, and
the AWS CLI snap would need the Snap Store at boot and privileges (snap-confine) that
the sandboxed unit (``NoNewPrivileges``, no capabilities) does not have. The
instance id and region also come from IMDSv2.

Exit status 0 when the action was recorded, and also when no action is pending for
this instance (a reboot while in service, or completed already); 1 otherwise, so the
caller retries. Shipped verbatim in the user data (the boot stage).
"""

import argparse
import datetime
import hashlib
import hmac
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
NOT_PENDING = "No active Lifecycle Action found"


def http(url, data=None, headers=None, method=None):
    """The response body; raises ``urllib.error.HTTPError`` on an error status."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    with OPENER.open(request, timeout=10) as response:
        return response.read().decode()


def imds(base, paths):
    """The values at IMDSv2 ``paths`` under ``base``, and a getter for more."""
    token = http(base + "/latest/api/token", b"", {"X-aws-ec2-metadata-token-ttl-seconds": "300"}, "PUT")
    get = lambda path: http(base + "/latest/" + path, headers={"X-aws-ec2-metadata-token": token})
    return [get(p) for p in paths], get


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(method, query, headers, body, region, service, key_id, secret, now, path="/"):
    """SigV4 ``Authorization`` for a request to ``https://host<path>?query``; ``headers``
    (lower-case names) must include ``host`` and ``x-amz-date`` and are all signed.
    ``path`` is sent as given (already URI-encoded; S3 signs it without re-encoding)."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    names = sorted(headers)
    canonical = "\n".join([
        method, path, query,
        "".join(f"{n}:{headers[n].strip()}\n" for n in names),
        ";".join(names), hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed = ";".join(names)
    return f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"


def main(argv=None):
    """Sign and send one ``CompleteLifecycleAction`` (``CONTINUE`` or ``ABANDON``),
    ``RecordLifecycleActionHeartbeat`` or ``SetInstanceHealth`` (``Unhealthy``) for
    this instance."""
    p = argparse.ArgumentParser(description="Complete, abandon or heartbeat this instance's lifecycle action")
    p.add_argument("action", choices=["complete", "abandon", "heartbeat", "unhealthy"])
    p.add_argument("--group", required=True)
    p.add_argument("--hook", default="", help="required except for unhealthy")
    p.add_argument("--imds", default="http://169.254.169.254")
    p.add_argument("--endpoint", default="", help="API endpoint URL; default: the region's")
    a = p.parse_args(argv)
    if a.action != "unhealthy" and not a.hook:
        p.error(f"{a.action} needs --hook")

    (instance, region, role), get = imds(a.imds, [
        "meta-data/instance-id", "meta-data/placement/region", "meta-data/iam/security-credentials/"])
    creds = json.loads(get("meta-data/iam/security-credentials/" + role.split()[0]))
    try:
        state = get("meta-data/autoscaling/target-lifecycle-state")
    except urllib.error.URLError:
        state = "unknown"
    params = {"AutoScalingGroupName": a.group, "LifecycleHookName": a.hook, "InstanceId": instance, "Version": "2011-01-01"}
    if a.action == "unhealthy":
        # The API takes no group; the role's policy allows it on this group only.
        params = {"Action": "SetInstanceHealth", "InstanceId": instance, "HealthStatus": "Unhealthy",
                  "ShouldRespectGracePeriod": "true", "Version": "2011-01-01"}
    elif a.action in ("complete", "abandon"):
        result = "CONTINUE" if a.action == "complete" else "ABANDON"
        params |= {"Action": "CompleteLifecycleAction", "LifecycleActionResult": result}
    else:
        params["Action"] = "RecordLifecycleActionHeartbeat"
    body = urllib.parse.urlencode(sorted(params.items())).encode()
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    url = a.endpoint or f"https://autoscaling.{region}{suffix}"
    headers = {
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        "host": urllib.parse.urlsplit(url).netloc,
        "x-amz-date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-security-token": creds["Token"],
    }
    now = datetime.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    headers["authorization"] = sign(
        "POST", "", headers, body, region, "autoscaling",
        creds["AccessKeyId"], creds["SecretAccessKey"], now)
    hook = a.hook or "-"
    what = f"{a.action} {a.group}/{hook} {instance} (target state {state})"
    try:
        http(url + "/", body, headers, "POST")
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        if NOT_PENDING in text:
            print(f"{what}: no pending action; nothing to do", file=sys.stderr)
            return 0
        print(f"{what}: HTTP {error.code}: {text[:500]}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"{what}: {error}", file=sys.stderr)
        return 1
    print(f"{what}: done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
