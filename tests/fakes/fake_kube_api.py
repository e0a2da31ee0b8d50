#!/usr/bin/env python3
"""Loopback fake of the Kubernetes API server for the advisor's calls: autoscaling/v2 HorizontalPodAutoscalers
(list with limit/continue, get, merge patch with dryRun and fieldManager) and coordination.k8s.io/v1 Leases
(get, create, update). It behaves as the real API server does for these: one resourceVersion counter bumped by
every write, merge patch (RFC 7386) with a metadata.resourceVersion precondition (409 Conflict), dryRun=All
(validated, answered as if applied, nothing stored), validation errors as 422 Invalid and decoding errors as 400
BadRequest, 401 Unauthorized for a wrong bearer token, 404 NotFound, 409 AlreadyExists on create; every error is
a `Status` object. Faults (429, 5xx, delays, closed connections) come from fake_http.FakeApi.

Arguments: --token T or --token-file F (re-read on every request, so tests can rotate it); neither: no auth.
Control routes (besides the base's):
  POST   /_fake/objects  <- JSON list of HPAs and Leases (apiVersion, kind, metadata.namespace/name, spec, status):
                            stored as the API server would create them (defaults, uid, resourceVersion); answers
                            the stored objects
  GET    /_fake/objects  -> every stored object, sorted by kind, namespace, name
  DELETE /_fake/objects  -> forget them all
(/_fake/reset forgets requests and faults but keeps the objects, so a test can seed, then reset the record.)
"""
import argparse
import base64
import copy
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_http import FakeApi, serve  # noqa: E402

HPA = ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
LEASE = ("coordination.k8s.io", "v1", "leases", "Lease")
RESOURCES = {HPA[2]: HPA, LEASE[2]: LEASE}
KIND_TO_RESOURCE = {HPA[3]: HPA, LEASE[3]: LEASE}
MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, null deletes, anything else (lists included) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def type_error(field, value, want):
    # What the API server's JSON decoder says about a built-in type (a 400, before validation).
    got = {str: "string", bool: "bool", dict: "object", list: "array", float: "number", int: "number"}.get(
        type(value), "null")
    return ApiError(400, "BadRequest", f"json: cannot unmarshal {got} into Go struct field {field} of type {want}")


def check_int(obj, key, field):
    if key in obj and obj[key] is not None and (isinstance(obj[key], bool) or not isinstance(obj[key], int)):
        raise type_error(field, obj[key], "int32")


def check_str(obj, key, field):
    if key in obj and obj[key] is not None and not isinstance(obj[key], str):
        raise type_error(field, obj[key], "string")


def check_object(obj, key, field):
    if key in obj and obj[key] is not None and not isinstance(obj[key], dict):
        raise type_error(field, obj[key], "object")


def decode_metadata(obj, kind):
    check_object(obj, "metadata", f"{kind}.metadata")
    metadata = obj.get("metadata") or {}
    for key in ("name", "namespace", "resourceVersion"):
        check_str(metadata, key, f"{kind}.metadata.{key}")
    check_object(metadata, "annotations", f"{kind}.metadata.annotations")
    for key, value in (metadata.get("annotations") or {}).items():
        if not isinstance(value, str):
            raise type_error(f"{kind}.metadata.annotations", value, "string")


def decode_hpa(obj):
    """Type checks of the decoder, then the API server's defaulting (autoscaling/v2 SetDefaults)."""
    decode_metadata(obj, "HorizontalPodAutoscaler")
    check_object(obj, "spec", "HorizontalPodAutoscaler.spec")
    spec = obj.get("spec")
    if spec is None:
        spec = obj["spec"] = {}
    check_int(spec, "minReplicas", "HorizontalPodAutoscalerSpec.spec.minReplicas")
    check_int(spec, "maxReplicas", "HorizontalPodAutoscalerSpec.spec.maxReplicas")
    check_object(spec, "scaleTargetRef", "HorizontalPodAutoscalerSpec.spec.scaleTargetRef")
    if "metrics" in spec and spec["metrics"] is not None and not isinstance(spec["metrics"], list):
        raise type_error("HorizontalPodAutoscalerSpec.spec.metrics", spec["metrics"], "[]v2.MetricSpec")
    for metric in spec.get("metrics") or []:
        if not isinstance(metric, dict):
            raise type_error("HorizontalPodAutoscalerSpec.spec.metrics", metric, "v2.MetricSpec")
        check_str(metric, "type", "MetricSpec.spec.metrics.type")
        resource = metric.get("resource")
        if isinstance(resource, dict) and isinstance(resource.get("target"), dict):
            check_int(resource["target"], "averageUtilization",
                      "MetricTarget.spec.metrics.resource.target.averageUtilization")
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]


