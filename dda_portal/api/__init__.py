"""The JSON API (`/api/v1`), its OpenAPI schema and docs (`/api/docs`), read with API tokens (api_tokens.py).

The browser's sign-in does not open the API, and a token opens no page: auth.py lets every `/api/` request
through to the API's own bearer-token check, and the pages' gate never reads the `Authorization` header.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from ..api_tokens import ApiTokens
from ..domain.targets import TargetCatalog
from ..pages.training_jobs.feed import ListFeed
from ..services.actions import Actions
from ..store import Store
from . import docs, routes
from .errors import ApiError, JsonRoute


def register(
    app: FastAPI, store: Store, actions: Actions, feed: ListFeed, catalog: TargetCatalog, tokens: ApiTokens
) -> None:
    api = routes.register(store, actions, feed, catalog, tokens)
    extra = APIRouter(route_class=JsonRoute)
    docs.register(api, extra)

    @extra.api_route(
        '/api/{rest:path}', methods=['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], include_in_schema=False
    )
    def unknown(rest: str) -> None:
        raise ApiError(404, 'not_found', 'No such API route or method; see /api/docs.')

    app.include_router(api)
    app.include_router(extra)  # after the API: its catch-all answers only what no route took


__all__ = ['register']
