"""Where moto (5.2.x) lacks an API the stacks use, or answers differently from AWS, a
shim here makes it behave as AWS does: one small function per API, each saying what
AWS does. They patch moto's classes in this process (the emulator runs in-process:
:mod:`moto_region`); nothing here ever reaches the library. docs/testing.md lists them.

moto dispatches an API call to the method of its ``*Response`` class named after the
action (``CreateAssociation`` -> ``create_association``), and REST services first
match the path against ``urls.url_paths``: a missing API is a method (and a path) added.
State a shim keeps lives on the moto backend object, so moto's reset clears it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Callable
from urllib.parse import unquote


@dataclass(frozen=True)
class Shim:
    name: str
    aws: str
    """What AWS does (the behaviour the shim gives)."""
    install: Callable[[], None]


def _now() -> float:
    """A timestamp as AWS's JSON protocols carry it: epoch seconds."""
    return time.time()


def _store(backend, name: str) -> dict:
    """A dict kept on the moto backend (so ``/moto-api/reset`` forgets it)."""
    if not hasattr(backend, name):
        setattr(backend, name, {})
    return getattr(backend, name)


def _not_found(message: str, kind: str = "ResourceNotFoundException"):
    return 404, {"x-amzn-ErrorType": kind, "content-type": "application/json"}, json.dumps({"message": message, "__type": kind})


# ---- S3: bucket policies with aws:SecureTransport --------------------------------------