def validate_hpa(obj):
    spec, errors = obj["spec"], []
    min_replicas, max_replicas = spec.get("minReplicas"), spec.get("maxReplicas", 0) or 0
    if min_replicas is not None and min_replicas < 1:
        errors.append(f"spec.minReplicas: Invalid value: {min_replicas}: must be greater than or equal to 1")
    if max_replicas < 1:
        errors.append(f"spec.maxReplicas: Invalid value: {max_replicas}: must be greater than 0")
    elif min_replicas is not None and max_replicas < min_replicas:
        errors.append(f"spec.maxReplicas: Invalid value: {max_replicas}: must be greater than or equal to "
                      "`minReplicas`")
    target = spec.get("scaleTargetRef") or {}
    if not target.get("kind"):
        errors.append("spec.scaleTargetRef.kind: Required value")
    if not target.get("name"):
        errors.append("spec.scaleTargetRef.name: Required value")
    for i, metric in enumerate(spec.get("metrics") or []):
        if metric.get("type") not in ("Object", "Pods", "Resource", "ContainerResource", "External"):
            errors.append(f"spec.metrics[{i}].type: Unsupported value: \"{metric.get('type')}\"")
            continue
        if metric.get("type") == "Resource":
            target = (metric.get("resource") or {}).get("target") or {}
            value = target.get("averageUtilization")
            if target.get("type") == "Utilization" and (value is None or value <= 0):
                errors.append(f"spec.metrics[{i}].resource.target.averageUtilization: Invalid value: {value}: "
                              "must be greater than 0")
    return errors


def decode_lease(obj):
    decode_metadata(obj, "Lease")
    check_object(obj, "spec", "Lease.spec")
    spec = obj.get("spec") or {}
    obj["spec"] = spec
    check_str(spec, "holderIdentity", "LeaseSpec.spec.holderIdentity")
    check_int(spec, "leaseDurationSeconds", "LeaseSpec.spec.leaseDurationSeconds")
    check_int(spec, "leaseTransitions", "LeaseSpec.spec.leaseTransitions")
    for key in ("acquireTime", "renewTime"):
        value = spec.get(key)
        if value is None:
            continue
        try:
            time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
            if not value.endswith("Z") or len(value) != 27 or value[19] != ".":
                raise ValueError
        except (TypeError, ValueError):
            raise ApiError(400, "BadRequest", f"parsing time \"{value}\" as \"2006-01-02T15:04:05.000000Z07:00\": "
                                              "cannot parse")


def validate_lease(obj):
    spec, errors = obj["spec"], []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        errors.append(f"spec.leaseDurationSeconds: Invalid value: {duration}: must be greater than 0")
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        errors.append(f"spec.leaseTransitions: Invalid value: {transitions}: must be greater than or equal to 0")
    return errors


DECODE = {HPA: decode_hpa, LEASE: decode_lease}
VALIDATE = {HPA: validate_hpa, LEASE: validate_lease}


