"""Greengrass v2's REST-JSON wire format ↔ the backend, driven by botocore's greengrassv2 service model.

Requests are read the way the model says boto3 writes them (URI labels, query strings, JSON body members,
base64 blobs) and checked against its constraints like AWS does; answers are written from the output shapes
(member names, epoch-second timestamps, base64 blobs). The handlers only speak in member names.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from werkzeug.wrappers import Request

from .models import (
    ComponentVersion,
    CoreDevice,
    Deployment,
    Execution,
    GreengrassBackend,
    InstalledComponent,
    ValidationException,
)


@cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model('greengrassv2')


class GreengrassResponse:
    """One handler per operation, named like boto3's method, taking the input members in snake case."""

    def __init__(self, backend: GreengrassBackend) -> None:
        self.backend = backend

    def dispatch(self, operation: str, request: Request, uri_params: Mapping[str, str]) -> tuple[int, Any]:
        """(HTTP status, JSON body) for one request already routed to `operation`."""
        model = service_model().operation_model(operation)
        params = read_input(model, request, uri_params)
        handler = getattr(self, xform_name(operation))
        with self.backend.lock:  # one consistent snapshot while the simulator changes state on its thread
            result = handler(**{xform_name(k): v for k, v in params.items()})
        body = write_output(model.output_shape, result) if model.output_shape is not None else {}
        return int(model.http.get('responseCode', 200)), body

    # ---- components ------------------------------------------------------------------------------------

    def create_component_version(
        self,
        inline_recipe: bytes | None = None,
        lambda_function: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        client_token: str | None = None,
    ) -> dict[str, Any]:
        if lambda_function is not None:
            raise ValidationException(
                'The emulator creates components from inlineRecipe only.',
                fields=[('lambdaFunction', 'unsupported')],
            )
        created = self.backend.create_component_version(inline_recipe, tags, client_token)
        return {
            'arn': created.arn,
            'componentName': created.name,
            'componentVersion': created.version,
            'creationTimestamp': created.created_at,
            'status': _status(created),
        }

    def list_components(
        self, scope: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        page = self.backend.list_components(scope, max_results, next_token)
        return {
            'components': [
                {
                    'arn': component_arn,
                    'componentName': latest.name,
                    'latestVersion': {
                        'arn': latest.arn,
                        'componentVersion': latest.version,
                        'creationTimestamp': latest.created_at,
                        'description': latest.description,
                        'publisher': latest.publisher,
                        'platforms': latest.platforms,
                    },
                }
                for component_arn, latest in page.items
            ],
            'nextToken': page.next_token,
        }

    def list_component_versions(
        self, arn: str, max_results: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        page = self.backend.list_component_versions(arn, max_results, next_token)
        return {
            'componentVersions': [
                {'componentName': v.name, 'componentVersion': v.version, 'arn': v.arn} for v in page.items
            ],
            'nextToken': page.next_token,
        }

    def describe_component(self, arn: str) -> dict[str, Any]:
        found = self.backend.describe_component(arn)
        return {
            'arn': found.arn,
            'componentName': found.name,
            'componentVersion': found.version,
            'creationTimestamp': found.created_at,
            'publisher': found.publisher,
            'description': found.description,
            'status': _status(found),
            'platforms': found.platforms,
            'tags': dict(found.tags),
        }

    def get_component(self, arn: str, recipe_output_format: str | None = None) -> dict[str, Any]:
        output, recipe = self.backend.get_component(arn, recipe_output_format)
        return {
            'recipeOutputFormat': output,
            'recipe': recipe,
            'tags': self.backend.list_tags_for_resource(arn),
        }

    # ---- core devices ----------------------------------------------------------------------------------

    def list_core_devices(
        self,
        thing_group_arn: str | None = None,
        status: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
        runtime: str | None = None,
    ) -> dict[str, Any]:
        page = self.backend.list_core_devices(thing_group_arn, status, runtime, max_results, next_token)
        return {'coreDevices': [_core_device(d) for d in page.items], 'nextToken': page.next_token}

    def get_core_device(self, core_device_thing_name: str) -> dict[str, Any]:
        device = self.backend.get_core_device(core_device_thing_name)
        return {**_core_device(device), 'coreVersion': device.core_version, 'tags': dict(device.tags)}

    def list_installed_components(
        self,
        core_device_thing_name: str,
        max_results: int | None = None,
        next_token: str | None = None,
        topology_filter: str | None = None,
    ) -> dict[str, Any]:
        page = self.backend.list_installed_components(
            core_device_thing_name, topology_filter, max_results, next_token
        )
        return {'installedComponents': [_installed(c) for c in page.items], 'nextToken': page.next_token}

    def list_deployments(
        self,
        target_arn: str | None = None,
        history_filter: str | None = None,
        parent_target_arn: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        page = self.backend.list_deployments(
            target_arn, history_filter, parent_target_arn, max_results, next_token
        )
        return {'deployments': [_deployment(d) for d in page.items], 'nextToken': page.next_token}

    def create_deployment(
        self,
        target_arn: str,
        deployment_name: str | None = None,
        components: dict[str, dict[str, Any]] | None = None,
        iot_job_configuration: dict[str, Any] | None = None,
        deployment_policies: dict[str, Any] | None = None,
        parent_target_arn: str | None = None,
        tags: dict[str, str] | None = None,
        client_token: str | None = None,
    ) -> dict[str, Any]:
        wanted = {}
        for name, spec in (components or {}).items():
            if not spec.get('componentVersion'):
                raise ValidationException(
                    f'Component {name} needs a componentVersion.', fields=[(f'components.{name}', 'required')]
                )
            wanted[name] = str(spec['componentVersion'])
        created = self.backend.create_deployment(
            target_arn,
            wanted,
            deployment_name,
            policies=deployment_policies,
            job_configuration=iot_job_configuration,
            parent_target_arn=parent_target_arn,
            tags=tags,
            client_token=client_token,
        )
        return {
            'deploymentId': created.deployment_id,
            'iotJobId': created.iot_job_id,
            'iotJobArn': created.iot_job_arn,
        }

    def get_deployment(self, deployment_id: str) -> dict[str, Any]:
        found = self.backend.get_deployment(deployment_id)
        return {
            **_deployment(found),
            'iotJobId': found.iot_job_id or None,
            'iotJobArn': found.iot_job_arn or None,
            'components': {name: {'componentVersion': v} for name, v in found.components.items()},
            'deploymentPolicies': found.policies or None,
            'iotJobConfiguration': found.job_configuration or None,
            'tags': dict(found.tags) or None,
        }

    def cancel_deployment(self, deployment_id: str) -> dict[str, Any]:
        return {'message': self.backend.cancel_deployment(deployment_id)}

    def list_effective_deployments(
        self, core_device_thing_name: str, max_results: int | None = None, next_token: str | None = None
    ) -> dict[str, Any]:
        page = self.backend.list_effective_deployments(core_device_thing_name, max_results, next_token)
        return {
            'effectiveDeployments': [_effective(d, e) for d, e in page.items],
            'nextToken': page.next_token,
        }

    # ---- tags ------------------------------------------------------------------------------------------

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, Any]:
        return {'tags': self.backend.list_tags_for_resource(resource_arn)}

    def tag_resource(self, resource_arn: str, tags: dict[str, str]) -> dict[str, Any]:
        self.backend.tag_resource(resource_arn, tags)
        return {}


def _status(item: ComponentVersion) -> dict[str, Any]:
    status: dict[str, Any] = {
        'componentState': item.state,
        'message': item.message,
        'errors': dict(item.errors),
    }
    if item.public:
        status['vendorGuidance'] = 'ACTIVE'
    return status


def _core_device(device: CoreDevice) -> dict[str, Any]:
    return {
        'coreDeviceThingName': device.thing_name,
        'status': device.status,
        'lastStatusUpdateTimestamp': device.last_status_update,
        'platform': device.platform,
        'architecture': device.architecture,
        'runtime': device.runtime,
    }


def _installed(component: InstalledComponent) -> dict[str, Any]:
    return {
        'componentName': component.component_name,
        'componentVersion': component.component_version,
        'lifecycleState': component.lifecycle_state,
        'lifecycleStateDetails': component.lifecycle_state_details,
        'isRoot': component.is_root,
        'lastStatusChangeTimestamp': component.last_status_change,
        'lastReportedTimestamp': component.last_reported,
        'lastInstallationSource': component.last_installation_source,
        'lifecycleStatusCodes': list(component.lifecycle_status_codes) or None,
    }


def _deployment(deployment: Deployment) -> dict[str, Any]:
    return {
        'targetArn': deployment.target_arn,
        'revisionId': deployment.revision_id,
        'deploymentId': deployment.deployment_id,
        'deploymentName': deployment.deployment_name,
        'creationTimestamp': deployment.created_at,
        'deploymentStatus': deployment.status,
        'isLatestForTarget': deployment.is_latest_for_target,
        'parentTargetArn': deployment.parent_target_arn,
    }


def _effective(deployment: Deployment, execution: Execution) -> dict[str, Any]:
    details = None
    if execution.error_stack or execution.error_types:
        details = {'errorStack': list(execution.error_stack), 'errorTypes': list(execution.error_types)}
    return {
        'deploymentId': deployment.deployment_id,
        'deploymentName': deployment.deployment_name,
        'iotJobId': deployment.iot_job_id or None,
        'iotJobArn': deployment.iot_job_arn or None,
        'targetArn': deployment.target_arn,
        'coreDeviceExecutionStatus': execution.status,
        'reason': execution.reason,
        'creationTimestamp': execution.created_at,
        'modifiedTimestamp': execution.modified_at,
        'statusDetails': details,
    }


# ---- reading requests ----------------------------------------------------------------------------------


def read_input(model: OperationModel, request: Request, uri_params: Mapping[str, str]) -> dict[str, Any]:
    """The operation's input members (by member name) from URI labels, query string and JSON body."""
    shape = model.input_shape
    if shape is None:
        return {}
    body: dict[str, Any] = {}
    if any('location' not in m.serialization for m in shape.members.values()) and request.get_data():
        try:
            body = json.loads(request.get_data())
        except ValueError as error:
            raise ValidationException('The request body is not valid JSON.', 'CANNOT_PARSE') from error
        if not isinstance(body, dict):
            raise ValidationException('The request body must be a JSON object.', 'CANNOT_PARSE')
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        location = member.serialization.get('location')
        wire = member.serialization.get('name', name)
        value: Any
        if location == 'uri':
            value = uri_params.get(wire)
        elif location == 'querystring':
            value = request.args.getlist(wire) if member.type_name == 'list' else request.args.get(wire)
        elif location == 'header':
            value = request.headers.get(wire)
        else:
            value = body.get(wire)
        if value is not None:
            params[name] = _from_wire(member, value, name, from_text=location is not None)
    problems = _constraint_violations(shape, params, '')
    if problems:
        count = len(problems)
        raise ValidationException(
            f'{count} validation error{"s" if count > 1 else ""} detected: '
            + '; '.join(text for _, text in problems),
            fields=problems,
        )
    return params


def _from_wire(shape: Shape, value: Any, path: str, from_text: bool) -> Any:
    kind = shape.type_name
    try:
        if kind == 'structure' and isinstance(value, dict):
            assert isinstance(shape, StructureShape)
            return {
                name: _from_wire(
                    member, value[member.serialization.get('name', name)], f'{path}.{name}', False
                )
                for name, member in shape.members.items()
                if value.get(member.serialization.get('name', name)) is not None
            }
        if kind == 'list' and isinstance(value, list):
            return [_from_wire(shape.member, item, f'{path}[]', from_text) for item in value]
        if kind == 'map' and isinstance(value, dict):
            return {str(k): _from_wire(shape.value, v, f'{path}.{k}', False) for k, v in value.items()}
        if kind in _SCALARS:
            return _SCALARS[kind](value, from_text)
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise ValidationException(f'Value at {path!r} is not a valid {kind}.', 'CANNOT_PARSE') from error
    raise ValidationException(f'Value at {path!r} is not a valid {kind}.', 'CANNOT_PARSE')


def _integer(value: Any, from_text: bool) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    return int(value) if from_text else _exactly(value, int)


def _boolean(value: Any, from_text: bool) -> bool:
    if from_text:
        return {'true': True, 'false': False}[str(value).lower()]
    return _exactly(value, bool)


# a scalar of the wire (JSON, or query string and headers when `from_text`) as the value its shape names
_SCALARS: dict[str, Callable[[Any, bool], Any]] = {
    'integer': _integer,
    'long': _integer,
    'boolean': _boolean,
    'blob': lambda value, _: base64.b64decode(str(value), validate=True),
    'string': lambda value, _: _exactly(value, str),
    'timestamp': lambda value, _: datetime.fromtimestamp(float(value), UTC),
    'double': lambda value, _: float(value),
    'float': lambda value, _: float(value),
}


_T = TypeVar('_T')


def _exactly(value: Any, kind: type[_T]) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(value)
    return value


def _constraint_violations(shape: Shape, value: Any, path: str) -> list[tuple[str, str]]:
    """AWS's `Value … at '…' failed to satisfy constraint` checks: required, enum, length, range, pattern."""
    if isinstance(shape, StructureShape):
        problems = [
            _violation(f'{path}.{name}' if path else name, None, 'Member must not be null')
            for name in shape.required_members
            if name not in value
        ]
        for name, item in value.items():
            problems += _constraint_violations(shape.members[name], item, f'{path}.{name}' if path else name)
        return problems
    problems = []
    meta, kind = shape.metadata, shape.type_name
    shown = '***' if kind == 'blob' else value
    measure = 'length' if kind in ('string', 'blob', 'list', 'map') else 'value'
    size = len(value) if measure == 'length' else value
    if kind in ('string', 'blob', 'list', 'map', 'integer', 'long'):
        if 'min' in meta and size < meta['min']:
            problems.append(
                _violation(path, shown, f'Member must have {measure} greater than or equal to {meta["min"]}')
            )
        if 'max' in meta and size > meta['max']:
            problems.append(
                _violation(path, shown, f'Member must have {measure} less than or equal to {meta["max"]}')
            )
    enum = getattr(shape, 'enum', None)
    if kind == 'string' and enum and value not in enum:
        problems.append(_violation(path, value, f'Member must satisfy enum value set: [{", ".join(enum)}]'))
    # Smithy patterns are not anchored: the value must contain a match
    if kind == 'string' and 'pattern' in meta and not re.search(meta['pattern'], value):
        problems.append(
            _violation(path, value, f'Member must satisfy regular expression pattern: {meta["pattern"]}')
        )
    if kind == 'list':
        for item in value:
            problems += _constraint_violations(shape.member, item, f'{path}.member')
    if kind == 'map':
        for key, item in value.items():
            problems += _constraint_violations(shape.key, key, f'{path}.key')
            problems += _constraint_violations(shape.value, item, f'{path}.{key}')
    return problems


def _violation(path: str, value: Any, constraint: str) -> tuple[str, str]:
    shown = 'null' if value is None else f"'{value}'"
    return path, f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


# ---- writing answers -----------------------------------------------------------------------------------


def write_output(shape: Shape, value: Any) -> Any:
    """JSON for `value` as the shape says; members that are None are left out, unknown ones are a bug here."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        unknown = set(value) - set(shape.members)
        if unknown:
            raise KeyError(f'{shape.name} has no members {sorted(unknown)}')
        return {
            shape.members[name].serialization.get('name', name): write_output(shape.members[name], item)
            for name, item in value.items()
            if item is not None
        }
    if kind == 'list':
        return [write_output(shape.member, item) for item in value]
    if kind == 'map':
        return {str(k): write_output(shape.value, v) for k, v in value.items()}
    if kind == 'timestamp':
        # rest-json bodies carry epoch seconds, here with AWS's millisecond precision
        return round(value.timestamp(), 3)
    if kind == 'blob':
        return base64.b64encode(value).decode()
    return value
