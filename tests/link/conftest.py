"""A small simulated district, every feed ingested and built once for the link tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera.simulate.output import simulate
from tessera.workspace import Workspace


@pytest.fixture(scope="session")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(simulator output, built workspace) for 600 people over 5 days."""
    out = tmp_path_factory.mktemp("district")
    simulate(out, persons=600, days=5, seed=5)
    path = tmp_path_factory.mktemp("ws") / "ws"
    with Workspace.init(path) as ws:
        for mapping in sorted((out / "mappings").glob("*.yaml")):
            ws.ingest(mapping)
        ws.build()
    return out, path
