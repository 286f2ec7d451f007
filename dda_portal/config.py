"""Settings: read once from the environment (prefix DDA_) and the command line, validated at start."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .domain import attempts


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix='DDA_', extra='ignore')

    database_url: str = Field('sqlite:///data/dda-portal.db', description='SQLAlchemy URL of the store')
    host: str = '127.0.0.1'
    port: int = Field(8080, ge=1, le=65535)
    refresh_seconds: float = Field(30.0, gt=0, description='seconds between two AWS refreshes')
    history_days: int = Field(30, ge=1, description='how far back the first refresh looks')
    sync_overlap_seconds: int = Field(
        300, ge=0, description='re-list jobs modified this long before the watermark'
    )
    sync_enabled: bool = Field(True, description='run the periodic refresh (tests switch it off)')
    targets_file: Path | None = None
    sagemaker_role_arn: str | None = Field(None, description='IAM role SageMaker assumes to compile')
    compile_output_s3: str | None = Field(
        None, description='where compiled models go (default: beside the training output)'
    )
    auto_compile_targets: str = Field('', description='comma-separated target ids compiled automatically')
    framework: str = 'PYTORCH'
    framework_version: str = '1.8'
    input_shape: str = '[1,3,224,224]'
    compile_max_runtime_seconds: int = Field(900, ge=60, le=86400)
    auto_package: bool = Field(False, description='package every newly completed compilation as a component')
    component_name_template: str = Field(
        'model-{name}-{target}', description='{name}: training job, {target}'
    )
    greengrass_enabled: bool = Field(True, description='read Greengrass components and core devices')
    device_refresh_seconds: float = Field(300.0, gt=0, description='seconds between two device inventories')
    storage_secret: str = 'dda-portal-local'
    demo: bool = False
    demo_step_seconds: float = Field(8.0, gt=0, description='demo simulator pace')

    @field_validator('targets_file')
    @classmethod
    def _targets_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f'no such file: {value}')
        return value

    @field_validator('sagemaker_role_arn', 'compile_output_s3', mode='before')
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == '' else value

    @field_validator('sagemaker_role_arn')
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None and not attempts.is_role_arn(value):
            raise ValueError('must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME')
        return value

    @field_validator('compile_output_s3')
    @classmethod
    def _s3_uri(cls, value: str | None) -> str | None:
        if value is not None and not attempts.is_s3_uri(value):
            raise ValueError('must be an S3 URI like s3://bucket/prefix/')
        return value

    @field_validator('input_shape')
    @classmethod
    def _shape(cls, value: str) -> str:
        attempts.parse_input_shape(value)
        return value

    @property
    def auto_compile_target_ids(self) -> list[str]:
        return [t.strip() for t in self.auto_compile_targets.split(',') if t.strip()]

    @property
    def sqlite_path(self) -> Path | None:
        prefix = 'sqlite:///'
        return Path(self.database_url[len(prefix) :]) if self.database_url.startswith(prefix) else None


class SettingsError(SystemExit):
    """A missing or invalid setting: the portal stops with one clear line."""


def parse_cli(argv: list[str] | None) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog='main.py', description='DDA Portal')
    parser.add_argument('--demo', action='store_true', help='run against a local AWS emulator with demo data')
    parser.add_argument('--host', help='address to listen on (default 127.0.0.1, env DDA_HOST)')
    parser.add_argument('--port', type=int, help='port to listen on (default 8080, env DDA_PORT)')
    parser.add_argument('--database-url', help='SQLAlchemy URL of the store (env DDA_DATABASE_URL)')
    parser.add_argument(
        '--refresh-seconds', type=float, help='seconds between AWS refreshes (env DDA_REFRESH_SECONDS)'
    )
    args = parser.parse_args(argv)
    return {key: value for key, value in vars(args).items() if value not in (None, False)}


def load_settings(overrides: dict[str, object] | None = None) -> Settings:
    try:
        return Settings(**(overrides or {}))  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = 'DDA_' + '_'.join(str(p) for p in first['loc']).upper()
        raise SettingsError(f'Invalid setting {name}: {first["msg"]}') from None
