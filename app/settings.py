"""Settings read from the environment (prefix CMR_)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "cmr.secret"  # noqa: S105  (a file name, not a secret)


DEFAULT_DATABASE_URL = "sqlite:///./cmr.db"
MIN_SECRET_LENGTH = 32


def _local_secret() -> str:
    """A secret kept beside the embedded database, made once, for running without CMR_SECRET_KEY.

    Written to a temporary file and linked into place, so that processes starting together
    agree on one secret and never read a half-written file.
    """
    path = Path(SECRET_FILE)
    if not path.exists():
        temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: theirs it is
        finally:
            temporary.unlink()
    return path.read_text().strip()


class Settings(BaseSettings):
    """Every setting of the service; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="CMR_", extra="forbid", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    # Filled in by `_secret_for_sqlite` when not given.
    secret_key: SecretStr = SecretStr("")
    previous_secret_keys: list[SecretStr] = []
    base_url: str = "http://127.0.0.1:8000"
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    catalog_recheck_seconds: float = Field(default=1.0, ge=0, le=60)
    tally_flush_seconds: float = Field(default=10, ge=0.1, le=3600)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=30 * 24)
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_role_claim: str = "cmr_role"
    portal_oidc_issuer: str | None = None
    portal_oidc_client_id: str | None = None
    portal_oidc_client_secret: SecretStr | None = None
    portal_oidc_name: str = "your account"
    mail_backend: Literal["console", "file", "smtp"] = "console"
    mail_dir: Path = Path("mail")
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "cmr@localhost"
    smtp_starttls: bool = False

    @model_validator(mode="before")
    @classmethod
    def _secret_for_sqlite(cls, data: Any) -> Any:
        """Without CMR_SECRET_KEY, the embedded database gets a local secret; others refuse."""
        if isinstance(data, dict) and not data.get("secret_key"):
            if not str(data.get("database_url", DEFAULT_DATABASE_URL)).startswith("sqlite"):
                raise ValueError("CMR_SECRET_KEY is required unless the database is SQLite")
            data = {**data, "secret_key": _local_secret()}
        return data

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
