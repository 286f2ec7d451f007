"""AWS IoT: the thing groups Greengrass deployments target and their things, and a core device's thing
attributes (the platform facts Greengrass's API does not report)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .clients import AwsClients

PAGE_SIZE = 250  # the maximum IoT accepts for ListThingGroups and ListThingsInThingGroup


class IotGateway:
    def __init__(self, clients: AwsClients) -> None:
        self.client = clients.iot

    def thing_attributes(self, thing_name: str) -> dict[str, str] | None:
        """The thing's attributes (DescribeThing), e.g. {'accelerator': 'nvidia', 'jetpack': '5.1.2'}; None
        when IoT has no thing of that name."""
        try:
            described = self.client.describe_thing(thingName=thing_name)
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return None
            raise
        return {str(k): str(v) for k, v in (described.get('attributes') or {}).items()}

    def _all(self, operation: str, result_key: str, **params: Any) -> list[Any]:
        pages = self.client.get_paginator(operation).paginate(
            **params, PaginationConfig={'PageSize': PAGE_SIZE}
        )
        return [item for page in pages for item in page.get(result_key, [])]

    def thing_groups(self) -> list[tuple[str, str]]:
        """(group name, group ARN) of every thing group."""
        return [(g['groupName'], g['groupArn']) for g in self._all('list_thing_groups', 'thingGroups')]

    def things_in_group(self, group_name: str) -> list[str]:
        """The names of the things in one thing group (its own members, not its child groups')."""
        return [
            str(name) for name in self._all('list_things_in_thing_group', 'things', thingGroupName=group_name)
        ]
