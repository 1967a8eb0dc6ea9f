"""The boot stage of a node's bootstrap: fetches the bootstrap bundle from S3, checks
it against the SHA-256 the user data pins, unpacks it, then runs the bootstrap.

Shipped in the user data (beside ``lifecycle_action.py``) and run by
cloud-init's ``runcmd``::

    python3 bundle_fetch.py CONFIG_JSON [COMMAND ...]

``CONFIG_JSON`` (``/etc/substrate/bundle.json``, rendered by
``constructs_substrate/bootstrap/bundle.py``) names the object and pins its digest:

- ``bucket_prefix``: the bucket is ``<bucket_prefix><account id>-<region>``, both read
  from the instance identity document (IMDSv2), so the user data needs no token of
  the stack; the request carries ``x-amz-expected-bucket-owner`` (this account), so a
  bucket of that name in another account is never read;
- ``key``, ``sha256``, ``size``: the object and what it must be;
- ``attempts``: GETs before giving up, with exponential backoff (1, 2, 4 ... 60 s);
- ``imds``, ``endpoint``, ``root``: IMDS base URL, an S3 endpoint (path-style; empty:
  the region's virtual-hosted endpoint) and where to unpack (``/``);
- ``on_failure``: commands (argv lists) run when the bundle cannot be had, each
  retried up to 5 times (the autoscaling cluster abandons its launch lifecycle action).

The GET is signed with SigV4 using the instance role's credentials from IMDSv2, with
the signer of ``lifecycle_action.py`` (shipped beside this file: Python stdlib only).
Every member is checked before anything is written: only regular files at relative
paths without ``..``; a digest mismatch or a bad member refuses the whole bundle and
writes nothing. Each file is written to a temporary name, given its mode (and owner,
when it is not root) and renamed into place. On success ``COMMAND`` replaces this
process (its output continues in the same log); on failure the reason goes to stderr
(``/var/log/cloud-init-output.log``), ``on_failure`` runs, and the exit status is 1,
so cloud-init reports the boot failed.
"""

import datetime
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request

import lifecycle_action as aws

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_DELAY = 60
ABANDON_ATTEMPTS = 5


class Refused(Exception):
    """The object arrived but must not be used: not retried, nothing written."""


def log(message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} bootstrap-bundle: {message}", file=sys.stderr, flush=True)


def location(config, identity):
    """``(bucket, url, path)`` of the bundle in this account and region."""
    region, account = identity["region"], identity["accountId"]
    bucket = config["bucket_prefix"] + account + "-" + region
    key = urllib.parse.quote(config["key"], safe="/")
    if config.get("endpoint"):
        path = f"/{bucket}/{key}"
        return bucket, config["endpoint"].rstrip("/") + path, path
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return bucket, f"https://{bucket}.s3.{region}{suffix}/{key}", f"/{key}"


def get_once(config, state):
    """One signed GET of the bundle: its bytes (exactly ``size``, else refused).
    ``state["where"]`` becomes the object's ``s3://`` address once it is known."""
    (document, role), get = aws.imds(config["imds"], [
        "dynamic/instance-identity/document", "meta-data/iam/security-credentials/"])
    identity = json.loads(document)
    creds = json.loads(get("meta-data/iam/security-credentials/" + role.split()[0]))
    bucket, url, path = location(config, identity)
    state["where"] = "s3://" + bucket + "/" + config["key"]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)
    headers = {
        "host": urllib.parse.urlsplit(url).netloc,
        "x-amz-content-sha256": EMPTY_SHA256,
        "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-expected-bucket-owner": identity["accountId"],
        "x-amz-security-token": creds["Token"],
    }
    headers["authorization"] = aws.sign(
        "GET", "", headers, b"", identity["region"], "s3",
        creds["AccessKeyId"], creds["SecretAccessKey"], now, path)
    with aws.OPENER.open(urllib.request.Request(url, headers=headers), timeout=30) as response:
        data = response.read(config["size"] + 1)
    pinned = config["size"]
    if len(data) != pinned:
        size = str(len(data)) if len(data) <= pinned else f"more than {pinned}"
        raise Refused(state["where"] + f" has {size} bytes; the user data pins {pinned}")
    return data


