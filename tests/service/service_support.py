"""Shared by the service and browser tests (imported by name: ``service_support``).

A built district workspace with accounts and two approved cases, for the service tests.

Accounts (password :data:`PASSWORD` for all): ``ann`` analyst (opened both cases),
``sam`` supervisor (approved them), ``vic`` viewer (member of CASE), ``aud`` auditor,
``ada`` admin, ``out`` analyst who belongs to no case.

``CASE`` (OP-2026/001) names three people (``in_scope``); ``OTHER`` is a person in no
case's scope; ``AREA_CASE`` (OP-2026/002) is scoped to an area around the first
in-scope person's home.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from tessera.accounts import add_user, use_hasher
from tessera.cases import Scope, approve_case, open_case
from tessera.service import Settings, create_app
from tessera.workspace import Workspace

PASSWORD = "correct horse battery"
CASE = "OP-2026/001"
AREA_CASE = "OP-2026/002"
ROLES = {
    "ann": "analyst",
    "sam": "supervisor",
    "vic": "viewer",
    "aud": "auditor",
    "ada": "admin",
    "out": "analyst",
}


@dataclass(frozen=True)
class District:
    path: Path
    in_scope: tuple[str, ...]
    other: str
    area_person: str


@pytest.fixture(scope="session")
def cheap_hashing() -> Iterator[None]:
    use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    use_hasher(None)


@pytest.fixture(scope="session")
def district(
    linked: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, cheap_hashing: None
) -> District:
    _, built = linked
    path = tmp_path_factory.mktemp("service") / "ws"
    shutil.copytree(built, path)
    with Workspace.open(path) as ws:
        for name, role in ROLES.items():
            add_user(ws, name, role, PASSWORD, by="local.test")
        rows = ws.engine.fetch_rows(
            "SELECT d.person FROM dossier d JOIN life_home_work h ON h.subject = d.person "
            "AND h.role = 'home' ORDER BY d.exposure DESC NULLS LAST, d.person LIMIT 4"
        )
        people = [r[0] for r in rows]
        in_scope, other = tuple(people[:3]), people[3]
        [(lat, lon)] = ws.engine.fetch_rows(
            "SELECT lat, lon FROM life_home_work WHERE subject = ? AND role = 'home'",
            [in_scope[0]],
        )
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
        open_case(
            ws,
            CASE,
            title="Service tests",
            legal_basis="synthetic_demo",
            scope=Scope(subjects=in_scope),
            expires_at=expires,
            opened_by="ann",
            members=("vic",),
        )
        approve_case(ws, CASE, by="sam")
        open_case(
            ws,
            AREA_CASE,
            title="Area case",
            legal_basis="synthetic_demo",
            scope=Scope(area=(float(lat), float(lon), 50.0)),
            expires_at=expires,
            opened_by="ann",
        )
        approve_case(ws, AREA_CASE, by="sam")
    return District(path, in_scope, other, in_scope[0])


@contextmanager
def live_server(app: object) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass(frozen=True)
class Served:
    url: str
    app: FastAPI

    @property
    def ws(self) -> Workspace:
        """The server's own open workspace (a second connection to the same file from
        this process is refused by DuckDB), for checks between requests."""
        ws: Workspace = self.app.state.service["ws"]
        return ws


@pytest.fixture(scope="session")
def served(district: District) -> Iterator[Served]:
    app = create_app(district.path, settings=Settings(pool_size=3, max_rows=200))
    with live_server(app) as url:
        yield Served(url, app)


@pytest.fixture(scope="session")
def base_url(served: Served) -> str:
    return served.url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    """A fresh HTTP client (own cookie jar) against the live test server."""
    with httpx.Client(base_url=base_url, timeout=60) as c:
        yield c


def login(client: httpx.Client, name: str) -> dict[str, str]:
    """Log ``name`` in on ``client``; return the headers (CSRF) for unsafe requests."""
    r = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf"]}
