"""The one place that builds AWS console URLs (region-correct)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class ConsoleLinks:
    region: str

    @property
    def _base(self) -> str:
        return f'https://{self.region}.console.aws.amazon.com'

    def training_job(self, name: str) -> str:
        return f'{self._base}/sagemaker/home?region={self.region}#/jobs/{quote(name, safe="")}'

    def compilation_job(self, name: str) -> str:
        return f'{self._base}/sagemaker/home?region={self.region}#/compilation-jobs/{quote(name, safe="")}'

    def component(self, arn: str) -> str:
        path = f'greengrass/v2/components/private/{quote(arn, safe="")}'
        return f'{self._base}/iot/home?region={self.region}#/{path}'

    def core_device(self, thing_name: str) -> str:
        return f'{self._base}/iot/home?region={self.region}#/greengrass/v2/cores/{quote(thing_name, safe="")}'
