"""A real server: `uvicorn app.main:app` in a subprocess on a fresh, seeded database of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.db import create_db_engine
from tests.api import Api, api_settings, seed_catalog
from tests.databases import migrated_database

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30.0


@dataclass
class Server:
    """A running server: its base URL, an `Api` talking to it, its log and its mail folder."""

    base_url: str
    api: Api
    log: Path
    mail_dir: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /healthz in {STARTUP_SECONDS}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(tmp: Path, *, env: dict[str, str] | None = None) -> Iterator[Server]:
    """A server on a new database in `tmp` with the test catalog; mail goes to `tmp/mail`.

    `env` adds or overrides the server's environment (`CMR_*` settings).
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    mail_dir = tmp / "mail"
    with migrated_database(tmp) as url:
        settings = api_settings(url, tmp).model_copy(update={"base_url": base_url})
        engine = create_db_engine(url)
        try:
            seed_catalog(engine, settings)
            environment = {
                **os.environ,
                "CMR_DATABASE_URL": url,
                "CMR_SECRET_KEY": settings.secret_key.get_secret_value(),
                "CMR_BASE_URL": base_url,
                "CMR_MAIL_BACKEND": "file",
                "CMR_MAIL_DIR": str(mail_dir),
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            }
            log = tmp / "uvicorn.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
                    cwd=ROOT,
                    env=environment,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                _wait_until_up(process, base_url, log)
                with httpx.Client(base_url=base_url, timeout=30) as http:
                    api = Api(http=http, engine=engine, settings=settings)
                    yield Server(base_url, api, log, mail_dir)
            finally:
                _stop(process)
        finally:
            engine.dispose()


@contextmanager
def failing_on_server_errors(server: Server) -> Iterator[None]:
    """Fail if the server printed a traceback (an unhandled error, a 500) inside the block."""
    start = len(server.log_text())
    yield
    printed = server.log_text()[start:]
    if "Traceback" in printed or " 500 " in printed:
        pytest.fail(f"the server failed while serving this test:\n{printed[-5000:]}")