def s3_secure_transport() -> None:
    """AWS evaluates ``aws:SecureTransport`` as ``true`` for HTTPS requests (Terraform
    always uses TLS), and a statement whose condition does not hold does not apply, so a
    deny-insecure-transport statement denies nothing here. moto does not implement the
    ``Bool`` condition operator and ignores the condition, so the Deny applied to every
    request: each object upload to such a bucket got 403."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    context = {"aws:SecureTransport": "true"}

    def holds(condition: dict) -> bool:
        for operator, pairs in condition.items():
            for key, expected in pairs.items():
                expected = [expected] if isinstance(expected, str) else expected
                if operator == "Bool":
                    if str(context.get(key, "")).lower() not in [str(v).lower() for v in expected]:
                        return False
                elif not IAMPolicyStatement({"Condition": {operator: {key: expected}}})._check_conditions(context):
                    return False
        return True

    def get_permission(self, action: str, resource: str):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        permitted = False
        for statement in statements if isinstance(statements, list) else [statements]:
            if not holds(statement.get("Condition") or {}):
                continue  # the condition does not hold: the statement does not apply
            unconditional = {k: v for k, v in statement.items() if k != "Condition"}
            result = IAMPolicyStatement(unconditional).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission


# ---- SSM: associations ---------------------------------------------------------------


def ssm_associations() -> None:
    """AWS: CreateAssociation returns an AssociationDescription (id, version, the
    request's name/targets/parameters/schedule/concurrency), DescribeAssociation reads it
    back, UpdateAssociation bumps the version, DeleteAssociation removes it (then
    Describe fails with AssociationDoesNotExist); tags on ResourceType ``Association``
    work like any other. moto 5.2 has none of these."""
    from moto.ssm.responses import SimpleSystemManagerResponse as R

    fields = ("Name", "AssociationName", "Targets", "Parameters", "ScheduleExpression", "MaxConcurrency",
              "MaxErrors", "ComplianceSeverity", "DocumentVersion", "OutputLocation",
              "ApplyOnlyAtCronInterval", "SyncCompliance", "AutomationTargetParameterName")

    def describe(association: dict) -> str:
        return json.dumps({"AssociationDescription": association})

    def create_association(self):
        request = json.loads(self.body)
        association = {k: request[k] for k in fields if k in request}
        association.update(AssociationId=str(uuid.uuid4()), AssociationVersion="1", Date=_now(),
                           LastUpdateAssociationDate=_now(),
                           Status={"Date": _now(), "Name": "Success", "Message": ""},
                           Overview={"Status": "Success"})
        _store(self.ssm_backend, "_shim_associations")[association["AssociationId"]] = association
        _store(self.ssm_backend, "_shim_association_tags")[association["AssociationId"]] = {
            t["Key"]: t["Value"] for t in request.get("Tags", [])}
        return describe(association)

    def describe_association(self):
        request = json.loads(self.body)
        association = _store(self.ssm_backend, "_shim_associations").get(request.get("AssociationId"))
        if association is None:
            return 400, {"content-type": "application/x-amz-json-1.1"}, json.dumps(
                {"__type": "AssociationDoesNotExist", "message": "association does not exist"})
        return describe(association)

    def update_association(self):
        request = json.loads(self.body)
        association = _store(self.ssm_backend, "_shim_associations")[request["AssociationId"]]
        association.update({k: request[k] for k in fields if k in request})
        association["AssociationVersion"] = str(int(association["AssociationVersion"]) + 1)
        return describe(association)

    def delete_association(self):
        request = json.loads(self.body)
        _store(self.ssm_backend, "_shim_associations").pop(request.get("AssociationId"), None)
        return "{}"

    def tagging(original):
        def handler(self):
            request = json.loads(self.body)
            if request.get("ResourceType") != "Association":
                return original(self)
            tags = _store(self.ssm_backend, "_shim_association_tags").setdefault(request["ResourceId"], {})
            tags.update({t["Key"]: t["Value"] for t in request.get("Tags", [])})
            for key in request.get("TagKeys", []):
                tags.pop(key, None)
            return json.dumps({"TagList": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        return handler

    R.create_association, R.describe_association = create_association, describe_association
    R.update_association, R.delete_association = update_association, delete_association
    for action in ("list_tags_for_resource", "add_tags_to_resource", "remove_tags_from_resource"):
        setattr(R, action, tagging(getattr(R, action)))


# ---- AMP: alert manager definition ------------------------------------------------------


def amp_alert_manager_definition() -> None:
    """AWS: POST/PUT ``/workspaces/{id}/alertmanager/definition`` store the (base64)
    definition and answer 202 with status CREATING/UPDATING, GET returns it with status
    ACTIVE, DELETE removes it (then GET answers 404 ResourceNotFoundException). moto 5.2
    has no route for it."""
    from moto.amp import urls
    from moto.amp.responses import PrometheusServiceResponse as R

    urls.url_paths["{0}/workspaces/(?P<workspace_id>[^/]+)/alertmanager/definition$"] = R.dispatch

    def workspace(self) -> str:
        return unquote(self.path).split("/")[-3]

    def store(self) -> dict:
        return _store(self.amp_backend, "_shim_alert_managers")

    def put(self, status: str):
        data = json.loads(self.body)["data"]
        previous = store(self).get(workspace(self))
        store(self)[workspace(self)] = {"data": data, "createdAt": previous["createdAt"] if previous else _now(),
                                        "modifiedAt": _now(), "status": {"statusCode": "ACTIVE"}}
        return 202, {"content-type": "application/json"}, json.dumps({"status": {"statusCode": status}})

    def describe(self):
        found = store(self).get(workspace(self))
        if found is None:
            return _not_found(f"no alert manager definition for workspace {workspace(self)}")
        return json.dumps({"alertManagerDefinition": found})

    def delete(self):
        store(self).pop(workspace(self), None)
        return 202, {}, ""

    R.create_alert_manager_definition = lambda self: put(self, "CREATING")
    R.put_alert_manager_definition = lambda self: put(self, "UPDATING")
    R.describe_alert_manager_definition = describe
    R.delete_alert_manager_definition = delete


# ---- Synthetics: canary timestamps and lifecycle ----------------------------------------


def synthetics_canary_lifecycle() -> None:
    """AWS: canary timelines are epoch-second numbers; StartCanary / StopCanary move
    the state to RUNNING / STOPPED; DeleteCanary removes it, after which GetCanary answers
    404 ResourceNotFoundException. moto 5.2 writes ISO strings (the SDK refuses them),
    has no Start/Stop/Delete and fails GetCanary of a missing canary with a 500."""
    from moto.synthetics import urls
    from moto.synthetics.models import Canary
    from moto.synthetics.responses import SyntheticsResponse as R

    original = Canary.to_dict

    def to_dict(self):
        data = original(self)
        data["Timeline"] = {k: (v.timestamp() if v else None) for k, v in self.timeline.items()}
        return data

    Canary.to_dict = to_dict
    urls.url_paths["{0}/canary/(?P<name>[^/]+)/start$"] = R.dispatch
    urls.url_paths["{0}/canary/(?P<name>[^/]+)/stop$"] = R.dispatch

    def name(self, from_end: int = 1) -> str:
        return unquote(self.path).rstrip("/").split("/")[-from_end]

    def transition(state: str, stamp: str):
        def handler(self):
            canary = self.synthetics_backend.canaries.get(name(self, 2))
            if canary is None:
                return _not_found(f"canary {name(self, 2)} not found")
            canary.state = state
            canary.timeline[stamp] = utcnow()
            return "{}"
        return handler

    get_canary = R.get_canary

    def get(self):
        if name(self) not in self.synthetics_backend.canaries:
            return _not_found(f"canary {name(self)} not found")
        return get_canary(self)

    def delete(self):
        self.synthetics_backend.canaries.pop(name(self), None)
        return "{}"

    from moto.core.utils import utcnow

    R.start_canary = transition("RUNNING", "LastStarted")
    R.stop_canary = transition("STOPPED", "LastStopped")
    R.get_canary, R.delete_canary = get, delete


# ---- Auto Scaling ------------------------------------------------------------------------


def autoscaling_default_instance_warmup() -> None:
    """AWS: CreateAutoScalingGroup / UpdateAutoScalingGroup keep ``DefaultInstanceWarmup``
    and DescribeAutoScalingGroups returns it. moto drops it (a re-plan showed 0 -> 60)."""
    from moto.autoscaling.responses import AutoScalingResponse as R

    def keeping(original):
        def handler(self):
            result = original(self)
            warmup = self._get_int_param("DefaultInstanceWarmup")
            if warmup is not None:
                group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
                group.default_instance_warmup = warmup
            return result
        return handler

    R.create_auto_scaling_group = keeping(R.create_auto_scaling_group)
    R.update_auto_scaling_group = keeping(R.update_auto_scaling_group)


def autoscaling_update_keeps_mixed_instances_policy() -> None:
    """AWS: UpdateAutoScalingGroup changes only the parameters it is given; a group's
    ``MixedInstancesPolicy`` stays when the call does not mention it. moto sets it to
    None on every update (the provider updates a new group once after creating it), so
    a Spot cluster lost its policy and every re-plan wanted to add it back."""
    from moto.autoscaling.models import FakeAutoScalingGroup

    original = FakeAutoScalingGroup.update

    def update(self, *args, **kwargs):
        kept = self.mixed_instances_policy
        original(self, *args, **kwargs)
        if kwargs.get("mixed_instances_policy") is None and self.mixed_instances_policy is None:
            self.mixed_instances_policy = kept

    FakeAutoScalingGroup.update = update


def autoscaling_policies_per_group() -> None:
    """AWS: a scaling policy's name is unique within its group (two groups may each
    have ``average-cpu``); PutScalingPolicy keeps ``Enabled`` (default true) and a policy
    without predictive scaling has no ``PredictiveScalingConfiguration``. moto keys
    policies by name account-wide (the second group's policy replaced the first's, which
    then failed to read back), drops ``Enabled`` and returns an empty predictive block."""
    from moto.autoscaling.models import AutoScalingBackend as B
    from moto.autoscaling.responses import AutoScalingResponse as R

    put = B.put_scaling_policy

    def put_scaling_policy(self, name, *args, **kwargs):
        policy = put(self, name, *args, **kwargs)
        self.policies.pop(name, None)
        self.policies[(policy.auto_scaling_group_name, name)] = policy
        if not policy.predictive_scaling_configuration:
            policy.predictive_scaling_configuration = None
        return policy

    put_response = R.put_scaling_policy

    def put_policy(self):
        result = put_response(self)
        key = (self._get_param("AutoScalingGroupName"), self._get_param("PolicyName"))
        enabled = self._get_param("Enabled")
        self.autoscaling_backend.policies[key].enabled = str(enabled).lower() != "false"
        return result

    def delete_policy(self):
        from moto.core.responses import EmptyResult

        key = (self._get_param("AutoScalingGroupName"), self._get_param("PolicyName"))
        self.autoscaling_backend.policies.pop(key, None)
        return EmptyResult()

    B.put_scaling_policy = put_scaling_policy
    R.put_scaling_policy, R.delete_policy = put_policy, delete_policy


def autoscaling_instance_refresh() -> None:
    """AWS: StartInstanceRefresh returns an id and replaces instances in the background;
    DescribeInstanceRefreshes lists it (here at once ``Successful``: the emulator has no
    instances to replace); CancelInstanceRefresh stops it. moto 5.2 has none of them, so
    any change to a group's launch template failed to apply."""
    from moto.autoscaling.responses import AutoScalingResponse as R
    from moto.core.responses import ActionResult

    def refreshes(self) -> dict:
        return _store(self.autoscaling_backend, "_shim_refreshes")

    def start(self):
        group = self._get_param("AutoScalingGroupName")
        refresh = {"InstanceRefreshId": str(uuid.uuid4()), "AutoScalingGroupName": group, "Status": "Successful",
                   "PercentageComplete": 100, "StartTime": _now(), "EndTime": _now()}
        refreshes(self).setdefault(group, []).insert(0, refresh)
        return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})

    def describe(self):
        return ActionResult({"InstanceRefreshes": refreshes(self).get(self._get_param("AutoScalingGroupName"), [])})

    def cancel(self):
        return ActionResult({"InstanceRefreshId": ""})

    R.start_instance_refresh, R.describe_instance_refreshes, R.cancel_instance_refresh = start, describe, cancel


