"""`/api/v1`: training jobs, one training job with every attempt, component versions, devices, and starting
compilations, each read with an API token (`Authorization: Bearer dda_…`).

The list reads what the training-jobs page reads (its feed, filtered by domain/filters.py and ordered the
same way), the job what its page reads (queries/job_page.py), and a POST goes through the page's action
(services/actions.py) with the token's person: the same checks, the same rules, the same refusals.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import queries
from ..api_tokens import ApiTokens
from ..domain.access import Person
from ..domain.filters import USE_CASE, ListFilter
from ..domain.places import DEFAULT_PLACE
from ..domain.problems import AwsProblem, Problem, Unavailable
from ..domain.targets import TargetCatalog
from ..pages.training_job import places_named
from ..pages.training_jobs.feed import ListFeed
from ..pages.use_cases import PlaceView, seen_by
from ..queries.job_page import JobSnapshot
from ..services.actions import Actions
from ..services.compiler import StartOutcome
from ..store import Store
from .errors import ApiError, JsonRoute
from .models import (
    AttemptOut,
    CompileAnswer,
    CompileRequest,
    ComponentList,
    ComponentOut,
    DeviceList,
    DeviceOut,
    ErrorAnswer,
    ErrorBody,
    ListQuery,
    Refusal,
    StartedOut,
    TrainingJobDetail,
    TrainingJobItem,
    TrainingJobList,
)

FILTERS = ('rollup', 'status', 'target', USE_CASE)
CHALLENGE = {'WWW-Authenticate': 'Bearer'}
ERRORS: dict[int | str, dict[str, object]] = {
    401: {'model': ErrorAnswer, 'description': 'No token, an unknown one or a revoked one'},
    422: {'model': ErrorAnswer, 'description': 'A parameter or body the API does not take'},
    503: {'model': ErrorAnswer, 'description': 'The portal is shutting down'},
}
bearer = HTTPBearer(auto_error=False, description='An API token made with `main.py --create-token`')


def shutting_down() -> Unavailable:
    return Unavailable('The portal is shutting down.')


def refusal(problem: Problem) -> Refusal:
    aws = problem if isinstance(problem, AwsProblem) else None
    return Refusal(
        code=problem.kind or ('aws_refused' if aws else 'refused'),
        message=str(problem),
        aws_code=aws.code if aws else None,
        retry_later=problem.transient,
    )


def person_of(request: Request) -> Person:
    """Whom the request's token acts as (the router's dependency checked it first)."""
    person = getattr(request.state, 'api_person', None)
    if not isinstance(person, Person):
        raise ApiError(401, 'token_required', 'Send an API token: Authorization: Bearer <token>.', CHALLENGE)
    return person


def check_filter_values(
    params: list[tuple[str, str]], known_targets: dict[str, str], use_cases: list[str]
) -> None:
    """Every value of a filter must be one the list knows (the page drops the others; a pipeline is told).
    `use_cases`: the names of the use cases the token may see."""
    for key, value in params:
        for part in (p.strip() for p in value.split(',')):
            if not part:
                continue
            parsed = ListFilter.from_query([(key, part)], known_targets, use_cases)
            found = {
                'rollup': parsed.rollups,
                'status': parsed.statuses,
                'target': parsed.targets,
                USE_CASE: parsed.use_cases,
            }
            if not found[key]:
                raise ApiError(422, 'unknown_filter_value', f'{key}={part!r} is not a value this list knows.')


def job_detail(snapshot: JobSnapshot) -> TrainingJobDetail:
    installed_on: dict[tuple[str, str], list[str]] = {}
    for item in snapshot.installations:
        installed_on.setdefault((item.component_name, item.component_version), []).append(item.thing_name)
    components = [
        ComponentOut.of(v, installed_on.get((v.component_name, v.component_version), []))
        for v in snapshot.components
    ]
    devices = [
        DeviceOut.of(device, [i for i in snapshot.installations if i.thing_name == thing])
        for thing, device in sorted(snapshot.devices.items())
    ]
    attempts = [AttemptOut.of(a) for a in snapshot.attempts]
    return TrainingJobDetail.detail(snapshot.job, snapshot.latest, attempts, components, devices)


def register(
    store: Store, actions: Actions, feed: ListFeed, catalog: TargetCatalog, tokens: ApiTokens
) -> APIRouter:
    """The `/api/v1` routes (added to NiceGUI's FastAPI app by the caller)."""

    async def token_person(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Person:
        if credentials is None or len(request.headers.getlist('authorization')) != 1:
            raise ApiError(
                401, 'token_required', 'Send an API token: Authorization: Bearer <token>.', CHALLENGE
            )
        person = await tokens.person(credentials.credentials.strip())
        if person is None:
            raise ApiError(401, 'token_invalid', 'The API token is unknown or revoked.', CHALLENGE)
        request.state.api_person = person
        return person

    # every route: the token's person is kept on the request (`person_of`)
    router = APIRouter(
        prefix='/api/v1', route_class=JsonRoute, responses=ERRORS, dependencies=[Depends(token_person)]
    )

    @router.get('/training-jobs', response_model=TrainingJobList, summary='Training jobs, filtered and paged')
    async def training_jobs(request: Request, wanted: Annotated[ListQuery, Query()]) -> TrainingJobList:
        """The list page's filters and order: newest first, ties by name, unless `sort` names a column."""
        seen = PlaceView.of(actions, person_of(request))
        return await job_list(feed, catalog, request.query_params.multi_items(), wanted, seen.names)

    @router.get(
        '/training-jobs/{name}',
        response_model=TrainingJobDetail,
        summary='One training job with every attempt, its component versions and the devices running them',
        responses={404: {'model': ErrorAnswer, 'description': 'The portal knows no such training job'}},
    )
    async def training_job(name: str, request: Request) -> TrainingJobDetail:
        """`use-case=<place key>` names the job's use case; needed only when the name is in several."""
        place = await place_of_job(store, actions, name, request)
        snapshot = await store.fetch(queries.job_page.job_page, name, place)
        if snapshot is None:
            raise ApiError(404, 'unknown_training_job', f'The portal knows no training job {name!r}.')
        return job_detail(snapshot)

    @router.get('/components', response_model=ComponentList, summary='Greengrass component versions')
    async def components(request: Request, training_job: str | None = None) -> ComponentList:
        """Newest first, each with the devices running it; `training_job` keeps those packaged from it."""
        items: list[ComponentOut] = []
        for place in sorted(seen_by(actions, person_of(request))):  # a release is one place's
            versions, running = await store.fetch(queries.fleet.fleet_components, None, [place])
            items += [
                ComponentOut.of(v, running.get((v.component_name, v.component_version), []))
                for v in versions
                if training_job is None or v.training_job_name == training_job
            ]
        items.sort(key=lambda c: c.created_at.timestamp() if c.created_at else 0.0, reverse=True)
        return ComponentList(items=items, total=len(items))

    @router.get('/devices', response_model=DeviceList, summary='Greengrass core devices and what they run')
    async def devices(request: Request) -> DeviceList:
        items: list[DeviceOut] = []
        for place in sorted(seen_by(actions, person_of(request))):  # thing names repeat across accounts
            found, running = await store.fetch(queries.fleet.fleet_devices, None, [place])
            items += [DeviceOut.of(d, running.get(d.thing_name, [])) for d in found]
        return DeviceList(items=items, total=len(items))

    @router.post(
        '/training-jobs/{name}/compilations',
        status_code=202,
        response_model=CompileAnswer,
        summary='Compile a training job for more targets (Data Scientist tokens)',
        responses={
            403: {'model': ErrorAnswer, 'description': 'The token is not a Data Scientist token'},
            404: {'model': ErrorAnswer, 'description': 'The portal knows no such training job'},
            409: {
                'model': CompileAnswer,
                'description': 'Nothing started: each target refused, see `refused`',
            },
        },
    )
    async def compile_for_targets(
        name: str, body: CompileRequest, request: Request
    ) -> CompileAnswer | JSONResponse:
        """The compile button's rules: only a Completed training job, never two live attempts per target.
        202 with the started attempts (and any refused target); 409 when no target started."""
        place = await place_of_job(store, actions, name, request)
        return await compile_answer(store, actions, name, place, body, person_of(request))

    return router


async def job_list(
    feed: ListFeed,
    catalog: TargetCatalog,
    query: list[tuple[str, str]],
    wanted: ListQuery,
    use_cases: list[str],
) -> TrainingJobList:
    """`use_cases`: the names of the use cases the token may see (the chosen ones, else all of those)."""
    entries = await feed.current()
    if entries is None:
        raise shutting_down()
    known = {t.id: t.display_name for t in catalog.values()} | feed.targets
    params = [(k, v) for k, v in query if k in (*FILTERS, 'q')]
    check_filter_values([(k, v) for k, v in params if k in FILTERS], known, use_cases)
    chosen = ListFilter.from_query(params, known, use_cases)
    seen = chosen if chosen.use_cases else chosen.replace(use_cases=use_cases)
    names = feed.ordered(seen, wanted.sort, wanted.descending)
    end = wanted.offset + wanted.limit
    page = [entries[n] for n in names[wanted.offset : end] if n in entries]
    return TrainingJobList(
        items=[TrainingJobItem.of(e.job, e.latest) for e in page],
        total=len(names),
        limit=wanted.limit,
        offset=wanted.offset,
        next_offset=end if end < len(names) else None,
    )


async def place_of_job(store: Store, actions: Actions, name: str, request: Request) -> str:
    """The place of training job `name` the request means: `use-case=<place key>`, else the only place the
    token may see that has a job of that name (else the default place). 409 when several have one."""
    seen = seen_by(actions, person_of(request))
    asked = request.query_params.get(USE_CASE)
    if asked is not None:
        if asked not in seen:
            raise ApiError(
                404, 'unknown_training_job', f'The portal knows no training job {name!r} in {asked}.'
            )
        return asked
    found = await store.fetch(places_named, name, seen)
    if len(found) > 1:
        raise ApiError(
            409,
            'ambiguous_training_job',
            f'{len(found)} use cases have a training job {name!r} ({", ".join(found)}): add use-case=.',
        )
    return found[0] if found else DEFAULT_PLACE


async def compile_answer(
    store: Store, actions: Actions, name: str, place: str, body: CompileRequest, person: Person
) -> CompileAnswer | JSONResponse:
    """The page's action run as the token's person: its check first (in the job's use case), then the
    compiler's own rules."""
    with actions.gate.acting(person):
        await actions.check('start compilations', place)
        if await store.fetch(queries.jobs.training_job, name, place) is None:
            raise ApiError(404, 'unknown_training_job', f'The portal knows no training job {name!r}.')
        outcome = await start(actions, name, place, body)
    attempts = await store.fetch(queries.jobs.attempts_for, name, place)
    answer = CompileAnswer(
        training_job=name,
        started=[
            StartedOut(target_id=a.target_id, job_name=a.job_name, attempt=a.attempt, status=str(a.status))
            for a in attempts
            if a.job_name in outcome.started
        ],
        refused={target: refusal(problem) for target, problem in outcome.refused.items()},
    )
    if outcome.started:
        return answer
    answer.error = ErrorBody(
        code='nothing_started', message='No compilation started; see why for each target.'
    )
    return JSONResponse(answer.model_dump(mode='json'), status_code=409)


async def start(actions: Actions, name: str, place: str, body: CompileRequest) -> StartOutcome:
    """Start with the request's inputs, each missing one taken from the job's compile defaults."""
    targets = list(dict.fromkeys(t.strip() for t in body.targets))
    if body.framework is None and body.framework_version is None and body.input_shape is None:
        return await actions.start_compilation_with_defaults(name, targets, use_case=place)
    defaults = await actions.compile_defaults(name, use_case=place)
    shape = body.input_shape
    return await actions.start_compilation(
        name,
        targets,
        body.framework if body.framework is not None else defaults.framework,
        body.framework_version if body.framework_version is not None else defaults.framework_version,
        defaults.input_shape if shape is None else shape if isinstance(shape, str) else json.dumps(shape),
        use_case=place,
    )
