"""AWS IoT Greengrass v2: component versions, core devices and what they run, read with paginators."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from .clients import AwsClients

PAGE_SIZE = 100  # the maximum Greengrass v2 accepts for its list calls


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != 'ResponseMetadata'}


class GreengrassGateway:
    def __init__(self, clients: AwsClients) -> None:
        self.client = clients.greengrass

    def _all(self, operation: str, result_key: str, **params: Any) -> list[dict[str, Any]]:
        pages = self.client.get_paginator(operation).paginate(
            **params, PaginationConfig={'PageSize': PAGE_SIZE}
        )
        return [item for page in pages for item in page.get(result_key, [])]

    # ---- components ------------------------------------------------------------------------------------

    def components(self) -> list[dict[str, Any]]:
        """This account's components (not AWS-published ones), each with `latestVersion`."""
        return self._all('list_components', 'components', scope='PRIVATE')

    def component_versions(self, component_arn: str) -> list[dict[str, Any]]:
        """componentName, componentVersion and arn of every version, greater versions first."""
        return self._all('list_component_versions', 'componentVersions', arn=component_arn)

    def describe_component(self, version_arn: str) -> dict[str, Any] | None:
        """The version's metadata (`status.componentState`, `status.errors`, platforms, tags…), or None when
        Greengrass no longer knows it (deleted)."""
        try:
            return _without_metadata(self.client.describe_component(arn=version_arn))
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return None
            raise

    def recipe(self, version_arn: str) -> dict[str, Any]:
        """The version's recipe, e.g. for the artifact URIs in `Manifests[].Artifacts[].Uri`."""
        response = self.client.get_component(arn=version_arn, recipeOutputFormat='JSON')
        return dict(json.loads(response['recipe']))

    def recipe_if_any(self, version_arn: str) -> dict[str, Any] | None:
        """The version's recipe, or None when Greengrass no longer knows the version."""
        try:
            return self.recipe(version_arn)
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return None
            raise

    def create_component_version(self, recipe: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
        """arn, componentName, componentVersion, creationTimestamp and status (REQUESTED at first)."""
        params: dict[str, Any] = {'inlineRecipe': json.dumps(recipe).encode()}
        if tags:  # the API rejects an empty tag map
            params['tags'] = tags
        return _without_metadata(self.client.create_component_version(**params))

    # ---- core devices ----------------------------------------------------------------------------------

    def core_devices(self) -> list[dict[str, Any]]:
        """coreDeviceThingName, status, lastStatusUpdateTimestamp, platform, architecture, runtime."""
        return self._all('list_core_devices', 'coreDevices')

    def core_device(self, thing_name: str) -> dict[str, Any]:
        """A core device with what the list lacks: coreVersion (the nucleus version) and tags."""
        return _without_metadata(self.client.get_core_device(coreDeviceThingName=thing_name))

    def installed_components(self, core_device_thing_name: str) -> list[dict[str, Any]]:
        """Every component the device runs, dependencies included (the API default lists root ones only)."""
        return self._all(
            'list_installed_components',
            'installedComponents',
            coreDeviceThingName=core_device_thing_name,
            topologyFilter='ALL',
        )

    def deployments(
        self, target_arn: str | None = None, history: str = 'LATEST_ONLY'
    ) -> list[dict[str, Any]]:
        """The latest revision of each deployment (`history` ALL: every revision), newest first, optionally
        only those for one thing or thing group."""
        params: dict[str, Any] = {'historyFilter': history}
        if target_arn:
            params['targetArn'] = target_arn
        return self._all('list_deployments', 'deployments', **params)

    def deployment(self, deployment_id: str) -> dict[str, Any] | None:
        """One deployment with its components (name → {componentVersion}), or None when Greengrass does not
        know it."""
        try:
            return _without_metadata(self.client.get_deployment(deploymentId=deployment_id))
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return None
            raise

    def create_deployment(
        self,
        target_arn: str,
        name: str,
        components: dict[str, str],
        *,
        rollout_per_minute: int,
        timeout_minutes: int,
        client_token: str,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """deploymentId, iotJobId, iotJobArn of a new revision for the target that rolls back a device whose
        deployment fails. `client_token`: the same token gives the same deployment (a second click)."""
        params: dict[str, Any] = {
            'targetArn': target_arn,
            'deploymentName': name,
            'components': {n: {'componentVersion': v} for n, v in sorted(components.items())},
            'deploymentPolicies': {'failureHandlingPolicy': 'ROLLBACK'},
            'iotJobConfiguration': {
                'jobExecutionsRolloutConfig': {'maximumPerMinute': rollout_per_minute},
                'timeoutConfig': {'inProgressTimeoutInMinutes': timeout_minutes},
            },
            'clientToken': client_token,
        }
        if tags:
            params['tags'] = tags
        return _without_metadata(self.client.create_deployment(**params))

    def cancel_deployment(self, deployment_id: str) -> None:
        self.client.cancel_deployment(deploymentId=deployment_id)

    def effective_deployments(self, thing_name: str) -> list[dict[str, Any]]:
        """The core device's executions of deployments: coreDeviceExecutionStatus, reason, statusDetails."""
        return self._all('list_effective_deployments', 'effectiveDeployments', coreDeviceThingName=thing_name)

    def tags(self, arn: str) -> dict[str, str]:
        return dict(self.client.list_tags_for_resource(resourceArn=arn).get('tags', {}))