# ---- EC2 read-backs ------------------------------------------------------------------


def ec2_security_group_rule_description() -> None:
    """AWS: DescribeSecurityGroupRules returns a rule's ``Description`` whatever it
    references. moto keeps the description of a rule that references a security group
    in the group pair, not the IP range, and returns none (every re-plan re-added it)."""
    from moto.ec2.models.security_groups import SecurityGroupRule

    SecurityGroupRule.description = property(
        lambda self: self.ip_range.get("Description") or self.source_group.get("Description")
    )


def ec2_monitor_instances() -> None:
    """AWS: MonitorInstances / UnmonitorInstances switch detailed monitoring and answer
    each instance's new ``Monitoring.State``; DescribeInstances then shows it. moto 5.2
    lacks both (a 500, so every instance with ``monitoring = true`` failed to apply)."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.instances import InstanceResponse as R

    def switch(state: str):
        def handler(self):
            monitorings = []
            for instance_id in self._get_param("InstanceIds", []):
                self.ec2_backend.get_instance(instance_id).monitoring_state = state
                monitorings.append({"InstanceId": instance_id, "Monitoring": {"State": state}})
            return ActionResult({"InstanceMonitorings": monitorings})
        return handler

    R.monitor_instances, R.unmonitor_instances = switch("enabled"), switch("disabled")


def ec2_instance_groups_from_network_interface() -> None:
    """AWS: an instance launched with ``NetworkInterfaces`` (the provider sends them when
    ``associate_public_ip_address`` is set) is in the security groups of its primary
    interface, and DescribeInstances lists them under ``SecurityGroups``. moto puts the
    groups on the interface only and lists none for the instance (every re-plan of a node
    with an Elastic IP wanted to add its security group back)."""
    from moto.ec2.models.instances import Instance

    original = Instance.prep_nics

    def prep_nics(self, nic_spec, *args, **kwargs):
        original(self, nic_spec, *args, **kwargs)
        primary = self.nics.get(0)
        if primary is not None and not self.security_groups:
            self.security_groups = list(primary._group_set)

    Instance.prep_nics = prep_nics


def ec2_launch_template_tag_specifications() -> None:
    """AWS: ``TagSpecifications`` of CreateLaunchTemplate with resource type
    ``launch-template`` tag the template itself; they are not part of the template's
    data, so DescribeLaunchTemplateVersions does not return them under
    ``LaunchTemplateData.TagSpecifications``. moto returns them there (a re-plan wanted
    to remove a ``tag_specifications`` block the configuration never had)."""
    from moto.ec2.models.launch_templates import LaunchTemplateVersion

    original = LaunchTemplateVersion.__init__

    def __init__(self, template, number, data, description, *args, **kwargs):
        data = dict(data)
        specs = data.get("TagSpecifications")
        if isinstance(specs, list):
            data["TagSpecifications"] = [t for t in specs if t.get("ResourceType") != "launch-template"]
        elif isinstance(specs, dict):
            data["TagSpecifications"] = {k: v for k, v in specs.items()
                                         if not (isinstance(v, dict) and v.get("ResourceType") == "launch-template")}
        original(self, template, number, data, description, *args, **kwargs)

    LaunchTemplateVersion.__init__ = __init__


# ---- Budgets ---------------------------------------------------------------------------


def budgets_subscribers_and_tags() -> None:
    """AWS: DescribeSubscribersForNotification lists a budget notification's subscribers
    (e-mail / SNS); CreateBudget's ``ResourceTags`` and TagResource / UntagResource /
    ListTagsForResource keep a budget's tags. moto 5.2 implements neither."""
    from moto.budgets.responses import BudgetsResponse as R

    def same(a: dict, b: dict) -> bool:
        keys = ("NotificationType", "ComparisonOperator", "ThresholdType")
        return all(a.get(k) == b.get(k) for k in keys) and float(a.get("Threshold", 0)) == float(b.get("Threshold", 0))

    def subscribers(self):
        budget = self.backend.budgets[self._get_param("AccountId")].get(self._get_param("BudgetName"))
        wanted = self._get_param("Notification")
        for notification in budget.notifications if budget else []:
            if same(notification.details, wanted):
                return json.dumps({"Subscribers": notification.subscribers})
        return 400, {}, json.dumps({"__type": "NotFoundException", "Message": "notification not found"})

    def tags(self) -> dict:
        return _store(self.backend, "_shim_budget_tags").setdefault(self._get_param("ResourceARN"), {})

    def tag(self):
        tags(self).update({t["Key"]: t["Value"] for t in self._get_param("ResourceTags") or []})
        return "{}"

    def untag(self):
        for key in self._get_param("ResourceTagKeys") or []:
            tags(self).pop(key, None)
        return "{}"

    def list_tags(self):
        return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in sorted(tags(self).items())]})

    create = R.create_budget

    def create_budget(self):
        result = create(self)
        arn = f"arn:aws:budgets::{self._get_param('AccountId')}:budget/{self._get_param('Budget')['BudgetName']}"
        _store(self.backend, "_shim_budget_tags")[arn] = {
            t["Key"]: t["Value"] for t in self._get_param("ResourceTags") or []}
        return result

    R.describe_subscribers_for_notification = subscribers
    R.tag_resource, R.untag_resource, R.list_tags_for_resource = tag, untag, list_tags
    R.create_budget = create_budget


