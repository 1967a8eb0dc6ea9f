"""Takes one consistent EBS snapshot of this node's data volume and publishes it.

Run on a :class:`~constructs_substrate.snapshots.SnapshotSource` node by
``substrate-snapshot.service`` (started by its timer)::

    python3 snapshot_producer.py CONFIG_JSON

One run, in order:

1. Reads the node's state over its local JSON-RPC: not synced (``isSyncing``, or no
   peers) -> nothing to do. Otherwise the best block (number and hash) and the genesis
   hash, which become the snapshot's tags.
2. Reads the published snapshot (the SSM parameter, then that snapshot): younger than
   ``interval_seconds``, or its best block not lower than the node's -> nothing to do
   (the timer ticks often, so the first snapshot follows the first sync closely; the
   node is never stopped for a snapshot that would not be published).
3. Stops the node (``systemctl stop``: the database is closed cleanly), creates the
   snapshot of the data volume (found by its attachment to this instance), and starts
   the node again as soon as CreateSnapshot has answered: a snapshot is point-in-time
   at its initiation (it stays ``pending`` while the data is copied, and the volume may
   be written meanwhile). The node is started again whatever happened, also when the
   snapshot could not be created.
4. Waits until the snapshot is ``completed`` (at most ``complete_timeout_seconds``);
   ``error`` or still pending at the deadline -> not published (exit 1).
5. Publishes: moves the SSM parameter to the snapshot, only if the snapshot is newer
   (best block higher) than the one the parameter points at, read again just before.
6. Optionally enables Fast Snapshot Restore on the new snapshot in the Availability
   Zones of an Auto Scaling group and disables it on the snapshot it replaced (FSR is
   billed per snapshot and AZ: only the published one has it).
7. Retention: deletes this source's own snapshots (tag ``substrate:snapshot-source``)
   beyond the newest ``retain`` completed ones, and failed (``error``) ones; never the
   published one. The IAM policy allows DeleteSnapshot on snapshots with that tag only.

Requests are signed with SigV4 by ``lifecycle_action.py`` (shipped beside this file),
with the instance role's credentials from IMDSv2, fetched again for every request (a
first snapshot can take hours to complete). Python 3 standard library only. Exit 0
when there was nothing to do or the snapshot was published; 1 otherwise (the timer
runs again at the next interval).
"""

import datetime
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import xml.etree.ElementTree as ElementTree

try:
    from lifecycle_action import http, imds, sign
except ImportError:  # imported by the library for its constants, not run on the host
    from constructs_substrate.cluster.lifecycle_action import http, imds, sign

TAG_SOURCE = "substrate:snapshot-source"
TAG_CHAIN = "substrate:chain"
TAG_GENESIS = "substrate:genesis-hash"
TAG_DATABASE = "substrate:database"
TAG_PRUNING = "substrate:pruning"
TAG_BEST_BLOCK = "substrate:best-block"
TAG_BEST_HASH = "substrate:best-hash"
NO_SNAPSHOT = "none"
EC2_VERSION = "2016-11-15"
AUTOSCALING_VERSION = "2011-01-01"


def log(text):
    print(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") + " snapshot-producer: " + text,
          file=sys.stderr, flush=True)


class AwsError(Exception):
    def __init__(self, code, text):
        super().__init__(code + ": " + text[:300])
        self.code = code


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _child(element, name):
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element, name, default=""):
    child = _child(element, name)
    return default if child is None or child.text is None else child.text


def _items(element, name):
    """The ``item`` elements of the list ``name`` (EC2/Auto Scaling XML)."""
    found = _child(element, name)
    return [] if found is None else [child for child in found if _local(child.tag) in ("item", "member")]


class Aws:
    """Signed calls to EC2, Auto Scaling (Query, XML) and SSM (JSON) in this region."""

    def __init__(self, imds_url, endpoint):
        self.imds_url, self.endpoint = imds_url, endpoint
        (self.instance, self.region), _ = imds(imds_url, ["meta-data/instance-id", "meta-data/placement/region"])

    def _credentials(self):
        (role,), get = imds(self.imds_url, ["meta-data/iam/security-credentials/"])
        return json.loads(get("meta-data/iam/security-credentials/" + role.split()[0]))

    def _send(self, service, body, headers):
        suffix = ".amazonaws.com.cn" if self.region.startswith("cn-") else ".amazonaws.com"
        url = self.endpoint or "https://" + service + "." + self.region + suffix
        creds = self._credentials()
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
        headers = dict(headers, **{"host": urllib.parse.urlsplit(url).netloc,
                                   "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
                                   "x-amz-security-token": creds["Token"]})
        headers["authorization"] = sign("POST", "", headers, body, self.region, service,
                                        creds["AccessKeyId"], creds["SecretAccessKey"], now)
        try:
            return http(url + "/", body, headers, "POST")
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            code = str(error.code)
            try:
                code = json.loads(text).get("__type", code).rsplit("#", 1)[-1]
            except ValueError:
                try:
                    code = next((e.text for e in ElementTree.fromstring(text).iter() if _local(e.tag) == "Code"), code)
                except ElementTree.ParseError:
                    pass
            raise AwsError(code, text) from None

    def query(self, service, action, params):
        version = EC2_VERSION if service == "ec2" else AUTOSCALING_VERSION
        body = urllib.parse.urlencode(sorted(dict(params, Action=action, Version=version).items())).encode()
        text = self._send(service, body, {"content-type": "application/x-www-form-urlencoded; charset=utf-8"})
        return ElementTree.fromstring(text)

    def ssm(self, action, payload):
        text = self._send("ssm", json.dumps(payload).encode(), {
            "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM." + action})
        return json.loads(text or "{}")


