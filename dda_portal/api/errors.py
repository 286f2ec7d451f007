"""Every answer of the JSON API is JSON, its failures included: `{"error": {"code", "message"}}`.

`JsonRoute` wraps each route of the API (dependencies and validation included): a refusal the route raises
(ApiError), a Problem of the services, a request pydantic refuses, and any unexpected exception become a JSON
answer; the last one with a generic message only, its traceback logged on the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from ..domain.attempts import InvalidInput
from ..domain.problems import AwsProblem, Invalid, NotAllowed, Problem, Unavailable

log = logging.getLogger(__name__)

UNEXPECTED = 'The portal failed to answer; the failure is in its log.'


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    detail: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {'code': code, 'message': message}
    if detail is not None:
        body['detail'] = detail
    return JSONResponse({'error': body}, status_code=status, headers=headers)


def problem_status(problem: Problem) -> tuple[int, str]:
    """The HTTP status and code a failure of the services is answered with."""
    if isinstance(problem, NotAllowed):
        return 403, problem.kind or 'not_allowed'
    if isinstance(problem, Unavailable):
        return 503, problem.kind or 'unavailable'
    if isinstance(problem, AwsProblem):
        return (503 if problem.transient else 502), 'aws_refused'
    if isinstance(problem, InvalidInput):
        return 422, 'invalid_input'
    if isinstance(problem, Invalid):
        return 422, problem.kind or 'invalid'
    return 400, problem.kind or 'refused'


def _validation_detail(error: RequestValidationError) -> list[dict[str, Any]]:
    """pydantic's errors without the input echoed back (it may be large) or exception objects."""
    return [
        {'loc': list(e.get('loc', ())), 'msg': str(e.get('msg', '')), 'type': str(e.get('type', ''))}
        for e in error.errors()
    ]


class JsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as error:
                return error_response(error.status, error.code, error.message, error.headers)
            except RequestValidationError as error:
                detail = _validation_detail(error)
                return error_response(
                    422, 'invalid_request', 'The request does not fit the API.', None, detail
                )
            except Problem as problem:
                status, code = problem_status(problem)
                headers = {'Retry-After': '5'} if status == 503 else None
                return error_response(status, code, str(problem), headers)
            except HTTPException as error:
                return error_response(
                    error.status_code, 'http_error', str(error.detail), dict(error.headers or {})
                )
            except Exception:
                log.exception('The JSON API failed on %s %s', request.method, request.url.path)
                return error_response(500, 'internal_error', UNEXPECTED)

        return answer
