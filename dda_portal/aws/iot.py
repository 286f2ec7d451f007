"""AWS IoT: the thing groups Greengrass deployments target, and their things."""

from __future__ import annotations

from typing import Any

from .clients import AwsClients

PAGE_SIZE = 250  # the maximum IoT accepts for ListThingGroups and ListThingsInThingGroup


class IotGateway:
    def __init__(self, clients: AwsClients) -> None:
        self.client = clients.iot

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