def _shim(name: str, install: Callable[[], None]) -> Shim:
    return Shim(name, install.__doc__ or "", install)


SHIMS: tuple[Shim, ...] = (
    _shim("s3: aws:SecureTransport in bucket policies", s3_secure_transport),
    _shim("ssm: Create/Describe/Update/DeleteAssociation", ssm_associations),
    _shim("amp: alert manager definition", amp_alert_manager_definition),
    _shim("synthetics: canary timeline, Start/Stop/DeleteCanary", synthetics_canary_lifecycle),
    _shim("budgets: DescribeSubscribersForNotification, tags", budgets_subscribers_and_tags),
    _shim("autoscaling: DefaultInstanceWarmup read-back", autoscaling_default_instance_warmup),
    _shim("autoscaling: UpdateAutoScalingGroup keeps MixedInstancesPolicy", autoscaling_update_keeps_mixed_instances_policy),
    _shim("autoscaling: scaling policies per group, Enabled, no empty predictive block", autoscaling_policies_per_group),
    _shim("autoscaling: Start/Describe/CancelInstanceRefresh", autoscaling_instance_refresh),
    _shim("ec2: security group rule description read-back", ec2_security_group_rule_description),
    _shim("ec2: Monitor/UnmonitorInstances", ec2_monitor_instances),
    _shim("ec2: launch-template tags are not template data", ec2_launch_template_tag_specifications),
    _shim("ec2: an instance is in its primary interface's security groups", ec2_instance_groups_from_network_interface),
)


def install_all() -> None:
    """Install every shim (before the emulator answers its first request)."""
    for shim in SHIMS:
        shim.install()
