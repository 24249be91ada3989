"""Settings read from the environment (prefix CMR_)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "cmr.secret"  # noqa: S105  (a file name, not a secret)


def _local_secret() -> SecretStr:
    """A secret kept beside the embedded database, made once, for running without CMR_SECRET_KEY."""
    path = Path(SECRET_FILE)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return SecretStr(path.read_text().strip())


class Settings(BaseSettings):
    """Every setting of the service; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="CMR_", extra="forbid", frozen=True)

    database_url: str = "sqlite:///./cmr.db"
    secret_key: SecretStr = Field(default_factory=_local_secret)
    previous_secret_keys: list[SecretStr] = []
    base_url: str = "http://127.0.0.1:8000"
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    catalog_recheck_seconds: float = Field(default=1.0, ge=0, le=60)
    mail_backend: Literal["console", "file", "smtp"] = "console"
    mail_dir: Path = Path("mail")
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "cmr@localhost"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
