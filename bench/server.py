"""A cmr server under load: a seeded database, one server process pinned to one core, wrk."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.audit import CLI
from app.cli.demo import demo_client
from app.consent.context import Context
from app.consent.demo import apply_demo_catalog, create_demo_customers
from app.db import create_db_engine
from app.migrate import upgrade
from app.settings import Settings

SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
SERVER_CORE = "0"
LOAD_CORE = "1"


def ensure_wrk() -> str:
    """wrk, installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    assert found is not None
    return found


def seed(database_url: str, customers: int) -> tuple[str, str]:
    """Migrate, apply the demo catalog, add customers; the (client_id, secret) of a client."""
    upgrade(database_url)
    settings = Settings(database_url=database_url, secret_key=SECRET)  # type: ignore[arg-type]
    engine = create_db_engine(database_url)
    ctx = Context.from_settings(settings)
    apply_demo_catalog(engine, ctx, CLI)
    create_demo_customers(engine, ctx, CLI, customers)
    client = demo_client(engine, ctx, "bench")
    engine.dispose()
    return client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    token: str


@contextmanager
def running(database_url: str, client: tuple[str, str], workdir: Path) -> Iterator[Server]:
    """One server process on SERVER_CORE, with a bearer token for the client."""
    port = _free_port()
    env = {
        **os.environ,
        "CMR_DATABASE_URL": database_url,
        "CMR_SECRET_KEY": SECRET,
        "CMR_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    taskset = shutil.which("taskset")
    if taskset:
        command = [taskset, "-c", SERVER_CORE, *command]
    log = (workdir / f"server-{port}.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        answer = httpx.post(
            f"{url}/oauth/token", data={"grant_type": "client_credentials"}, auth=client
        )
        answer.raise_for_status()
        yield Server(url=url, token=answer.json()["access_token"])
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def wrk(
    url: str,
    *,
    seconds: int = 5,
    connections: int = 16,
    script: str | None = None,
    workdir: Path,
) -> float:
    """Requests per second that wrk measured; fails when any answer was not 2xx."""
    command = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        path = workdir / f"load-{abs(hash(script))}.lua"
        path.write_text(script)
        command += ["-s", str(path)]
    taskset = shutil.which("taskset")
    if taskset:
        command = [taskset, "-c", LOAD_CORE, *command]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"errors under load:\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match is not None, output
    return float(match.group(1))


def lua_post(token: str, bodies: list[str], *, unique_message_ids: bool = False) -> str:
    """A wrk script that POSTs the bodies in turn (with fresh message ids when asked)."""
    quoted = ",\n".join(json.dumps(body) for body in bodies)
    body = "bodies[i]"
    if unique_message_ids:
        body = 'string.gsub(bodies[i], "MSGID", "m" .. thread_id .. "-" .. n)'
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
local bodies = {{
{quoted}
}}
local i = 0
local n = 0
thread_id = tostring(math.random(1, 1000000000))
request = function()
  i = i % #bodies + 1
  n = n + 1
  return wrk.format(nil, nil, nil, ({body}))
end
"""
