"""The parts of a refresh from AWS: each is pulled and committed on its own, so one failing hides no other."""

from __future__ import annotations

from dataclasses import dataclass, field

from .changes import NOTHING, Changed
from .problems import AwsProblem

SAGEMAKER = 'sagemaker'  # training and compilation jobs (one part: compilation jobs link to training jobs)
COMPONENTS = 'components'  # Greengrass component versions (linked to the attempts SageMaker's part wrote)
DEVICES = 'devices'  # Greengrass core devices and what they run (their own, slower cadence)

PARTS = (SAGEMAKER, COMPONENTS, DEVICES)  # in the order a refresh pulls them
LABELS = {SAGEMAKER: 'SageMaker', COMPONENTS: 'Greengrass components', DEVICES: 'Greengrass devices'}


def enabled_parts(greengrass_enabled: bool) -> tuple[str, ...]:
    return PARTS if greengrass_enabled else (SAGEMAKER,)


class RefreshProblem(AwsProblem):
    """A refresh in which parts failed: the first failed part's code, message and call, and every failed
    part's problem (the parts that did not fail were committed all the same)."""

    def __init__(
        self, code: str, message: str, operation: str = '', parts: tuple[tuple[str, AwsProblem], ...] = ()
    ) -> None:
        super().__init__(code, message, operation)
        self.parts = parts

    def __str__(self) -> str:
        return '; '.join(
            f'{LABELS.get(part, part)}: {problem.code}: {problem.where}' for part, problem in self.parts
        )


@dataclass
class Refreshed:
    """What the parts of one refresh did: the training jobs they changed and the parts that failed."""

    changed: Changed = NOTHING
    failures: list[tuple[str, AwsProblem]] = field(default_factory=list)

    @property
    def problem(self) -> RefreshProblem | None:
        if not self.failures:
            return None
        first = self.failures[0][1]
        return RefreshProblem(first.code, first.message, first.operation, tuple(self.failures))
