"""Reads and writes of the store as plain functions taking a session.

Run them with `Store.read`, `Store.write` (blocking) or `await Store.fetch` (pages).

- `jobs`: training jobs and their compilation attempts, as pages and services read them;
- `attempts`: the attempts the portal starts, stops and claims (writes);
- `places`: the use-case place a query works in (Store.at), and the places a reader may see;
- `fleet`: Greengrass component versions, core devices and what they run;
- `inventory`: the fleet's inventory as the refresh writes it;
- `matrix`: the compatibility matrix's facts; recipe platforms and thing attributes the refresh writes;
- `deployments`: Greengrass deployments, rollouts per device, and thing groups;
- `refresh`: what a refresh writes and its bookkeeping (cycles, parts, watermarks, follow-ups);
- `freshness`: how old the data on screen is (each place's parts and refreshes);
- `sign_ins`: the browsers signed in with a password (every replica reads them);
- `api_tokens`: the JSON API's tokens (hashed);
- `alerts`: the alerts outbox (transitions recorded with the change, the sender's claims and outcomes).
"""

from . import (
    alerts,
    api_tokens,
    attempts,
    deployments,
    fleet,
    freshness,
    inventory,
    jobs,
    matrix,
    places,
    refresh,
    sign_ins,
)

__all__ = [
    'alerts',
    'api_tokens',
    'attempts',
    'deployments',
    'fleet',
    'freshness',
    'inventory',
    'jobs',
    'matrix',
    'places',
    'refresh',
    'sign_ins',
]
