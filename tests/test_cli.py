"""The command line, run as a user would (CliRunner and a real subprocess)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from tessera.cli import app

runner = CliRunner()

CSV = "cam,plate,seen,conf\nC1,BXY123,2026-03-01 10:00:00,0.9\nC2,,2026-03-01 10:01:00,0.9\n"
MAPPING = """\
source: anpr
kind: plate_read
files: [reads.csv]
timezone: UTC
properties:
  camera_id: cam
  plate: plate
  time: {column: seen, format: "%Y-%m-%d %H:%M:%S"}
  confidence: conf
"""


def test_init_ingest_status_build(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (tmp_path / "reads.csv").write_text(CSV)
    (tmp_path / "m.yaml").write_text(MAPPING)
    r = runner.invoke(app, ["init", str(ws)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ingest", str(ws), "--mapping", str(tmp_path / "m.yaml")])
    assert r.exit_code == 0, r.output
    assert "read 2 = loaded 1 + quarantined 1" in r.output
    r = runner.invoke(app, ["status", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    assert st["tables"]["obs_plate_read"] == 1
    assert st["quarantined"] == 1
    assert st["batches"][0]["read"] == 2
    r = runner.invoke(app, ["status", str(ws)])
    assert "obs_plate_read" in r.output
    assert "Quarantined rows in total: 1" in r.output
    r = runner.invoke(app, ["build", str(ws)])
    assert r.exit_code == 0, r.output
    assert "identifiers: identifier" in r.output


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    r = runner.invoke(app, ["status", str(tmp_path / "nope")])
    assert r.exit_code == 1
    assert "not a Tessera workspace" in r.output
    assert "tessera init" in r.output
    assert "Traceback" not in r.output
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    (tmp_path / "m.yaml").write_text(MAPPING.replace("plate: plate", "plate: platez"))
    (tmp_path / "reads.csv").write_text(CSV)
    r = runner.invoke(app, ["ingest", str(ws), "-m", str(tmp_path / "m.yaml")])
    assert r.exit_code == 1
    assert "'platez'" in r.output
    assert "reads.csv" in r.output
    r = runner.invoke(app, ["init", str(ws)])
    assert r.exit_code == 1
    assert "already is a workspace" in r.output


def test_model_command() -> None:
    r = runner.invoke(app, ["model", "--json"])
    assert r.exit_code == 0
    assert "device_event" in json.loads(r.output)["sources"]


def test_help_and_version_in_a_real_process() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tessera", "--help"], capture_output=True, text=True, check=True
    )
    for cmd in ("init", "ingest", "status", "build", "demo", "model"):
        assert cmd in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "tessera", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("tessera ")


def test_demo_end_to_end(tmp_path: Path) -> None:
    ws = tmp_path / "demo-ws"
    args = ["demo", "--workspace", str(ws), "--persons", "150", "--days", "2", "--no-serve"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "quarantine.recall" in r.output  # the evaluation table
    # demo accounts: the printed password logs in, and the demo case is approved
    from tessera.accounts import authenticate
    from tessera.cases import authorise
    from tessera.workspace import Workspace

    printed = re.search(r"demo\s+analyst\s+password (\S+)", r.output)
    assert printed is not None, r.output
    credentials = (ws / "DEMO-CREDENTIALS.txt").read_text()
    assert printed.group(1) in credentials
    assert (ws / "DEMO-CREDENTIALS.txt").stat().st_mode & 0o077 == 0
    with Workspace.open(ws) as w:
        user = authenticate(w, "demo", printed.group(1))
        access = authorise(w, user, "DEMO-1", "read")
        assert (access.case, access.legal_basis) == ("DEMO-1", "synthetic_demo")
    st = json.loads(runner.invoke(app, ["status", str(ws), "--json"]).output)
    mappings = list((tmp_path / "demo-ws-data" / "mappings").glob("*.yaml"))
    assert len(st["batches"]) == len(mappings) >= 16
    for b in st["batches"]:
        assert b["read"] == b["loaded"] + b["quarantined"]
    planted = pq.read_table(tmp_path / "demo-ws-data" / "truth" / "planted_errors.parquet")
    assert st["quarantined"] == planted.num_rows > 0  # exactly the planted bad rows
    for table in (
        "obs_device_event",
        "obs_plate_read",
        "obs_communication",
        "obs_contact",
        "reg_person",
        "reg_subscription",
        "reg_vehicle",
        "reg_organisation",
        "reg_address",
        "sensor",
        "identifier",
    ):
        assert st["tables"][table] > 0, table
    metrics = json.loads(
        runner.invoke(
            app, ["evaluate", str(ws), "--truth", str(tmp_path / "demo-ws-data"), "--json"]
        ).stdout
    )
    assert metrics["ingest.quarantine.recall"] == 1.0
    again = runner.invoke(app, args)  # re-runnable
    assert again.exit_code == 0, again.output


def test_demo_never_replaces_a_real_workspace(tmp_path: Path) -> None:
    real = tmp_path / "casework"
    assert runner.invoke(app, ["init", str(real)]).exit_code == 0
    r = runner.invoke(app, ["demo", "--workspace", str(real), "--persons", "60", "--days", "1"])
    assert r.exit_code == 1
    assert "not made by `tessera demo`" in r.output
    assert (real / "tessera.yaml").is_file()  # untouched
