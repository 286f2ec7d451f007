"""Routes: each implemented operation's method and request URI, taken from botocore's service model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

from .models import GreengrassError, UnknownOperationException
from .responses import service_model

# exactly the operations the portal's GreengrassGateway uses (plus TagResource, to tag in tests and seeds)
OPERATIONS = (
    'CreateComponentVersion',
    'ListComponents',
    'ListComponentVersions',
    'DescribeComponent',
    'GetComponent',
    'ListCoreDevices',
    'GetCoreDevice',
    'ListInstalledComponents',
    'ListDeployments',
    'CreateDeployment',
    'GetDeployment',
    'CancelDeployment',
    'ListEffectiveDeployments',
    'ListTagsForResource',
    'TagResource',
)


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    request_uri: str
    pattern: re.Pattern[str]


@cache
def routes() -> tuple[Route, ...]:
    found = []
    for operation in OPERATIONS:
        http = service_model().operation_model(operation).http
        path = http['requestUri'].split('?', 1)[0]
        # a {label} is one path segment; a greedy {label+} may span several
        regex = re.sub(
            r'\\\{(\w+)(\\\+)?\\\}',
            lambda m: f'(?P<{m[1]}>.+)' if m[2] else f'(?P<{m[1]}>[^/]+)',
            re.escape(path),
        )
        found.append(Route(operation, http['method'], http['requestUri'], re.compile(f'^{regex}$')))
    return tuple(found)


def match(method: str, raw_path: str) -> tuple[str, dict[str, str]]:
    """(operation, URI labels percent-decoded) for a request, matched on the path as sent (still encoded)."""
    path = raw_path.split('?', 1)[0]
    allowed = []
    for route in routes():
        found = route.pattern.match(path)
        if found:
            if route.method == method:
                return route.operation, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed.append(route.method)
    if allowed:
        raise MethodNotAllowed(f'{method} is not allowed on {path}; use {", ".join(allowed)}.')
    raise UnknownOperationException(f'No Greengrass v2 operation answers {method} {path}.')


class MethodNotAllowed(GreengrassError):
    code = 'UnknownOperationException'
    status = 405
