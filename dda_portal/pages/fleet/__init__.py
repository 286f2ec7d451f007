"""`/components` and `/devices`: every component version the portal knows, and the devices running them."""

from __future__ import annotations

from ...services.actions import Actions
from ...store import Store
from . import components, devices


def register(store: Store, actions: Actions, target_labels: dict[str, str]) -> None:
    components.register(store, actions, target_labels)
    devices.register(store, actions)
