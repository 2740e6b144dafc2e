"""`tessera user`, `tessera case`, `tessera purge` and `tessera audit flags` through the
main app; passwords come from stdin, never from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tessera.audit import entries
from tessera.cli import app
from tessera.workspace import Workspace

runner = CliRunner()
PW = "correct horse battery\n"


def _run(args: list[str], stdin: str | None = None) -> str:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_user_and_case_commands(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    ws = str(path)
    _run(["user", "add", ws, "root", "--role", "admin", "--password-stdin"], PW)
    for name, role in (("ann", "analyst"), ("sue", "supervisor"), ("vic", "viewer")):
        _run(
            ["user", "add", ws, name, "--role", role, "--password-stdin", "--by", "root"],
            PW,
        )
    users = json.loads(_run(["user", "list", ws, "--json"]))
    assert [(u["name"], u["role"]) for u in users] == [
        ("ann", "analyst"),
        ("root", "admin"),
        ("sue", "supervisor"),
        ("vic", "viewer"),
    ]
    short = runner.invoke(
        app, ["user", "add", ws, "x", "--role", "viewer", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 1
    assert "at least 12" in short.output
    token = _run(["user", "token", ws, "ann", "--label", "script", "--by", "root"]).strip()
    assert token.startswith("tsr_")
    _run(["user", "role", ws, "vic", "auditor", "--by", "root"])
    opened = json.loads(
        _run(
            [
                "case", "open", ws, "OP-7", "--title", "harbour", "--legal-basis", "warrant",
                "--subject", "person:1", "--area", "52.5,13.4,300", "--by", "ann",
                "--password-stdin", "--json",
            ],
            PW,
        )
    )  # fmt: skip
    assert opened["status"] == "pending"
    assert opened["scope"]["area"] == [52.5, 13.4, 300.0]
    wrong = runner.invoke(
        app, ["case", "approve", ws, "OP-7", "--by", "sue", "--password-stdin"], input="nope\n"
    )
    assert wrong.exit_code == 1
    assert "invalid name or password" in wrong.output
    _run(["case", "approve", ws, "OP-7", "--by", "sue", "--password-stdin"], PW)
    _run(["case", "add-member", ws, "OP-7", "vic", "--by", "ann", "--password-stdin"], PW)
    shown = json.loads(_run(["case", "show", ws, "OP-7", "--json"]))
    assert (shown["status"], shown["approved_by"], shown["members"]) == ("active", "sue", ["vic"])
    assert "OP-7" in _run(["case", "list", ws])
    _run(["case", "close", ws, "OP-7", "--by", "sue", "--password-stdin"], PW)
    assert json.loads(_run(["case", "show", ws, "OP-7", "--json"]))["status"] == "closed"
    flags = json.loads(_run(["audit", "flags", ws, "--json"]))
    assert isinstance(flags, list)
    with Workspace.open(path, read_only=True) as opened_ws:
        actions = [e.action for e in entries(opened_ws)]
    assert actions.count("user.add") == 4
    assert {"token.issue", "user.role", "case.open", "case.approve", "case.member"} <= set(actions)
    assert "login.refused" in actions
    assert "case.close" in actions


def test_purge_command(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    Workspace.init(path).close()
    none = runner.invoke(app, ["purge", str(path)])
    assert none.exit_code == 1
    assert "retention" in none.output
    cfg = path / "tessera.yaml"
    cfg.write_text(cfg.read_text().replace("retention: {}", "retention: {device_event: 30d}"))
    report = json.loads(_run(["purge", str(path), "--dry-run", "--json"]))
    assert report["dry_run"]
    assert [k["kind"] for k in report["kinds"]] == ["device_event"]
    done = json.loads(_run(["purge", str(path), "--json"]))
    assert done["audit_seq"] == 1
    assert done["total"] == 0
