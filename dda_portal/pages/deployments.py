"""Deploying a component version (the Deploy dialog: before/after set, pre-flight, Confirm) and following a
rollout (each device's execution, live through one feed; Roll back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nicegui import Client, ui
from sqlmodel import Session

from .. import queries
from ..domain.changes import Changed
from ..domain.deploy import EXECUTION_WORDS, Severity, target_label
from ..queries.deployments import Rollout
from ..services.actions import Actions
from ..services.deployer import Prepared
from ..store import Store
from .feeds import EVERY_KEY, Feed
from .problems import reported
from .widgets import named_dialog, status_badge, time_label

Rollouts = dict[str, list[Rollout]]
DEPLOY = 'deploy components'
ROLL_BACK = 'roll back deployments'


def _keys_of(changed: Changed) -> Any:
    """Any deployment or device change re-reads every rollout panel open (they are few and small)."""
    return EVERY_KEY if changed.deployments or changed.devices else frozenset()


def _read(session: Session, keys: frozenset[str]) -> Rollouts:
    """A panel's key is `c:<place>|<component>,<component>…` (a training job's components) or
    `t:<place>|<thing name>`: the rollouts of one place."""
    found: Rollouts = {}
    for key in keys:
        kind, _, rest = key.partition(':')
        place, _, value = rest.partition('|')
        if kind == 'c':
            found[key] = queries.deployments.rollouts(session, components=value.split(','), use_cases=[place])
        else:
            found[key] = queries.deployments.rollouts(session, thing=value, use_cases=[place])
    return found


_FEEDS: dict[int, Feed[str, Rollouts]] = {}


def rollout_feed(store: Store) -> Feed[str, Rollouts]:
    """One feed per store for every rollout panel."""
    feed = _FEEDS.get(id(store))
    if feed is None or feed.store is not store:
        feed = _FEEDS[id(store)] = Feed(store, 'rollouts', _keys_of, _read)
    return feed


def components_key(names: list[str], place: str) -> str:
    return f'c:{place}|' + ','.join(sorted(names))


def thing_key(thing: str, place: str) -> str:
    return f't:{place}|{thing}'


class RolloutPanel:
    """The newest rollouts of a key: the deployment's state and each device's, with reasons; Roll back."""

    def __init__(
        self,
        store: Store,
        actions: Actions,
        key: str,
        use_case: str,
        rollouts: list[Rollout] | None = None,
    ) -> None:
        """`rollouts`: what the page read already; None: read them once the page is shown. `use_case`: the
        place the panel's components or device are in."""
        self.store = store
        self.actions = actions
        self.use_case = use_case
        self.key = key
        self.rollouts = rollouts or []
        rollout_feed(store).follow(key, self._delivered)
        with ui.column().classes('w-full gap-2').mark('rollouts'):
            self.show()
        if rollouts is None:
            ui.timer(0.05, self.load, once=True)

    async def load(self) -> None:
        found = await self.store.fetch(_read, frozenset({self.key}))
        self.rollouts = found.get(self.key, [])
        self.show.refresh()

    def _delivered(self, keys: frozenset[str], found: Rollouts) -> None:
        for key in keys:
            if key in found and found[key] != self.rollouts:
                self.rollouts = found[key]
                self.show.refresh()

    @ui.refreshable_method
    def show(self) -> None:
        if not self.rollouts:
            ui.label('No deployment includes this yet.').classes('text-grey-8').mark('no-rollouts')
            return
        for rollout in self.rollouts:
            item = rollout.deployment
            refusal = self.actions.refusal(ROLL_BACK, item.use_case)
            # not a q-card: the component cards above it are the Components tab's cards
            box = ui.column().classes('w-full p-3 gap-1 rounded').style('border: 1px solid #e0e0e0')
            with box.props('data-testid=rollout').mark('rollout'):
                with ui.row().classes('items-center gap-3'):
                    ui.label(item.name or item.deployment_id).classes('font-bold break-all')
                    status_badge((item.status or 'unknown').capitalize())
                    time_label(
                        item.created_at,
                        f'{target_label(item.target_arn)} · revision {item.revision_id or "?"} · ',
                    ).classes('text-grey-8')
                ui.label(
                    ', '.join(f'{n} {v}' for n, v in sorted(rollout.components.items())) or 'no components'
                ).classes('text-sm break-all')
                for thing, execution in rollout.devices.items():
                    word = (
                        EXECUTION_WORDS.get(execution.status, execution.status)
                        if execution
                        else 'Not reported'
                    )
                    device = ui.row().classes('items-center gap-2').props('data-testid=rollout-device')
                    with device.mark('rollout-device'):
                        ui.label(thing).classes('font-mono')
                        status_badge(word)
                        if execution is not None and execution.reason:
                            ui.label(execution.reason).classes('text-negative break-all').mark(
                                'rollout-reason'
                            )
                if item.is_latest and rollout.previous is not None:
                    button = (
                        ui.button(
                            f'Roll back to revision {rollout.previous.revision_id}',
                            icon='undo',
                            on_click=lambda arn=item.target_arn: self.roll_back(arn),
                        )
                        .props('outline no-caps')
                        .mark('roll-back')
                    )
                    if refusal:
                        button.disable()
                        button.tooltip(refusal)

    async def roll_back(self, target_arn: str) -> None:
        with reported('Not rolled back'):
            await self.actions.roll_back(target_arn, use_case=self.use_case)
            ui.notify(f'Rolling back {target_label(target_arn)}', type='positive')


