"""Once a workspace has accounts, the command line's reads obey cases like the service:
a registered, approved case the account belongs to, its legal basis, its scope."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tessera import accounts as A
from tessera import cases as C
from tessera.audit import entries
from tessera.cli import app
from tessera.workspace import Workspace

PW = "correct horse battery"
runner = CliRunner()


@pytest.fixture(scope="module")
def governed(linked: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built district with accounts and one approved case naming one person."""
    from argon2 import PasswordHasher

    path = tmp_path_factory.mktemp("governed") / "ws"
    shutil.copytree(linked[1], path)
    A.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        with Workspace.open(path) as ws:
            people = [r[0] for r in ws.engine.fetch_rows("SELECT person FROM dossier LIMIT 2")]
            A.add_user(ws, "ann", "analyst", PW, by="local.op")
            A.add_user(ws, "sue", "supervisor", PW, by="local.op")
            C.open_case(
                ws,
                "OP-9",
                title="one subject",
                legal_basis="warrant",
                scope=C.Scope((people[0],)),
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=5),
                opened_by="ann",
            )
            C.approve_case(ws, "OP-9", by="sue")
    finally:
        A.use_hasher(None)
    (path / "people.json").write_text(json.dumps(people))
    return path


def _env(user: str = "ann", case: str = "OP-9", basis: str = "warrant") -> dict[str, str]:
    return {"TESSERA_USER": user, "TESSERA_CASE": case, "TESSERA_LEGAL_BASIS": basis}


def test_reads_within_the_case_pass_and_others_are_refused(governed: Path, tmp_path: Path) -> None:
    inside, outside = json.loads((governed / "people.json").read_text())
    ws_arg = str(governed)
    ok = runner.invoke(app, ["dossier", ws_arg, inside], env=_env())
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["person"] == inside

    refused = {
        "out of scope": runner.invoke(app, ["dossier", ws_arg, outside], env=_env()),
        "wrong basis": runner.invoke(app, ["dossier", ws_arg, inside], env=_env(basis="consent")),
        "not an account": runner.invoke(app, ["dossier", ws_arg, inside], env=_env(user="eve")),
        "unknown case": runner.invoke(app, ["dossier", ws_arg, inside], env=_env(case="OP-404")),
        "everyone": runner.invoke(
            app, ["export", ws_arg, str(tmp_path / "n.gexf"), "-f", "gexf"], env=_env()
        ),
    }
    for why, result in refused.items():
        assert result.exit_code == 1, (why, result.output)
        assert '"identities"' not in result.output  # no dossier shown
    assert "outside the scope" in refused["out of scope"].output
    assert "legal basis" in refused["wrong basis"].output
    assert "not an account" in refused["not an account"].output
    with Workspace.open(governed) as ws:
        actions = [e.action for e in entries(ws)]
    assert "case.out_of_scope" in actions
    assert "case.refused" in actions


def test_lists_show_only_the_cases_people(governed: Path, tmp_path: Path) -> None:
    inside, _ = json.loads((governed / "people.json").read_text())
    found = runner.invoke(app, ["find", str(governed), "--json", "--limit", "50"], env=_env())
    assert found.exit_code == 0, found.output
    assert [r["person"] for r in json.loads(found.output)] == [inside]

    out = tmp_path / "all"
    written = runner.invoke(app, ["dossier", str(governed), "--all", "-o", str(out)], env=_env())
    assert written.exit_code == 0, written.output
    assert [p.name for p in out.glob("person_*.json")] == [inside.replace(":", "_") + ".json"]
    with Workspace.open(governed) as ws:
        export = [e for e in entries(ws) if e.action == "export"][-1]
    assert (export.result_size, export.case) == (1, "OP-9")
