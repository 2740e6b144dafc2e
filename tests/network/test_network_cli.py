"""`tessera path` and `tessera ego` on a built workspace: answers, audit, refusals."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tessera.audit import entries
from tessera.cli import app
from tessera.network import tables
from tessera.workspace import Workspace

ENV = {"TESSERA_USER": "ana", "TESSERA_CASE": "CASE-9", "TESSERA_LEGAL_BASIS": "research"}


@pytest.fixture(scope="module")
def copy(linked: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built workspace (reads write to its audit log)."""
    path = tmp_path_factory.mktemp("netcli") / "ws"
    shutil.copytree(linked[1], path)
    return path


RUN = CliRunner(env=ENV)  # every read here states its access


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


def test_path_shows_every_hop_with_its_evidence(copy: Path) -> None:
    path = copy
    a, b, c = _edge(path)
    result = RUN.invoke(app, ["path", str(path), a, c, "--max-hops", "4"])
    assert result.exit_code == 0, result.output
    assert a in result.output
    assert c in result.output
    assert "hop(s)" in result.output
    direct = RUN.invoke(app, ["path", str(path), a, b, "--max-hops", "1"])
    assert direct.exit_code == 0, direct.output
    assert "1 hop(s)" in direct.output
    # the hop's evidence names the contact's channel (calls, SMS or a contact list)
    assert any(w in direct.output.lower() for w in ("call", "sms", "list"))


def test_ego_lists_neighbours_by_hops(copy: Path) -> None:
    path = copy
    a, b, c = _edge(path)
    one = RUN.invoke(app, ["ego", str(path), a, "--depth", "1"], terminal_width=200)
    two = RUN.invoke(app, ["ego", str(path), a, "--depth", "2"], terminal_width=200)
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    assert b in one.output
    assert c not in one.output
    assert c in two.output


def test_unknown_subjects_are_refused_with_the_reason(copy: Path) -> None:
    path = copy
    result = RUN.invoke(app, ["ego", str(path), "person:nobody"])
    assert result.exit_code != 0
    assert "unknown subject" in result.output


def test_reads_need_an_access_context_and_are_audited(copy: Path) -> None:
    a, b, _ = _edge(copy)
    with Workspace.open(copy) as ws:
        before = len(entries(ws))
    refused = CliRunner().invoke(app, ["ego", str(copy), a], env={"TESSERA_USER": ""})
    assert refused.exit_code == 1
    assert "--legal-basis" in refused.output
    assert b not in refused.output
    found = RUN.invoke(app, ["path", str(copy), a, b])
    assert found.exit_code == 0
    # the audit records the hops the user was shown (the direct edge, or a shorter
    # route through someone else)
    hops = int(re.search(r"(\d+) hop\(s\)", found.output).group(1))  # type: ignore[union-attr]
    assert RUN.invoke(app, ["ego", str(copy), "person:nobody"]).exit_code == 1
    with Workspace.open(copy) as ws:
        log = entries(ws)[before:]
    assert [(e.action, e.target, e.result_size, e.case) for e in log] == [
        ("path", f"{a} {b}", hops, "CASE-9"),
        ("ego", "person:nobody", 0, "CASE-9"),
    ]
