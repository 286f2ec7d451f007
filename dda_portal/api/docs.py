"""`/api/openapi.json` and `/api/docs`: the API's OpenAPI schema, and a page that reads it without any script
(the portal's Content-Security-Policy runs only its own scripts, and a portal off the internet cannot load
Swagger UI from elsewhere: the page is made on the server from the schema)."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

TITLE = 'DDA Portal API'
DESCRIPTION = (
    'Training jobs, their compilations, component versions and devices, read with an API token '
    '(`python main.py --create-token NAME --role operator|data-scientist`) sent as '
    '`Authorization: Bearer <token>`. Errors are `{"error": {"code": ..., "message": ...}}`. '
    'A token has one role in every use case; every item says its `use_case`, and `use-case=<name>` '
    'filters the list (`use-case=<place key>` picks a training job whose name several use cases have).'
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h2 { margin-top: 2rem; } code, pre { background: #f4f4f4; padding: 0 .2rem; }
section { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
strong { text-transform: uppercase; margin-right: .5rem; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: .2rem .5rem; text-align: left; }
"""


def schema_of(router: APIRouter) -> dict[str, Any]:
    return get_openapi(title=TITLE, version='1', description=DESCRIPTION, routes=router.routes)


def _type(schema: dict[str, Any]) -> str:
    if '$ref' in schema:
        return str(schema['$ref']).rsplit('/', 1)[-1]
    if 'anyOf' in schema:
        return ' | '.join(_type(s) for s in schema['anyOf'])
    if schema.get('type') == 'array':
        return f'list of {_type(schema.get("items", {}))}'
    return str(schema.get('type', 'any'))


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        f'<section><p><strong>{e(method)}</strong><code>{e(path)}</code> — '
        f'{e(operation.get("summary", ""))}</p>'
    ]
    if operation.get('description'):
        parts.append(f'<p>{e(operation["description"])}</p>')
    parameters = operation.get('parameters', [])
    if parameters:
        rows = ''.join(
            f'<tr><td><code>{e(p["name"])}</code></td><td>{e(p["in"])}</td>'
            f'<td>{e(_type(p.get("schema", {})))}</td><td>{e(p.get("description", ""))}</td></tr>'
            for p in parameters
        )
        parts.append(f'<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>{rows}</table>')
    body = operation.get('requestBody', {}).get('content', {}).get('application/json', {}).get('schema')
    if body:
        parts.append(f'<p>JSON body: <code>{e(_type(body))}</code></p>')
    answers = ', '.join(
        f'{e(code)} {e(answer.get("description", ""))}'
        for code, answer in operation.get('responses', {}).items()
    )
    parts.append(f'<p>Answers: {answers}</p></section>')
    return ''.join(parts)


def _model(name: str, schema: dict[str, Any]) -> str:
    e = html.escape
    rows = ''.join(
        f'<tr><td><code>{e(field)}</code></td><td>{e(_type(spec))}</td>'
        f'<td>{e(spec.get("description", ""))}</td></tr>'
        for field, spec in schema.get('properties', {}).items()
    )
    return (
        f'<h3 id="{e(name)}">{e(name)}</h3><table><tr><th>field</th><th>type</th><th></th></tr>{rows}</table>'
    )


def page_of(schema: dict[str, Any]) -> str:
    e = html.escape
    operations = ''.join(
        _operation(path, method, operation)
        for path, methods in schema.get('paths', {}).items()
        for method, operation in methods.items()
    )
    models = ''.join(_model(n, s) for n, s in schema.get('components', {}).get('schemas', {}).items())
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{e(TITLE)}</title>'
        f'<style>{STYLE}</style></head><body><h1>{e(TITLE)}</h1><p>{e(DESCRIPTION)}</p>'
        '<p>The schema: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3).</p>'
        f'<h2>Endpoints</h2>{operations}<h2>Models</h2>{models}</body></html>'
    )


def register(api: APIRouter, docs: APIRouter) -> None:
    """The schema and its page on `docs` (no token needed: they hold no data)."""
    cached: dict[str, Any] = {}

    def schema() -> dict[str, Any]:
        if not cached:
            cached.update(schema_of(api))
        return cached

    @docs.get('/api/openapi.json', include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return schema()

    @docs.get('/api/docs', include_in_schema=False, response_class=HTMLResponse)
    def documentation() -> HTMLResponse:
        return HTMLResponse(page_of(schema()))