def rpc(url, method, params=()):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    answer = json.loads(http(url, body, {"content-type": "application/json"}, "POST"))
    if "error" in answer:
        raise RuntimeError(method + ": " + json.dumps(answer["error"]))
    return answer["result"]


def node_state(url):
    """``None`` when the node is not synced, else ``(best number, best hash, genesis hash)``."""
    health = rpc(url, "system_health")
    if health.get("isSyncing") or not health.get("peers"):
        log("node not synced (" + json.dumps(health, sort_keys=True) + "); nothing to snapshot yet")
        return None
    best_hash = rpc(url, "chain_getBlockHash")
    number = int(rpc(url, "chain_getHeader", [best_hash])["number"], 16)
    return number, best_hash, rpc(url, "chain_getBlockHash", [0])


def snapshots(aws, filters):
    """``[{id, state, start, tags}]`` of our own snapshots matching ``filters``."""
    params = {"Owner.1": "self"}
    for index, (name, value) in enumerate(sorted(filters.items()), 1):
        params["Filter.%d.Name" % index] = name
        params["Filter.%d.Value.1" % index] = value
    result = []
    for item in _items(aws.query("ec2", "DescribeSnapshots", params), "snapshotSet"):
        tags = {_text(t, "key"): _text(t, "value") for t in _items(item, "tagSet")}
        result.append({"id": _text(item, "snapshotId"), "state": _text(item, "status"),
                       "start": _text(item, "startTime"), "tags": tags})
    return result


def best_block(snapshot):
    try:
        return int(snapshot["tags"].get(TAG_BEST_BLOCK, "-1"))
    except ValueError:
        return -1


def _time(text):
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def published(aws, config):
    """``(snapshot id or None, its best block or -1, its start time or None)`` of the
    snapshot the parameter points at."""
    try:
        value = aws.ssm("GetParameter", {"Name": config["parameter"]})["Parameter"]["Value"]
    except AwsError as error:
        if error.code != "ParameterNotFound":
            raise
        value = NO_SNAPSHOT
    if not value.startswith("snap-"):
        return None, -1, None
    try:
        found = [s for s in snapshots(aws, {"snapshot-id": value}) if s["state"] == "completed"]
    except AwsError as error:
        if "NotFound" not in error.code:
            raise
        found = []
    return (value, best_block(found[0]), _time(found[0]["start"])) if found else (value, -1, None)


def data_volume(aws, device):
    root = aws.query("ec2", "DescribeVolumes", {
        "Filter.1.Name": "attachment.instance-id", "Filter.1.Value.1": aws.instance,
        "Filter.2.Name": "attachment.device", "Filter.2.Value.1": device})
    volumes = [_text(item, "volumeId") for item in _items(root, "volumeSet")]
    if len(volumes) != 1:
        raise RuntimeError("expected one volume attached at %s to %s, found %r" % (device, aws.instance, volumes))
    return volumes[0]


def systemctl(config, *args):
    command = [config["systemctl"], *args, config["node_unit"]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=config["stop_timeout_seconds"])
    if result.returncode != 0:
        raise RuntimeError(" ".join(command) + " failed (%d): %s" % (result.returncode, result.stderr.strip()))
    return result.stdout.strip()


def stop_cleanly(config):
    """Stop the node; refuse unless it exited by itself (not killed at systemd's stop
    timeout: then the database was not closed cleanly)."""
    systemctl(config, "stop")
    result = systemctl(config, "show", "--property=Result", "--value")
    if result != "success":
        raise RuntimeError("%s stopped with result %r, not 'success'; no snapshot" % (config["node_unit"], result))