@dataclass(frozen=True)
class Choice:
    component: str
    version: str
    arn: str


class DeployDialog:
    """Pick a version and a target (thing group or core device), see the before/after set and the
    pre-flight's findings, then Confirm (Data Scientists only; the server checks again)."""

    def __init__(
        self,
        actions: Actions,
        choices: list[Choice],
        groups: dict[str, tuple[str, list[str]]],
        devices: list[str],
        use_case: str,
        chosen: str | None = None,
        client: Client | None = None,
    ) -> None:
        self.actions = actions
        self.use_case = use_case  # versions and targets are of this place
        self.choices = {f'{c.component} {c.version}': c for c in choices}
        account = next(iter(choices)).arn.split(':')[3:5] if choices else ['us-east-1', '0']
        region, owner = account[0], account[1]
        self.targets: dict[str, str] = {
            arn: f'Thing group {name} ({len(m)} devices)' for name, (arn, m) in groups.items()
        }
        self.targets.update({f'arn:aws:iot:{region}:{owner}:thing/{d}': f'Core device {d}' for d in devices})
        self.prepared: Prepared | None = None
        self.asked = 0  # pre-flights asked for (each choice asks again)
        refusal = actions.refusal(DEPLOY, use_case)
        # in the page's content, not beside the button: a live redraw of the card or panel that opened it
        # must not take the dialog (and the notice of its deployment) away
        with (
            (client or ui.context.client).content,
            named_dialog('Deploy a component version') as self.dialog,
            ui.card().classes('w-full max-w-4xl').mark('deploy-dialog'),
        ):
            ui.label('Deploy a component version').classes('text-lg font-bold')
            self.version = (
                ui.select(
                    list(self.choices),
                    value=chosen if chosen in self.choices else None,
                    label='Component version',
                )
                .classes('w-full')
                .mark('deploy-version')
            )
            self.target = (
                ui.select(self.targets, label='Thing group or core device')
                .classes('w-full')
                .mark('deploy-target')
            )
            self.version.on_value_change(self.check)
            self.target.on_value_change(self.check)
            self.result = ui.column().classes('w-full gap-1')
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=self.dialog.close).props('flat no-caps')
                self.confirm = (
                    ui.button('Confirm deployment', on_click=self.deploy)
                    .props('no-caps')
                    .mark('deploy-confirm')
                )
                self.confirm.disable()
            if refusal:
                ui.label(refusal).classes('text-grey-8').mark('deploy-refusal')
        self.refusal = refusal
        self.dialog.on('hide', self.dialog.delete)
        self.dialog.open()

    async def check(self) -> None:
        """The plan and the pre-flight of what is chosen now (a newer choice wins over a slower answer)."""
        self.asked += 1
        asked = self.asked
        self.prepared = None
        self.confirm.disable()
        self.result.clear()
        choice = self.choices.get(str(self.version.value or ''))
        target = str(self.target.value or '')
        if choice is None or not target:
            return
        with self.result:
            ui.spinner()
        with reported('Pre-flight failed'):
            prepared = await self.actions.deploy_plan(
                target, choice.component, choice.version, use_case=self.use_case
            )
            if asked != self.asked:
                return  # the person chose something else meanwhile
            self.prepared = prepared
            self.result.clear()
            self.show(prepared)

    def show(self, prepared: Prepared) -> None:
        with self.result:
            ui.label('Before → after').classes('font-bold')
            rows = [
                {
                    'component': n,
                    'before': prepared.plan.before.get(n, '—'),
                    'after': prepared.plan.after.get(n, '—'),
                }
                for n in sorted(set(prepared.plan.before) | set(prepared.plan.after))
            ]
            ui.table(
                columns=[
                    {'name': k, 'label': k.capitalize(), 'field': k, 'align': 'left'}
                    for k in ('component', 'before', 'after')
                ],
                rows=rows,
                row_key='component',
            ).props('dense flat').classes('w-full').mark('deploy-plan')
            ui.label('Pre-flight').classes('font-bold')
            if not prepared.findings:
                ui.label('No faults found.').classes('text-positive').mark('preflight-clear')
            for finding in prepared.findings:
                with ui.row().classes('items-start gap-2 no-wrap').mark('preflight-finding'):
                    status_badge('Blocks' if finding.severity is Severity.BLOCKS else 'Warns')
                    with ui.column().classes('gap-0'):
                        ui.label(finding.what).classes('break-all').mark(
                            f'preflight-{finding.severity.value}'
                        )
                        ui.label(finding.todo).classes('text-grey-8 text-sm')
        if not prepared.blocked and not self.refusal:
            self.confirm.enable()

    async def deploy(self) -> None:
        choice = self.choices.get(str(self.version.value or ''))
        target = str(self.target.value or '')
        if choice is None or not target:
            return
        self.confirm.disable()
        with reported('Not deployed'):
            await self.actions.deploy(target, choice.component, choice.version, use_case=self.use_case)
            ui.notify(
                f'Deploying {choice.component} {choice.version} to {target_label(target)}', type='positive'
            )
            self.dialog.close()
            return
        self.confirm.enable()


