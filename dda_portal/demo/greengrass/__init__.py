"""A Greengrass v2 emulator for the demo and the tests (moto has none), split like a moto service.

`models` holds the state and rules, `responses` the REST-JSON wire format (driven by botocore's service
model), `urls` the routes, `server` the HTTP server, and `fleet` the demo's fleet and its simulator step.
"""

from __future__ import annotations

from .accounts import GreengrassAccounts
from .fleet import (
    FleetInventory,
    ModelPackage,
    default_packages,
    model_recipe,
    packages_from_moto,
    s3_artifact_exists,
    seed_fleet,
    seed_thing_groups,
    seed_things,
    step_fleet,
)
from .models import Execution, GreengrassBackend, Installation, Transition
from .server import GreengrassServer

__all__ = [
    'Execution',
    'FleetInventory',
    'GreengrassAccounts',
    'GreengrassBackend',
    'GreengrassServer',
    'Installation',
    'ModelPackage',
    'Transition',
    'default_packages',
    'model_recipe',
    'packages_from_moto',
    's3_artifact_exists',
    'seed_fleet',
    'seed_thing_groups',
    'seed_things',
    'step_fleet',
]