def take_snapshot(aws, config, volume, state):
    """Stop the node, initiate the snapshot, start the node (always): the snapshot id."""
    number, best_hash, genesis = state
    tags = {"Name": "%s-%d" % (config["source"], number), TAG_SOURCE: config["source"], TAG_CHAIN: config["chain"],
            TAG_GENESIS: genesis, TAG_DATABASE: config["database"], TAG_PRUNING: config["pruning"],
            TAG_BEST_BLOCK: str(number), TAG_BEST_HASH: best_hash}
    params = {"VolumeId": volume, "Description": "%s block %d (%s)" % (config["chain"], number, best_hash),
              "TagSpecification.1.ResourceType": "snapshot"}
    for index, (key, value) in enumerate(sorted(tags.items()), 1):
        params["TagSpecification.1.Tag.%d.Key" % index] = key
        params["TagSpecification.1.Tag.%d.Value" % index] = value
    log("stopping %s for the snapshot of %s at block %d" % (config["node_unit"], volume, number))
    try:
        stop_cleanly(config)
        os.sync()
        snapshot = _text(aws.query("ec2", "CreateSnapshot", params), "snapshotId")
        log("snapshot %s initiated (point-in-time now); starting the node again" % snapshot)
        return snapshot
    finally:
        systemctl(config, "start")


def wait_completed(aws, config, snapshot):
    deadline = time.monotonic() + config["complete_timeout_seconds"]
    while True:
        found = snapshots(aws, {"snapshot-id": snapshot})
        state = found[0]["state"] if found else "missing"
        if state == "completed":
            return True
        if state != "pending" or time.monotonic() >= deadline:
            log("snapshot %s is %s; not published" % (snapshot, state))
            if state == "error":
                aws.query("ec2", "DeleteSnapshot", {"SnapshotId": snapshot})
            return False
        time.sleep(config["poll_seconds"])


def fast_restore(aws, config, new, old):
    group = config["fast_restore_group"]
    root = aws.query("autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames.member.1": group})
    result = _child(root, "DescribeAutoScalingGroupsResult")
    groups = _items(root if result is None else result, "AutoScalingGroups")
    zones = sorted({zone.text for g in groups for zone in _items(g, "AvailabilityZones") if zone.text})
    if not zones:
        log("group %s not found or without zones; no Fast Snapshot Restore" % group)
        return
    for verb, snapshot in (("Enable", new), ("Disable", old)):
        if snapshot:
            params = {"SourceSnapshotId.1": snapshot}
            params.update({"AvailabilityZone.%d" % i: zone for i, zone in enumerate(zones, 1)})
            try:
                aws.query("ec2", verb + "FastSnapshotRestores", params)
            except AwsError as error:  # published already; the next run tries again
                log("%s Fast Snapshot Restore on %s failed: %s" % (verb.lower(), snapshot, error))
                continue
            log("%sd Fast Snapshot Restore on %s in %s" % (verb.lower(), snapshot, ", ".join(zones)))


def retain(aws, config, keep_id):
    own = snapshots(aws, {"tag:" + TAG_SOURCE: config["source"]})
    done = sorted((s for s in own if s["state"] == "completed"), key=lambda s: (best_block(s), s["start"]), reverse=True)
    doomed = [s for s in done[config["retain"]:]] + [s for s in own if s["state"] == "error"]
    for snapshot in doomed:
        if snapshot["id"] != keep_id and snapshot["tags"].get(TAG_SOURCE) == config["source"]:
            aws.query("ec2", "DeleteSnapshot", {"SnapshotId": snapshot["id"]})
            log("deleted old snapshot %s (block %d)" % (snapshot["id"], best_block(snapshot)))


def run(config):
    state = node_state(config["rpc_url"])
    if state is None:
        return 0
    aws = Aws(config["imds_url"], config["endpoint"])
    current, current_block, started = published(aws, config)
    if started is not None:
        age = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
        if age < config["interval_seconds"]:
            log("published snapshot %s is %d min old (interval %d min); nothing to do" % (
                current, age // 60, config["interval_seconds"] // 60))
            return 0
    if state[0] <= current_block:
        log("published snapshot %s is at block %d, the node at %d; nothing to do" % (current, current_block, state[0]))
        return 0
    snapshot = take_snapshot(aws, config, data_volume(aws, config["device"]), state)
    if not wait_completed(aws, config, snapshot):
        return 1
    current, current_block, _ = published(aws, config)
    if state[0] <= current_block:
        log("%s (block %d) is not newer than the published %s (block %d); parameter kept" % (
            snapshot, state[0], current, current_block))
    else:
        aws.ssm("PutParameter", {"Name": config["parameter"], "Value": snapshot, "Type": "String", "Overwrite": True})
        log("published %s (block %d) in %s" % (snapshot, state[0], config["parameter"]))
        if config["fast_restore_group"]:
            fast_restore(aws, config, snapshot, current)
        current = snapshot
    retain(aws, config, current)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: snapshot_producer.py CONFIG_JSON", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        config = json.load(handle)
    try:
        return run(config)
    except (AwsError, RuntimeError, OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
        log("failed: %s" % error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
