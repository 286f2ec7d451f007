"""Greengrass v2 state per account and region, as AWS keeps it.

A request reaches the state of the account its credentials belong to, resolved the way moto resolves them
(MOTO_ACCOUNT_ID, then moto's `x-moto-account-id` header, then the access key: an assumed role's keys belong
to the role's account, unknown keys to moto's default account), in the region of its SigV4 credential scope.
An unsigned request reaches the home state (the backend the server was given).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator

from moto.iam.models import get_account_id_from
from werkzeug.datastructures import Headers

from .models import GreengrassBackend

MOTO_ACCOUNT_HEADER = 'x-moto-account-id'
# Authorization: AWS4-HMAC-SHA256 Credential=AKID/20250314/eu-west-1/greengrass/aws4_request, …
CREDENTIAL_SCOPE = re.compile(r'Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/')

BackendMaker = Callable[[str, str], GreengrassBackend]


class GreengrassAccounts:
    """Every account-region pair's backend: `home` as given, the others made by `make(account, region)` on
    first use (by default like `home`: the same artifact check and page size)."""

    def __init__(self, home: GreengrassBackend, make: BackendMaker | None = None) -> None:
        self.home = home
        self._make = make or self._like_home
        self._backends: dict[tuple[str, str], GreengrassBackend] = {(home.account_id, home.region): home}
        self._lock = threading.Lock()

    def backend(self, account_id: str, region: str) -> GreengrassBackend:
        with self._lock:
            found = self._backends.get((account_id, region))
            if found is None:
                found = self._backends[account_id, region] = self._make(account_id, region)
            return found

    def for_request(self, headers: Headers) -> GreengrassBackend:
        """The backend of the account and region a request is signed for."""
        scope = CREDENTIAL_SCOPE.search(headers.get('Authorization', ''))
        if scope is None:
            return self.home
        access_key, region = scope[1], scope[2]
        named = os.environ.get('MOTO_ACCOUNT_ID') or headers.get(MOTO_ACCOUNT_HEADER)
        account = named or get_account_id_from(access_key)
        return self.backend(account, region)

    def __iter__(self) -> Iterator[GreengrassBackend]:
        with self._lock:
            return iter(list(self._backends.values()))

    def _like_home(self, account_id: str, region: str) -> GreengrassBackend:
        return GreengrassBackend(
            region=region,
            account_id=account_id,
            artifact_exists=self.home.artifact_exists,
            check_artifacts_on_create=self.home.check_artifacts_on_create,
            default_page_size=self.home.default_page_size,
        )
