"""`make bench`: the figures the decision-service issue names, each as a ratio against a baseline
measured in the same run on the same server (timings on shared machines are noisy; ratios hold).
The SQLite figures are each the median of three rounds taken in turn.

1. single decisions per second against `/healthz` requests per second (target: at least 0.6);
2. decisions per second through the batch endpoint at 1,000 items per request (target: 50,000 on
   one core), as a ratio against single decisions per second;
3. reservations per second on PostgreSQL with 32 concurrent clients, against `/healthz` there.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.server import lua_post, running, seed, wrk

CUSTOMERS = 2000
BATCH = 1000
POSTGRES = os.environ.get(
    "CMR_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TOPICS = [
    ("northwind", "orders", "email"),
    ("northwind", "newsletter", "email"),
    ("northwind", "offers", "sms"),
    ("acme", "tips", "email"),
    ("acme", "surveys", "push"),
]


def decision(rng: random.Random) -> dict[str, object]:
    brand, topic, channel = rng.choice(TOPICS)
    customer = f"ext:demo-{rng.randint(1, CUSTOMERS)}"
    return {"customer": customer, "brand": brand, "topic": topic, "channel": channel}


def report(
    name: str, value: float, unit: str, baseline: float, baseline_name: str, target: str
) -> None:
    ratio = value / baseline
    print(f"{name:<34} {value:>12,.0f} {unit:<14} {ratio:>7.2f} x {baseline_name:<22} {target}")


def alternating(measures: dict[str, Callable[[], float]], rounds: int = 3) -> dict[str, float]:
    """Each figure measured `rounds` times, in turn with the others, and the median kept: a
    neighbour's load on a shared machine then weighs on every figure alike."""
    found: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            found[name].append(measure())
    return {name: statistics.median(values) for name, values in found.items()}


def sqlite_figures(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'bench.db'}"
    client = seed(url, CUSTOMERS)
    rng = random.Random(1)
    singles = [json.dumps(decision(rng)) for _ in range(500)]
    batches = [json.dumps({"items": [decision(rng) for _ in range(BATCH)]}) for _ in range(4)]
    with running(url, client, workdir) as server:
        figures = alternating(
            {
                "healthz": lambda: wrk(f"{server.url}/healthz", workdir=workdir),
                "single": lambda: wrk(
                    f"{server.url}/api/v1/decisions",
                    script=lua_post(server.token, singles),
                    workdir=workdir,
                ),
                "batch": lambda: (
                    BATCH
                    * wrk(
                        f"{server.url}/api/v1/decisions/batch",
                        script=lua_post(server.token, batches),
                        connections=2,
                        workdir=workdir,
                    )
                ),
            }
        )
    healthz, single, batch = figures["healthz"], figures["single"], figures["batch"]
    print(f"{'figure':<34} {'value':>12} {'unit':<14} {'ratio':>7}   {'baseline':<22} target")
    report("healthz (SQLite)", healthz, "requests/s", healthz, "healthz", "")
    report(
        "single decisions (SQLite)", single, "decisions/s", healthz, "healthz", "≥ 0.6 x healthz"
    )
    report(
        "batch decisions, 1,000 a request",
        batch,
        "decisions/s",
        single,
        "single decisions",
        "≥ 50,000/s",
    )


def postgres_figures(workdir: Path) -> None:
    name = f"cmr_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        client = seed(url, CUSTOMERS)
        rng = random.Random(2)
        with running(url, client, workdir) as server:
            healthz = wrk(f"{server.url}/healthz", connections=32, workdir=workdir)
            bodies = []
            for _ in range(500):
                body = decision(rng)
                body.update(brand="northwind", topic="orders", channel="email")
                body.update(reserve=True, message_id="MSGID")
                bodies.append(json.dumps(body))
            reservations = wrk(
                f"{server.url}/api/v1/decisions",
                script=lua_post(server.token, bodies, unique_message_ids=True),
                connections=32,
                workdir=workdir,
            )
        report("healthz (PostgreSQL)", healthz, "requests/s", healthz, "healthz", "")
        report(
            "reservations, 32 clients (PG)", reservations, "reservations/s", healthz, "healthz", ""
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cmr-bench-") as tmp:
        sqlite_figures(Path(tmp))
        postgres_figures(Path(tmp))


if __name__ == "__main__":
    main()
