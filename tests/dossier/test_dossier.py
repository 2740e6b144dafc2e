"""Dossiers on the simulated district: complete, valid, cited, offline, audited."""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tessera.audit import Access, entries, verify
from tessera.cli import app
from tessera.dossier import render, schema, store
from tessera.dossier.assemble import assemble
from tessera.dossier.find import Filters, find, search
from tessera.errors import AccessError, DossierError
from tessera.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
ACCESS = Access(user="analyst1", case="CASE-2026-001", legal_basis="synthetic_demo")
ENV = {"TESSERA_USER": "analyst1", "TESSERA_CASE": "CASE-7", "TESSERA_LEGAL_BASIS": "research"}


@pytest.fixture(scope="module")
def built(linked: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built district workspace (the build includes the dossiers stage)."""
    path = tmp_path_factory.mktemp("dossier") / "ws"
    shutil.copytree(linked[1], path)
    return path


@pytest.fixture
def ws(built: Path) -> Iterator[Workspace]:
    with Workspace.open(built) as w:
        yield w


@pytest.fixture(scope="module")
def dossiers(built: Path) -> list[dict[str, Any]]:
    with Workspace.open(built) as w:
        return list(store.read_all(w, ACCESS))


def _cites(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "cites":
                yield from v
            else:
                yield from _cites(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _cites(v)


def test_every_resolved_person_has_a_valid_dossier(
    ws: Workspace, dossiers: list[dict[str, Any]]
) -> None:
    people = {
        r[0]
        for r in ws.engine.fetch_rows(
            "SELECT entity_id FROM resolution_entity WHERE kind = 'person'"
        )
    }
    assert {d["person"] for d in dossiers} == people
    for d in dossiers:
        schema.validate(d)
        assert d["schema"] == schema.SCHEMA_ID
    # the people the pipeline knows most about have full dossiers
    rich = [d for d in dossiers if d["identifiers"]["devices"] and d["places"]["home"]]
    assert len(rich) > len(dossiers) / 3
    assert any(d["meetings"] for d in dossiers)
    assert any(d["contacts"] for d in dossiers)
    assert all(len(d["routine"]["heatmap_hours"]) == 7 for d in dossiers)


def test_schema_document_is_current() -> None:
    doc = json.loads((ROOT / "docs" / "dossier.schema.json").read_text())
    assert doc == schema.json_schema(), "regenerate: python -m tessera.dossier.schema"


def test_every_citation_resolves(ws: Workspace, dossiers: list[dict[str, Any]]) -> None:
    cites = {c for d in dossiers for c in _cites(d)}
    obs = {int(c[4:]) for c in cites if c.startswith("obs:")}
    records = {c[7:] for c in cites if c.startswith("record:")}
    tables = {c.split(":", 1)[0] for c in cites} - {"obs", "record"}
    assert obs
    assert records
    known_obs: set[int] = set()
    for table in [t for t in ws.engine.table_names() if t.startswith(("obs_", "reg_"))]:
        known_obs |= {r[0] for r in ws.engine.fetch_rows(f"SELECT obs_id FROM {table}")}
    assert obs <= known_obs
    known_records = {
        f"{s}:{r}"
        for s, r in ws.engine.fetch_rows("SELECT source, record_id FROM resolution_record")
    }
    assert records <= known_records
    assert tables <= set(ws.engine.table_names()), tables - set(ws.engine.table_names())


def test_summary_says_only_what_the_sections_show(dossiers: list[dict[str, Any]]) -> None:
    for d in dossiers:
        sections = {c for k, v in d.items() if k != "summary" for c in _cites(v)}
        for sentence in d["summary"]["sentences"]:
            assert set(sentence["cites"]) <= sections, sentence
            assert sentence["text"] in d["summary"]["text"]
        for dev in d["identifiers"]["devices"][:3]:
            assert dev["device"] in d["summary"]["text"]


def test_dossier_restates_the_stage_tables(ws: Workspace, dossiers: list[dict[str, Any]]) -> None:
    links = {
        (p, dev): c
        for dev, p, c in ws.engine.fetch_rows(
            "SELECT device, person, confidence FROM link_device_person"
        )
    }
    homes = {
        s: (lat, lon)
        for s, lat, lon in ws.engine.fetch_rows(
            "SELECT subject, lat, lon FROM life_home_work WHERE role = 'home'"
        )
    }
    seen = 0
    for d in dossiers:
        for dev in d["identifiers"]["devices"]:
            assert math.isclose(
                dev["confidence"], links[(d["person"], dev["device"])], abs_tol=1e-4
            )
            seen += 1
        home = d["places"]["home"]
        if home is not None:
            lat, lon = homes[d["person"]]
            assert math.isclose(home["lat"], lat, abs_tol=1e-4)
            assert math.isclose(home["lon"], lon, abs_tol=1e-4)
    assert seen == sum(1 for p, _ in links if p in {d["person"] for d in dossiers})


def test_assembly_is_deterministic(ws: Workspace) -> None:
    first = list(assemble(ws.engine))
    second = list(assemble(ws.engine))
    for a, b in zip(first, second, strict=True):
        a.pop("generated_at")
        b.pop("generated_at")
        assert a == b


def test_html_and_pdf_are_offline_and_complete(
    ws: Workspace, dossiers: list[dict[str, Any]], tmp_path: Path
) -> None:
    d = max(dossiers, key=lambda x: len(x["timeline"]))
    page = render.render_html(d, render.backdrop_points(ws.engine))
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert "<script" not in page
    assert d["person"] in page
    assert "<svg" in page
    for sentence in d["summary"]["sentences"]:
        assert render._e(sentence["text"]) in page
    pdf = render.write(d, tmp_path / "d.pdf", "pdf", render.backdrop_points(ws.engine))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(DossierError, match="unknown dossier format"):
        render.write(d, tmp_path / "d.doc", "doc")


def test_read_is_audited_and_unknown_person_refused(ws: Workspace) -> None:
    person = ws.engine.fetch_rows("SELECT min(person) FROM dossier")[0][0]
    before = len(entries(ws))
    d = store.read(ws, person, ACCESS)
    assert d["person"] == person
    with pytest.raises(DossierError, match="no dossier for"):
        store.read(ws, "person:nobody", ACCESS)
    log = entries(ws)[before:]
    assert [(e.action, e.target, e.result_size) for e in log] == [
        ("dossier.read", person, 1),
        ("dossier.read", "person:nobody", 0),
    ]
    assert {(e.user, e.case, e.legal_basis) for e in log} == {
        ("analyst1", "CASE-2026-001", "synthetic_demo")
    }
    assert verify(ws).ok


def test_find_filters_and_ranks(ws: Workspace, dossiers: list[dict[str, Any]]) -> None:
    org = next(o for d in dossiers for o in d["identities"]["organisations"])
    found = search(ws, Filters(organisation=org, limit=10_000))
    members = {
        d["person"]
        for d in dossiers
        if any(org.lower() in o.lower() for o in d["identities"]["organisations"])
    }
    assert {r["person"] for r in found} == members
    scores = [r["exposure"] if r["exposure"] is not None else -1 for r in found]
    assert scores == sorted(scores, reverse=True)

    # visited: checked against the stays themselves (great-circle distance)
    stay = ws.engine.fetch_rows(
        "SELECT lat, lon FROM life_stay WHERE subject_kind = 'person' ORDER BY stay_id LIMIT 1"
    )[0]
    near = search(ws, Filters(visited=(stay[0], stay[1], 200.0), limit=10_000))

    def metres(lat: float, lon: float) -> float:
        a = (
            math.sin(math.radians(lat - stay[0]) / 2) ** 2
            + math.cos(math.radians(stay[0]))
            * math.cos(math.radians(lat))
            * math.sin(math.radians(lon - stay[1]) / 2) ** 2
        )
        return 12_742_000 * math.asin(math.sqrt(a))

    expected = {
        s
        for s, lat, lon in ws.engine.fetch_rows(
            "SELECT subject, lat, lon FROM life_stay WHERE subject_kind = 'person'"
        )
        if metres(lat, lon) <= 200.0
    }
    assert {r["person"] for r in near} == expected
    assert all(r["visits"] >= 1 for r in near)

    # met someone from an organisation: every hit shares a meeting with a member
    met = search(ws, Filters(met_organisation=org, limit=10_000))
    for r in met:
        assert r["meetings_matched"] >= 1
    high = search(ws, Filters(exposure_above=0.5, limit=10_000))
    assert all(r["exposure"] > 0.5 for r in high)
    with pytest.raises(DossierError, match="LAT,LON"):
        Filters(visited=(91.0, 0.0, 10.0))


def test_find_is_audited(ws: Workspace) -> None:
    before = len(entries(ws))
    found = find(ws, Filters(role="a"), ACCESS)
    last = entries(ws)[before:]
    assert len(last) == 1
    assert last[0].action == "find"
    assert last[0].result_size == len(found)
    assert json.loads(last[0].target) == {"limit": 50, "role": "a"}


def test_cli_needs_an_access_context(built: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    with Workspace.open(built) as w:
        person = w.engine.fetch_rows("SELECT min(person) FROM dossier")[0][0]
        before = len(entries(w))
    result = runner.invoke(app, ["dossier", str(built), person], env={"TESSERA_USER": ""})
    assert result.exit_code == 1
    assert "--case" in result.output
    assert person not in result.output
    with Workspace.open(built) as w:
        assert len(entries(w)) == before  # refused before anything was read

    result = runner.invoke(app, ["dossier", str(built), person], env=ENV)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["person"] == person

    out = tmp_path / "p.html"
    result = runner.invoke(
        app, ["dossier", str(built), person, "-f", "html", "-o", str(out)], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!doctype html>")

    result = runner.invoke(app, ["find", str(built), "--json", "--limit", "3"], env=ENV)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 3

    result = runner.invoke(
        app, ["dossier", str(built), "--all", "-o", str(tmp_path / "all")], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "all" / "index.html").exists()
    with Workspace.open(built) as w:
        n = w.engine.row_count("dossier")
        log = entries(w)[before:]
    assert len(list((tmp_path / "all").glob("person_*.json"))) == n
    assert [e.action for e in log] == ["dossier.read", "dossier.read", "find", "export"]
    assert {e.case for e in log} == {"CASE-7"}


def test_bad_access_values_are_refused() -> None:
    with pytest.raises(AccessError, match="legal_basis"):
        Access(user="a", case="CASE-1", legal_basis="because")


def test_evaluate_scores_what_the_dossiers_say(linked: tuple[Path, Path], built: Path) -> None:
    from tessera.evaluate import evaluate

    with Workspace.open(built) as w:
        m = evaluate(w, linked[0]).metrics
    assert m["dossier.coverage"] > 0.95
    # the dossiers list exactly the attribution stage's devices: the same precision
    assert math.isclose(
        m["dossier.devices.precision"], m["linking.device_person.precision"], abs_tol=1e-9
    )
    assert m["dossier.devices.recall"] > 0.5
    assert m["dossier.home.stated"] > 100
    assert m["dossier.home.accuracy_300m"] > 0.8
