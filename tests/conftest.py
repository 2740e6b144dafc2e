"""Shared fixtures, and the guard that fails a CI run on unexpected skips."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tessera.simulate.output import simulate
from tessera.workspace import Workspace

# Skip reasons allowed in CI (substring match). Empty: no test may skip today.
ALLOWED_SKIPS: tuple[str, ...] = ()

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def toy_mappings(folder: Path) -> tuple[Path, Path]:
    """Two small mappings written to ``folder``: ``ev.yaml`` (operator ``op``'s device
    events, columns n, t, c) and ``sub.yaml`` (subscriptions of source ``subs``, columns
    n, name)."""
    import yaml

    events = folder / "ev.yaml"
    events.write_text(
        yaml.safe_dump(
            {
                "source": "op",
                "kind": "device_event",
                "properties": {
                    "msisdn": "n",
                    "time": "t",
                    "sensor_id": "c",
                    "event_type": {"constant": "location_update"},
                },
            }
        )
    )
    subs = folder / "sub.yaml"
    subs.write_text(
        yaml.safe_dump(
            {
                "source": "subs",
                "kind": "registry.subscription",
                "properties": {"msisdn": "n", "subscriber_name": "name"},
            }
        )
    )
    return events, subs


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh, open workspace."""
    workspace = Workspace.init(tmp_path / "ws")
    try:
        yield workspace
    finally:
        workspace.close()


# when each build ran, written into every dossier: left out where builds are compared
DOSSIER_BUILD_TIMES = ("generated_at", "built_at")


def dossier_content(body: bytes) -> dict[str, Any]:
    """A stored dossier without the times of the build that wrote it."""
    from tessera.dossier.store import decode

    return {k: v for k, v in decode(body).items() if k not in DOSSIER_BUILD_TIMES}


def built_simulation(
    factory: pytest.TempPathFactory, persons: int, days: int, seed: int
) -> tuple[Path, Path]:
    """(simulator output, workspace): a simulated district with every feed ingested
    and every stage run once (DuckDB)."""
    out = factory.mktemp("sim")
    simulate(out, persons=persons, days=days, seed=seed)
    path = factory.mktemp("ws") / "ws"
    with Workspace.init(path) as ws:
        for mapping in sorted((out / "mappings").glob("*.yaml")):
            ws.ingest(mapping)
        ws.build()
    return out, path


@pytest.fixture(scope="session")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(simulator output, built workspace) for 600 people over 5 days, shared by the
    linking and life tests."""
    return built_simulation(tmp_path_factory, persons=600, days=5, seed=5)


_UNEXPECTED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        longrepr = report.longrepr
        reason = str(longrepr[-1]) if isinstance(longrepr, tuple) else str(longrepr)
        if not any(allowed in reason for allowed in ALLOWED_SKIPS):
            _UNEXPECTED.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _UNEXPECTED and os.environ.get("CI") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _UNEXPECTED:
        terminalreporter.section("unexpected skips (CI fails on these)")
        for line in _UNEXPECTED:
            terminalreporter.line(line)
