"""`/components`, `/devices` and `/fleet`: every component version the portal knows, the devices running them,
and which version can run where (the compatibility matrix)."""

from __future__ import annotations

from ...services.actions import Actions
from ...store import Store
from . import components, devices, matrix


def register(store: Store, actions: Actions, target_labels: dict[str, str]) -> None:
    components.register(store, actions, target_labels)
    devices.register(store, actions)
    matrix.register(store, actions, actions.compiler.catalog)
