"""What one write to the store changed, by key: the unit every page's feed reads and hands on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Changed:
    """The keys a commit touched: training job names, component version ARNs, core device thing names; and
    whether the set of architectures the fleet's devices run on changed (every training job page names the
    fleet architectures its compiled models do not cover yet)."""

    training_jobs: frozenset[str] = frozenset()
    components: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    fleet_architectures: bool = False

    def __bool__(self) -> bool:
        return bool(self.training_jobs or self.components or self.devices or self.fleet_architectures)

    def __or__(self, other: Changed) -> Changed:
        return Changed(
            self.training_jobs | other.training_jobs,
            self.components | other.components,
            self.devices | other.devices,
            self.fleet_architectures or other.fleet_architectures,
        )

    @staticmethod
    def jobs(*names: str | None) -> Changed:
        """A change of these training jobs only (None entries are ignored)."""
        return Changed(training_jobs=frozenset(n for n in names if n))


NOTHING = Changed()
