"""The evaluation harness: known answers on a tiny world whose truth is written here.

The world (:func:`make_world`): source ``anpr`` loads ``reads.csv`` (6 rows; rows 3, 4
and 5 are quarantined) twice, and ``extra.csv`` (1 row, quarantined; not in the
manifest); source ``operator`` loads ``subs.csv`` (3 rows). The truth plants errors
at rows 3 and 6 of ``reads.csv`` (row 6 loads: a miss) and at a row of ``calls.csv``
(never ingested: ignored). Expected, by hand:

* ``ingest.anpr.loaded_share`` = 3 loaded / 6 in the manifest = 0.5 (the second
  batch of ``reads.csv`` counts once; ``extra.csv`` is not in the manifest);
* ``ingest.operator.loaded_share`` = 3 / 4 (the manifest says 4) = 0.75;
* quarantine: quarantined {3, 4, 5}, planted {3, 6}: precision 1/3, recall 1/2,
  F1 = 2 * (1/3 * 1/2) / (1/3 + 1/2) = 0.4;
* msisdn: 2 of 5 distinct truth numbers indexed = 0.4; imsi: 2 of 3 = 2/3 (two
  devices have none); plates: 2 of 4 = 0.5 (``B-XY 123`` cleans to ``BXY123``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from tessera.cli import app
from tessera.errors import EvaluationError, TesseraError, TruthError
from tessera.evaluate import Evaluation, Provider, SkipProvider, Truth, evaluate
from tessera.evaluate import registered_providers as providers
from tessera.evaluate.harness import precision_recall_f1
from tessera.workspace import Workspace

runner = CliRunner()

READS_CSV = (
    "cam,plate,seen,conf\n"
    "C1,b-xy 123,01/03/2026 10:00:00,0.9\n"  # row 1
    "C2,BXY123,01/03/2026 10:05:00,0.8\n"  # row 2
    "C3,,01/03/2026 10:06:00,0.7\n"  # row 3: plate missing (planted)
    "C4,BXY124,31/02/2026 10:00:00,0.7\n"  # row 4: impossible date
    "C5,BXY125,01/03/2026 11:00:00,1.5\n"  # row 5: confidence above 1
    "C6,BXY126,01/03/2026 12:00:00,0.95\n"  # row 6 (planted, but it loads)
)
EXTRA_CSV = "cam,plate,seen,conf\nC7,,01/03/2026 13:00:00,0.5\n"  # row 1: plate missing
SUBS_CSV = (
    "id,number,sim\nS1,+4915112345678,262011234567890\nS2,+4915112345679,\nS3,,262011234567892\n"
)

EXPECTED = {
    "identifiers.imsi_recall": 2 / 3,
    "identifiers.msisdn_recall": 0.4,
    "identifiers.plate_recall": 0.5,
    "ingest.anpr.loaded_share": 0.5,
    "ingest.operator.loaded_share": 0.75,
    "ingest.quarantine.f1": 0.4,
    "ingest.quarantine.precision": 1 / 3,
    "ingest.quarantine.recall": 0.5,
}


def _yaml(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(body, sort_keys=False), "utf-8")
    return path


def make_world(
    root: Path,
    *,
    build: bool = True,
    manifest: bool = True,
    devices: bool = True,
    vehicles: bool = True,
) -> tuple[Path, Path]:
    """Ingest the feeds into a workspace (closed again) and write the truth; return
    (workspace folder, OUT folder)."""
    feeds = root / "feeds"
    feeds.mkdir(parents=True)
    (feeds / "reads.csv").write_text(READS_CSV, "utf-8")
    (feeds / "extra.csv").write_text(EXTRA_CSV, "utf-8")
    (feeds / "subs.csv").write_text(SUBS_CSV, "utf-8")
    anpr = _yaml(
        feeds / "anpr.yaml",
        {
            "source": "anpr",
            "kind": "plate_read",
            "timezone": "Europe/Berlin",
            "properties": {
                "camera_id": "cam",
                "plate": "plate",
                "time": {"column": "seen", "format": "%d/%m/%Y %H:%M:%S"},
                "confidence": "conf",
            },
        },
    )
    subs = _yaml(
        feeds / "subs.yaml",
        {
            "source": "operator",
            "kind": "registry.subscription",
            "properties": {"record_id": "id", "msisdn": "number", "imsi": "sim"},
        },
    )
    ws_path = root / "ws"
    with Workspace.init(ws_path) as ws:
        ws.ingest(anpr, [feeds / "reads.csv", feeds / "extra.csv", feeds / "reads.csv"])
        ws.ingest(subs, [feeds / "subs.csv"])
        if build:
            ws.build()

    out = root / "out"
    truth = out / "truth"
    truth.mkdir(parents=True)
    if manifest:
        files = {
            "sources/reads.csv": {"rows": 6, "sha256": "0" * 64},
            "sources/subs.csv": {"rows": 4, "sha256": "0" * 64},
            "sources/calls.csv": {"rows": 10, "sha256": "0" * 64},
            "truth/planted_errors.parquet": {"rows": 3, "sha256": "0" * 64},
        }
        (out / "manifest.json").write_text(json.dumps({"seed": 1, "files": files}), "utf-8")
    pq.write_table(
        pa.table(
            {
                "source": ["anpr", "anpr", "operator"],
                "file": ["sources/reads.csv", "sources/reads.csv", "sources/calls.csv"],
                "row_no": pa.array([3, 6, 2], pa.int64()),
                "reason": ["blank plate", "bad time", "bad number"],
            }
        ),
        truth / "planted_errors.parquet",
    )
    if devices:
        pq.write_table(
            pa.table(
                {
                    "device_id": [1, 2, 3, 4, 5, 6],
                    "msisdn": [
                        "+4915112345678",
                        "+4915112345679",
                        "+4915112345670",
                        "+4915112345671",
                        "+4915112345672",
                        "+4915112345678",  # a repeat counts once
                    ],
                    "imsi": [
                        "262011234567890",
                        None,
                        "262011234567892",
                        "262011234567893",
                        None,
                        None,
                    ],
                }
            ),
            truth / "devices.parquet",
        )
    if vehicles:
        pq.write_table(
            pa.table({"vehicle_id": [1, 2, 3, 4], "plate": ["B-XY 123", "bxy126", "ZZ 999", "Q1"]}),
            truth / "vehicles.parquet",
        )
    return ws_path, out


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    return make_world(tmp_path)


# the linking, life, network and dossier providers: this world has no plate-read, vehicle-use,
# records, stays, meetings or ties truth, and no life, network or dossier tables
LINKING = {
    "linking.plates",
    "linking.second_phone",
    "linking.device_swap",
    "linking.device_person",
    "linking.vehicle_person",
    "life.home_work",
    "life.stays",
    "life.anomalies",
    "network.meetings",
    "network.ties",
    "network.communities",
    "exposure",
    "dossier",
}


# -- known answers ---------------------------------------------------------------------
def test_known_answers(world: tuple[Path, Path]) -> None:
    ws, out = world
    result = evaluate(ws, out / "truth")
    assert isinstance(result, Evaluation)
    assert result.metrics == pytest.approx(EXPECTED)
    assert list(result.metrics) == sorted(EXPECTED)
    # this world has no registry records, plate reads or vehicles: resolution and
    # linking have nothing to score, and each skip says what is missing
    assert result.skipped.keys() == {"resolution", *LINKING}
    assert "records.parquet" in result.skipped["resolution"]
    assert "plate_reads.parquet" in result.skipped["linking.plates"]
    assert "records.parquet" in result.skipped["linking.device_person"]
    assert "vehicle_use.parquet" in result.skipped["linking.vehicle_person"]
    assert "persons.parquet" in result.skipped["life.home_work"]


def test_out_folder_and_open_workspace_give_the_same(world: tuple[Path, Path]) -> None:
    ws_path, out = world
    with Workspace.open(ws_path, read_only=True) as ws:
        assert evaluate(ws, Truth(out)).metrics == pytest.approx(EXPECTED)


def test_missing_inputs_are_skipped_with_reasons(tmp_path: Path) -> None:
    """No build (no identifier table), no manifest, no devices or vehicles truth. Without
    a manifest every quarantined row counts, extra.csv's too: quarantined {reads 3, 4, 5,
    extra 1}, planted {reads 3, 6}: precision 1/4, recall 1/2, F1 1/3."""
    ws, out = make_world(tmp_path, build=False, manifest=False, devices=False, vehicles=False)
    result = evaluate(ws, out)
    assert result.metrics == pytest.approx(
        {
            "ingest.quarantine.f1": 1 / 3,
            "ingest.quarantine.precision": 0.25,
            "ingest.quarantine.recall": 0.5,
        }
    )
    assert set(result.skipped) == {
        "ingest.sources",
        "identifiers.devices",
        "identifiers.vehicles",
        "resolution",
        *LINKING,
    }
    assert "manifest.json" in result.skipped["ingest.sources"]
    devices = result.skipped["identifiers.devices"]
    assert "no table 'identifier'" in devices
    assert "tessera build" in devices
    assert "devices.parquet" in devices
    assert str(out / "truth") in devices


def test_only_the_missing_truth_file_is_skipped(tmp_path: Path) -> None:
    ws, out = make_world(tmp_path, vehicles=False)
    result = evaluate(ws, out)
    assert result.skipped.keys() == {"identifiers.vehicles", "resolution", *LINKING}
    assert "vehicles.parquet" in result.skipped["identifiers.vehicles"]
    assert result.metrics == pytest.approx(
        {k: v for k, v in EXPECTED.items() if k != "identifiers.plate_recall"}
    )


def test_provider_skips_when_nothing_matches(tmp_path: Path) -> None:
    """Nothing ingested: both ingest providers run, find nothing to score, and say so."""
    ws_path = tmp_path / "ws"
    Workspace.init(ws_path).close()
    _, out = make_world(tmp_path / "w")
    result = evaluate(ws_path, out)
    assert "no ingested file is listed" in result.skipped["ingest.sources"]
    assert "no ingest batches" in result.skipped["ingest.quarantine"]


def test_conventions_for_empty_sets() -> None:
    assert precision_recall_f1(0, 0, 0) == (1.0, 1.0, 1.0)  # nothing planted, nothing caught
    assert precision_recall_f1(0, 3, 0) == (0.0, 1.0, 0.0)
    assert precision_recall_f1(0, 0, 2) == (1.0, 0.0, 0.0)
    assert precision_recall_f1(2, 3, 2) == pytest.approx((2 / 3, 1.0, 0.8))


# -- the provider contract ---------------------------------------------------------------
def _provider(name: str, values: dict[str, Any], **inputs: Any) -> Provider:
    return Provider(name, "custom", "test provider", lambda ws, truth: values, **inputs)


def test_custom_providers_and_their_checks(world: tuple[Path, Path]) -> None:
    ws, out = world
    ok = _provider("custom.a", {"custom.x": 1, "custom.y": 0.5})
    needs = _provider("custom.b", {"custom.z": 1.0}, tables=("nope",), truth_files=("x.parquet",))
    result = evaluate(ws, out, [ok, needs])
    assert result.metrics == {"custom.x": 1.0, "custom.y": 0.5}
    assert isinstance(result.metrics["custom.x"], float)
    assert result.skipped["custom.b"].startswith("the workspace has no table 'nope'; ")
    assert "x.parquet" in result.skipped["custom.b"]

    def skip(ws: Workspace, truth: Truth) -> dict[str, float]:
        raise SkipProvider("nothing here")

    result = evaluate(ws, out, [Provider("custom.c", "custom", "skips", skip)])
    assert result.skipped == {"custom.c": "nothing here"}

    for bad in ({"other.x": 1.0}, {"custom.x": math.nan}, {"custom.x": True}, {"custom.x": "1"}):
        with pytest.raises(EvaluationError, match="custom"):
            evaluate(ws, out, [_provider("custom.d", bad)])
    with pytest.raises(EvaluationError, match="twice"):
        evaluate(ws, out, [ok, _provider("custom.e", {"custom.x": 2.0})])
    with pytest.raises(EvaluationError, match="share a name"):
        evaluate(ws, out, [ok, ok])


def test_registered_providers_are_well_formed() -> None:
    registered = providers()
    names = [p.name for p in registered]
    assert len(names) == len(set(names))
    assert {"ingest.sources", "ingest.quarantine", "identifiers.devices"} <= set(names)
    for p in registered:
        assert p.description
        assert p.name.split(".")[0] == p.prefix.split(".")[0]


# -- the truth folder ----------------------------------------------------------------------
def test_truth_folder_and_manifest(world: tuple[Path, Path]) -> None:
    _, out = world
    for given in (out, out / "truth"):
        truth = Truth(given)
        assert truth.folder == out / "truth"
        assert truth.manifest is not None
        assert truth.manifest["seed"] == 1
        assert truth.manifest_rows() == {"reads.csv": 6, "subs.csv": 4, "calls.csv": 10}
    assert "devices.parquet" in truth.files()
    assert truth.read("vehicles.parquet", ["plate"]).num_rows == 4


def test_truth_errors_name_the_file_and_folder(world: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = world
    with pytest.raises(TruthError, match="does not exist"):
        Truth(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TruthError, match="not a truth folder"):
        Truth(empty)
    truth = Truth(out)
    with pytest.raises(TruthError, match=r"persons\.parquet") as exc:
        truth.read("persons.parquet")
    assert str(out / "truth") in str(exc.value)
    with pytest.raises(TruthError, match="no column colour; it has vehicle_id, plate"):
        truth.read("vehicles.parquet", ["plate", "colour"])
    (out / "truth" / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(TruthError, match=r"broken\.parquet"):
        truth.read("broken.parquet")
    (out / "manifest.json").write_text("{", "utf-8")
    with pytest.raises(TruthError, match=r"manifest\.json"):
        Truth(out).manifest  # noqa: B018
    (out / "manifest.json").write_text('{"files": {"sources/a.csv": {"rows": "x"}}}', "utf-8")
    with pytest.raises(TruthError, match="rows"):
        Truth(out).manifest_rows()
    assert issubclass(TruthError, TesseraError)


# -- the command line ------------------------------------------------------------------------
def test_cli_json(tmp_path: Path) -> None:
    ws, out = make_world(tmp_path, vehicles=False)
    r = runner.invoke(app, ["evaluate", str(ws), "--truth", str(out / "truth"), "--json"])
    assert r.exit_code == 0, r.output
    metrics = json.loads(r.stdout)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
    assert metrics == pytest.approx(
        {k: v for k, v in EXPECTED.items() if k != "identifiers.plate_recall"}
    )
    assert "skipped identifiers.vehicles:" in r.stderr
    assert "vehicles.parquet" in r.stderr


def test_cli_table(world: tuple[Path, Path]) -> None:
    ws, out = world
    r = runner.invoke(app, ["evaluate", str(ws), "--truth", str(out)])
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("skipped resolution:")  # this world has no registry records
    for text in ("identifiers", "msisdn_recall", "0.4000", "ingest", "quarantine.precision"):
        assert text in r.stdout
    assert "0.3333" in r.stdout


def test_cli_errors_are_one_clear_line(world: tuple[Path, Path], tmp_path: Path) -> None:
    ws, out = world
    no_truth = runner.invoke(
        app, ["evaluate", str(ws), "--truth", str(tmp_path / "nope"), "--json"]
    )
    assert "does not exist" in no_truth.stderr
    no_ws = runner.invoke(app, ["evaluate", str(tmp_path / "nows"), "--truth", str(out)])
    assert "not a Tessera workspace" in no_ws.stderr
    for r in (no_truth, no_ws):
        assert r.exit_code == 1
        assert r.stdout == ""
        assert "Traceback" not in r.output
        assert len(r.stderr.strip().splitlines()) == 1