class FakeKubeApi(FakeApi):
    def __init__(self, token=None, token_file=None):
        super().__init__()
        self.token, self.token_file = token, token_file
        self.objects = {}  # (resource, namespace, name) -> object
        self.revision = 100

    # ---------------------------------------------------------------------------------------------------------
    # Control routes

    def control(self, method, path, body):
        if path != "/_fake/objects":
            return None
        if method == "GET":
            return 200, [self.objects[key] for key in sorted(self.objects)]
        if method == "DELETE":
            self.objects.clear()
            return 200, {}
        if method == "POST":
            stored = []
            for obj in body or []:
                resource = KIND_TO_RESOURCE.get(obj.get("kind"))
                if resource is None:
                    return 400, {"message": f"unknown kind {obj.get('kind')}"}
                obj = copy.deepcopy(obj)
                try:
                    DECODE[resource](obj)
                except ApiError as error:
                    return 400, {"message": error.message}
                meta = obj["metadata"]
                stored.append(self.store(resource, meta["namespace"], meta["name"], obj, created=True))
            return 200, stored
        return None

    # ---------------------------------------------------------------------------------------------------------
    # Storage

    def store(self, resource, namespace, name, obj, created):
        self.revision += 1
        obj["apiVersion"] = f"{resource[0]}/{resource[1]}"
        obj["kind"] = resource[3]
        meta = obj.setdefault("metadata", {})
        meta["name"], meta["namespace"] = name, namespace
        meta["resourceVersion"] = str(self.revision)
        if created:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if resource == HPA:
                meta["generation"] = 1
        if resource == HPA:
            obj.setdefault("status", {"currentReplicas": 0, "desiredReplicas": 0})
        self.objects[(resource[2], namespace, name)] = obj
        return obj

    # ---------------------------------------------------------------------------------------------------------
    # Requests

    def authorized(self, headers):
        expected = self.token
        if self.token_file:
            with open(self.token_file) as f:
                expected = f.read().strip()
        if expected is None:
            return True
        return headers.get("authorization") == f"Bearer {expected}"

    def handle(self, method, path, query, headers, body):
        if not self.authorized(headers):
            return 401, {}, status(401, "Unauthorized", "Unauthorized")
        try:
            return self.route(method, path, query, headers, body)
        except ApiError as error:
            return error.code, error.headers, status(error.code, error.reason, error.message, error.details)

    def route(self, method, path, query, headers, body):
        parts = [p for p in path.split("/") if p]
        # /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME]
        if len(parts) < 4 or parts[0] != "apis":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        group, version, rest = parts[1], parts[2], parts[3:]
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 2 or rest[0] not in RESOURCES or RESOURCES[rest[0]][:2] != (group, version):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource = RESOURCES[rest[0]]
        name = rest[1] if len(rest) == 2 else None
        dry_run = query.get("dryRun", [])
        if any(value != "All" for value in dry_run):
            raise ApiError(400, "BadRequest", f"unsupported dry run value: {dry_run}")
        if name is None:
            if method == "GET":
                return self.list(resource, namespace, query)
            if method == "POST" and namespace is not None:
                return self.create(resource, namespace, body, bool(dry_run))
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if method == "GET":
            return 200, {}, self.get(resource, namespace, name)
        if method == "PATCH":
            return self.patch(resource, namespace, name, headers, body, bool(dry_run))
        if method == "PUT":
            return self.update(resource, namespace, name, body, bool(dry_run))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def not_found(self, resource, name):
        return ApiError(404, "NotFound", f"{resource[2]}.{resource[0]} \"{name}\" not found",
                        {"name": name, "group": resource[0], "kind": resource[2]})

    def get(self, resource, namespace, name):
        obj = self.objects.get((resource[2], namespace, name))
        if obj is None:
            raise self.not_found(resource, name)
        return obj

    def list(self, resource, namespace, query):
        keys = sorted(k for k in self.objects if k[0] == resource[2] and (namespace is None or k[1] == namespace))
        try:
            limit = int((query.get("limit") or ["0"])[0])
        except ValueError:
            raise ApiError(400, "BadRequest", "limit: invalid value")
        start, list_revision = None, self.revision
        token = (query.get("continue") or [""])[0]
        if token:
            try:
                decoded = json.loads(base64.b64decode(token, validate=True))
                start, list_revision = tuple(decoded["start"]), decoded["rv"]
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion "
                                                  "(version meta.k8s.io/v1)")
            keys = [k for k in keys if k[1:] > start]
        metadata = {"resourceVersion": str(list_revision)}
        if limit > 0 and len(keys) > limit:
            keys = keys[:limit]
            next_token = {"start": list(keys[-1][1:]), "rv": list_revision}
            metadata["continue"] = base64.b64encode(json.dumps(next_token).encode()).decode()
            metadata["remainingItemCount"] = sum(
                1 for k in self.objects if k[0] == resource[2] and (namespace is None or k[1] == namespace)
                and k[1:] > keys[-1][1:])
        items = []
        for key in keys:
            item = copy.deepcopy(self.objects[key])
            item.pop("apiVersion", None)  # list items carry neither, as from the real server
            item.pop("kind", None)
            items.append(item)
        return 200, {}, {"kind": resource[3] + "List", "apiVersion": f"{resource[0]}/{resource[1]}",
                         "metadata": metadata, "items": items}

    def decode_body(self, body):
        try:
            obj = json.loads(body)
        except ValueError as error:
            raise ApiError(400, "BadRequest", f"error decoding patch or body: {error}")
        return obj

    def check_and_answer(self, resource, namespace, name, obj, dry_run, created, code):
        errors = VALIDATE[resource](obj)
        if errors:
            raise ApiError(422, "Invalid", f"{resource[3]}.{resource[0]} \"{name}\" is invalid: " + ", ".join(errors),
                           {"name": name, "group": resource[0], "kind": resource[3],
                            "causes": [{"reason": "FieldValueInvalid", "message": e} for e in errors]})
        if dry_run:
            obj["apiVersion"], obj["kind"] = f"{resource[0]}/{resource[1]}", resource[3]
            return code, {}, obj
        return code, {}, self.store(resource, namespace, name, obj, created)

    def create(self, resource, namespace, body, dry_run):
        obj = self.decode_body(body)
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not an object")
        DECODE[resource](obj)
        meta = obj["metadata"] = obj.get("metadata") or {}
        name = meta.get("name")
        if meta.get("namespace") not in (None, "", namespace):
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                                              "sent on the request")
        if not name:
            raise ApiError(422, "Invalid", f"{resource[3]}.{resource[0]} \"\" is invalid: metadata.name: Required "
                                           "value: name or generateName is required")
        if meta.get("resourceVersion"):
            raise ApiError(500, "InternalError", "resourceVersion should not be set on objects to be created")
        if (resource[2], namespace, name) in self.objects:
            raise ApiError(409, "AlreadyExists", f"{resource[2]}.{resource[0]} \"{name}\" already exists",
                           {"name": name, "group": resource[0], "kind": resource[2]})
        obj.pop("status", None)
        return self.check_and_answer(resource, namespace, name, obj, dry_run, True, 201)

    def conflict(self, resource, name):
        return ApiError(409, "Conflict", f"Operation cannot be fulfilled on {resource[2]}.{resource[0]} \"{name}\": "
                                         "the object has been modified; please apply your changes to the latest "
                                         "version and try again",
                        {"name": name, "group": resource[0], "kind": resource[2]})

    def update(self, resource, namespace, name, body, dry_run):
        obj = self.decode_body(body)
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not an object")
        DECODE[resource](obj)
        meta = obj["metadata"] = obj.get("metadata") or {}
        if meta.get("name") != name:
            raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the name "
                                              f"on the URL ({name})")
        if meta.get("namespace") not in (None, "", namespace):
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                                              "sent on the request")
        current = self.objects.get((resource[2], namespace, name))
        if current is None:
            # Leases may be created by an update (AllowCreateOnUpdate), but not with a precondition.
            if resource != LEASE or meta.get("resourceVersion"):
                raise self.not_found(resource, name)
            return self.check_and_answer(resource, namespace, name, obj, dry_run, True, 201)
        if meta.get("resourceVersion") and meta["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise self.conflict(resource, name)
        for key in ("uid", "creationTimestamp", "generation"):
            if key in current["metadata"]:
                meta[key] = current["metadata"][key]
        if "status" in current:
            obj["status"] = copy.deepcopy(current["status"])  # the status subresource is not written here
        if resource == HPA and obj.get("spec") != current.get("spec"):
            meta["generation"] = current["metadata"].get("generation", 1) + 1
        return self.check_and_answer(resource, namespace, name, obj, dry_run, False, 200)

    def patch(self, resource, namespace, name, headers, body, dry_run):
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if content_type not in MERGE_TYPES:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted "
                                                        f"media types include: {', '.join(MERGE_TYPES)}")
        patch = self.decode_body(body)
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
        current = self.get(resource, namespace, name)
        precondition = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(
            patch.get("metadata"), dict) else None
        if precondition is not None and precondition != current["metadata"]["resourceVersion"]:
            raise self.conflict(resource, name)
        obj = merge_patch(current, patch)
        DECODE[resource](obj)
        if obj["metadata"].get("name") != name:
            raise ApiError(400, "BadRequest", "metadata.name: Invalid value: the name cannot be changed by a patch")
        meta = obj["metadata"]
        meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        obj.pop("status", None)
        if "status" in current:
            obj["status"] = copy.deepcopy(current["status"])  # the status subresource is not written here
        if resource == HPA and obj.get("spec") != current.get("spec"):
            meta["generation"] = current["metadata"].get("generation", 1) + 1
        return self.check_and_answer(resource, namespace, name, obj, dry_run, False, 200)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token")
    parser.add_argument("--token-file")
    args, rest = parser.parse_known_args()
    return serve(FakeKubeApi(token=args.token, token_file=args.token_file), rest)


if __name__ == "__main__":
    sys.exit(main())
