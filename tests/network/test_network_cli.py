"""`tessera path` and `tessera ego` on a built workspace."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tessera.cli import app
from tessera.network import tables
from tessera.workspace import Workspace


def _edge(path: Path) -> tuple[str, str, str]:
    """A contact edge (a, b) and a subject two hops from a."""
    with Workspace.open(path, read_only=True) as ws:
        rows = ws.engine.fetch_rows(
            f"SELECT e1.a, e1.b, e2.b FROM {tables.EDGE} e1 JOIN {tables.EDGE} e2 "
            "ON e2.a = e1.b AND e2.b <> e1.a "
            f"WHERE e1.contact_weight > 0 AND NOT EXISTS (SELECT 1 FROM {tables.EDGE} x "
            "WHERE (x.a = e1.a AND x.b = e2.b) OR (x.b = e1.a AND x.a = e2.b)) "
            "ORDER BY e1.a, e1.b, e2.b LIMIT 1"
        )
    return rows[0]


def test_path_shows_every_hop_with_its_evidence(linked: tuple[Path, Path]) -> None:
    _, path = linked
    a, b, c = _edge(path)
    result = CliRunner().invoke(app, ["path", str(path), a, c, "--max-hops", "4"])
    assert result.exit_code == 0, result.output
    assert a in result.output
    assert c in result.output
    assert "hop(s)" in result.output
    direct = CliRunner().invoke(app, ["path", str(path), a, b, "--max-hops", "1"])
    assert direct.exit_code == 0, direct.output
    assert "1 hop(s)" in direct.output
    assert "call" in direct.output.lower()


def test_ego_lists_neighbours_by_hops(linked: tuple[Path, Path]) -> None:
    _, path = linked
    a, b, c = _edge(path)
    one = CliRunner().invoke(app, ["ego", str(path), a, "--depth", "1"], terminal_width=200)
    two = CliRunner().invoke(app, ["ego", str(path), a, "--depth", "2"], terminal_width=200)
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    assert b in one.output
    assert c not in one.output
    assert c in two.output


def test_unknown_subjects_are_refused_with_the_reason(linked: tuple[Path, Path]) -> None:
    _, path = linked
    result = CliRunner().invoke(app, ["ego", str(path), "person:nobody"])
    assert result.exit_code != 0
    assert "unknown subject" in result.output
