"""A real server: `uvicorn app.main:app` in a subprocess on a fresh, seeded database per module."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.db import create_db_engine
from tests.api import Api, api_settings, seed_catalog
from tests.databases import migrated_database

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0


@dataclass
class Server:
    """A running server: its base URL, an `Api` talking to it, and its log."""

    base_url: str
    api: Api
    log: Path

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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on its own database with the test catalog; stopped after the module."""
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with migrated_database(tmp) as url:
        settings = api_settings(url, tmp).model_copy(update={"base_url": base_url})
        engine = create_db_engine(url)
        seed_catalog(engine, settings)
        env = {
            **os.environ,
            "CMR_DATABASE_URL": url,
            "CMR_SECRET_KEY": settings.secret_key.get_secret_value(),
            "CMR_BASE_URL": base_url,
            "CMR_MAIL_BACKEND": "file",
            "CMR_MAIL_DIR": str(tmp / "mail"),
            "PYTHONUNBUFFERED": "1",
        }
        log = tmp / "uvicorn.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_up(process, base_url, log)
            with httpx.Client(base_url=base_url, timeout=30) as http:
                yield Server(base_url, Api(http=http, engine=engine, settings=settings), log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            engine.dispose()


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which the server printed a traceback (an unhandled error, a 500)."""
    if "server" not in request.fixturenames:
        yield
        return
    server: Server = request.getfixturevalue("server")
    start = len(server.log_text())
    yield
    printed = server.log_text()[start:]
    if "Traceback" in printed or " 500 " in printed:
        pytest.fail(f"the server failed while serving this test:\n{printed[-5000:]}")