async def open_deploy_dialog(
    store: Store, actions: Actions, use_case: str, components: list[str] | None, chosen: str | None
) -> None:
    """The dialog over the deployable versions (of these component names, or all), the stored thing groups
    and core devices (read off the event loop)."""
    client = ui.context.client  # before the reads: the button may be redrawn meanwhile
    versions = await store.fetch(queries.fleet.components, None, [use_case])
    choices = [
        Choice(v.component_name, v.component_version, v.arn)
        for v in versions
        if v.state == 'Deployable' and (components is None or v.component_name in components)
    ]
    groups = await store.fetch(queries.deployments.thing_groups, use_case)
    devices = [d.thing_name for d in await store.fetch(queries.fleet.devices, None, [use_case])]
    DeployDialog(actions, choices, groups, devices, use_case, chosen, client)


def deploy_button(
    store: Store,
    actions: Actions,
    use_case: str,
    components: list[str] | None,
    chosen: str | None = None,
    *,
    explain: bool = True,
    label: str | None = None,
) -> ui.button:
    """`Deploy…` (versions and targets of the place `use_case`; `label`: its name on the button, when there
    are several): disabled, with the reason (said beside it when `explain`), for a person who may not
    deploy there, or in a use case without Greengrass."""
    button = (
        ui.button(
            f'Deploy in {label}…' if label else 'Deploy…',
            icon='rocket_launch',
            on_click=lambda: open_deploy_dialog(store, actions, use_case, components, chosen),
        )
        .props('no-caps outline')
        .mark('deploy-open')
    )
    if refusal := actions.refusal(DEPLOY, use_case) or actions.without_greengrass(use_case):
        button.disable()
        button.tooltip(refusal)
        if explain:
            ui.label(refusal).classes('text-grey-8 text-sm').mark('deploy-refusal')
    return button
