"""Reads and writes of the store as plain functions taking a session.

Run them with `Store.read`, `Store.write` (blocking) or `await Store.fetch` (pages).

- `jobs`: training jobs and their compilation attempts, as pages and services read them;
- `attempts`: the attempts the portal starts, stops and claims (writes);
- `fleet`: Greengrass component versions, core devices and what they run;
- `deployments`: Greengrass deployments, rollouts per device, and thing groups;
- `refresh`: what a refresh writes, its bookkeeping (cycles, parts, watermarks, follow-ups) and freshness;
- `sign_ins`: the browsers signed in with a password (every replica reads them).
"""

from . import attempts, deployments, fleet, jobs, refresh, sign_ins

__all__ = ['attempts', 'deployments', 'fleet', 'jobs', 'refresh', 'sign_ins']