def reason(error):
    """One line for a failed attempt (S3's error code when it sent one)."""
    if isinstance(error, urllib.error.HTTPError):
        body = error.read(2000).decode(errors="replace")
        code = re.search(r"<Code>([^<]+)</Code>", body)
        return f"HTTP {error.code}" + (f" {code.group(1)}" if code else "")
    return f"{type(error).__name__}: {error}"


def fetch(config, state):
    """The bundle's bytes, retried with backoff; raises ``RuntimeError`` when every
    attempt failed and :class:`Refused` when the object is not the pinned one."""
    attempts = config["attempts"]
    for attempt in range(1, attempts + 1):
        try:
            data = get_once(config, state)
        except Refused:
            raise
        except (OSError, http.client.HTTPException, ValueError, KeyError) as error:  # URLError is an OSError
            why, where = reason(error), state["where"]
            if attempt == attempts:
                raise RuntimeError(f"could not fetch {where} after {attempts} attempts (last: {why})") from None
            delay = min(2 ** (attempt - 1), MAX_DELAY)
            log(f"attempt {attempt}/{attempts} to fetch {where} failed ({why}); next in {delay} s")
            time.sleep(delay)
            continue
        digest, pinned, where = hashlib.sha256(data).hexdigest(), config["sha256"], state["where"]
        if digest != pinned:
            raise Refused(f"SHA-256 of {where} is {digest}; the user data pins {pinned}: refused, nothing unpacked")
        return data
    raise RuntimeError("attempts must be at least 1")


def members(data):
    """``(member, content)`` of every file in the bundle, all checked before any is written."""
    result = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if not member.isfile() or member.name.startswith("/") or {"", ".", ".."} & set(parts):
                    raise Refused(f"bundle member {member.name!r} is not a regular file at a relative path")
                result.append((member, tar.extractfile(member).read()))
    except (tarfile.TarError, OSError, EOFError) as error:
        raise Refused(f"the bundle is not a readable tar.gz: {error}") from None
    return result


def unpack(data, root):
    """Write every file of the bundle under ``root``; the number written."""
    files = members(data)
    for member, content in files:
        target = os.path.join(root, member.name)
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        temporary = target + ".bundle-new"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        if (member.uname, member.gname) != ("root", "root"):
            shutil.chown(temporary, member.uname, member.gname)
        os.chmod(temporary, member.mode)
        os.replace(temporary, target)
    return len(files)


def run_on_failure(config):
    """Each ``on_failure`` command until it succeeds, at most :data:`ABANDON_ATTEMPTS`
    times, 5, 10, 15 ... s apart."""
    for command in config.get("on_failure", []):
        for attempt in range(1, ABANDON_ATTEMPTS + 1):
            log("running " + " ".join(command))
            try:
                if subprocess.run(command, check=False).returncode == 0:
                    break
            except OSError as error:
                log(f"cannot run {command[0]}: {error}")
            if attempt < ABANDON_ATTEMPTS:
                log(f"attempt {attempt} of {command[0]} failed; next in {attempt * 5} s")
                time.sleep(attempt * 5)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-"):
        print("usage: bundle_fetch.py CONFIG_JSON [COMMAND ...]: fetch, verify and unpack the "
              "bootstrap bundle, then run COMMAND", file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    with open(args[0], encoding="utf-8") as handle:
        config = json.load(handle)
    state = {"where": "s3://" + config["bucket_prefix"] + "<account>-<region>/" + config["key"]}
    try:
        count = unpack(fetch(config, state), config.get("root", "/"))
    except (Refused, RuntimeError, OSError) as error:
        log(f"ERROR: {error}")
        log("ERROR: the bootstrap bundle is missing, so this instance was not set up; nothing after this ran "
            "(docs/bootstrap.md, 'The bootstrap bundle')")
        run_on_failure(config)
        return 1
    where, digest = state["where"], config["sha256"]
    log(f"unpacked {count} files from {where} (SHA-256 {digest} verified)")
    if args[1:]:
        sys.stdout.flush()
        os.execv(args[1], args[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
