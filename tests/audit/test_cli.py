"""`tessera audit verify` and `tessera audit list`, through the Typer sub-app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tessera.audit import Access, record
from tessera.audit.cli import audit_app
from tessera.workspace import Workspace

runner = CliRunner()
ALICE = Access("alice", "OP-2024/017", "warrant")
BOB = Access("bob", "OP-2024/018", "court_order")


def _workspace(ws: Workspace) -> Path:
    """Three entries (alice, bob, alice); the workspace closed so the CLI can open it."""
    record(ws, ALICE, "find", "name:Smith", 3)
    record(ws, BOB, "dossier.read", "person:1099511627779", 1, {"sections": ["home"]})
    record(ws, ALICE, "dossier.read", "[bold]person:7[/bold]", 1)
    path = ws.path
    ws.close()
    return path


def test_verify_intact_log_exits_0(ws: Workspace) -> None:
    path = _workspace(ws)
    result = runner.invoke(audit_app, ["verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "audit log intact: 3 entries" in result.output


def test_verify_json(ws: Workspace) -> None:
    path = _workspace(ws)
    result = runner.invoke(audit_app, ["verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["ok"], data["entries"], data["problems"]) == (True, 3, [])
    assert data["head"]["seq"] == 3


def test_verify_tampered_log_exits_1_and_names_the_entry(ws: Workspace) -> None:
    path = _workspace(ws)
    with Workspace.open(path) as rw:
        rw.engine.execute("UPDATE audit_log SET result_size = 0 WHERE seq = 2")
    result = runner.invoke(audit_app, ["verify", str(path)])
    assert result.exit_code == 1
    assert "FAILED verification: 1 problem(s) in 3 entries" in result.output
    assert "entry 2 does not match its hash" in " ".join(result.output.split())
    as_json = runner.invoke(audit_app, ["verify", str(path), "--json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.output)
    assert data["ok"] is False
    assert [p["seq"] for p in data["problems"]] == [2]


def test_verify_truncated_log_exits_1(ws: Workspace) -> None:
    path = _workspace(ws)
    with Workspace.open(path) as rw:
        rw.engine.execute("DELETE FROM audit_log WHERE seq = 3")
    result = runner.invoke(audit_app, ["verify", str(path), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["problems"][0]["seq"] == 3


def test_verify_missing_workspace_fails_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(audit_app, ["verify", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "not a Tessera workspace" in result.output


def test_list_table(ws: Workspace) -> None:
    path = _workspace(ws)
    result = runner.invoke(audit_app, ["list", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Audit log: 3 entries" in result.output
    assert "OP-2024/018" in result.output
    assert "court_order" in result.output
    # analyst-typed text is shown as typed, never read as Rich markup
    assert "[bold]person:7[/bold]" in result.output


def test_list_filters_and_json(ws: Workspace) -> None:
    path = _workspace(ws)
    result = runner.invoke(audit_app, ["list", str(path), "--user", "alice", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["seq"] for r in rows] == [1, 3]
    assert rows[0]["target"] == "name:Smith"
    assert rows[0]["at"].endswith("Z")
    by_case = json.loads(
        runner.invoke(audit_app, ["list", str(path), "-c", "OP-2024/018", "--json"]).output
    )
    assert [(r["seq"], r["detail"]) for r in by_case] == [(2, {"sections": ["home"]})]
    by_action = json.loads(
        runner.invoke(audit_app, ["list", str(path), "--action", "dossier.read", "--json"]).output
    )
    assert [r["seq"] for r in by_action] == [2, 3]
    last = json.loads(runner.invoke(audit_app, ["list", str(path), "-n", "1", "--json"]).output)
    assert [r["seq"] for r in last] == [3]


def test_list_since_and_until(ws: Workspace) -> None:
    path = _workspace(ws)
    future = runner.invoke(audit_app, ["list", str(path), "--since", "2999-01-01", "--json"])
    assert future.exit_code == 0, future.output
    assert json.loads(future.output) == []
    past = runner.invoke(
        audit_app, ["list", str(path), "--since", "2000-01-01T00:00:00+02:00", "--json"]
    )
    assert [r["seq"] for r in json.loads(past.output)] == [1, 2, 3]
    before = runner.invoke(audit_app, ["list", str(path), "--until", "2000-01-01", "--json"])
    assert json.loads(before.output) == []


def test_list_bad_time_is_a_usage_error(ws: Workspace) -> None:
    path = _workspace(ws)
    result = runner.invoke(audit_app, ["list", str(path), "--since", "yesterday"])
    assert result.exit_code == 2
    assert "not an ISO 8601 time" in result.output


def test_list_on_a_workspace_without_a_log(ws: Workspace) -> None:
    path = ws.path
    ws.close()
    result = runner.invoke(audit_app, ["list", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
