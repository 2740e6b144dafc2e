"""Analyst judgements on link hypotheses (``tessera.link.judgements``): listed with
their score, baseline and evidence; recorded with a reason code and audited; honoured
by the next build, which reruns only the stages that read them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tessera.audit import Access, entries
from tessera.link.judgements import (
    JudgementError,
    hypotheses,
    hypothesis_id,
    judge,
    parse_id,
)
from tessera.workspace import Workspace

ACCESS = Access("analyst1", "CASE-7", "synthetic_demo")


@pytest.fixture
def ws(linked: tuple[Path, Path], tmp_path: Path) -> Workspace:
    _, built = linked
    path = shutil.copytree(built, tmp_path / "ws")
    return Workspace.open(path)


def relink(ws: Workspace) -> None:
    """Rerun the two stages that read judgements (the full build is tested once)."""
    from tessera.link import ATTRIBUTION, PHONES
    from tessera.stages import run_stages

    assert [r.skipped for r in run_stages(ws.engine, [PHONES, ATTRIBUTION])] == [False, False]


def _person_with(ws: Workspace, sql: str) -> str:
    rows = ws.engine.fetch_rows(sql)
    assert rows, sql
    return str(rows[0][0])


def test_ids_round_trip_and_malformed_ids_are_refused() -> None:
    hid = hypothesis_id("device_person", "imsi:262010000000001", "person:17")
    assert parse_id(hid) == ("device_person", "imsi:262010000000001", "person:17")
    for bad in ("device_person", "nonsense:a|b", "device_person:a", "device_person:a|b|c"):
        with pytest.raises(JudgementError):
            parse_id(bad)


def test_a_persons_hypotheses_carry_score_baseline_and_evidence(ws: Workspace) -> None:
    person = _person_with(
        ws,
        "SELECT dp.person FROM link_device_person dp JOIN link_vehicle_person vp "
        "ON vp.person = dp.person AND vp.role = 'primary_user' ORDER BY dp.person LIMIT 1",
    )
    hs = hypotheses(ws, person)
    kinds = {h["kind"] for h in hs}
    assert {"device_person", "vehicle_person"} <= kinds
    devices = {
        r[0]
        for r in ws.engine.fetch_rows(
            "SELECT device FROM link_device_person WHERE person = ?", [person]
        )
    }
    assert {h["a"] for h in hs if h["kind"] == "device_person"} == devices
    for h in hs:
        assert h["person"] == person
        assert parse_id(h["id"]) == (h["kind"], h["a"], h["b"])
        assert 0 < h["confidence"] <= 1
        assert h["evidence"]
        assert h["chance_baseline"]["kind"]
        assert h["judgement"] is None


def test_a_rejected_device_link_is_gone_after_the_next_build(ws: Workspace) -> None:
    device, person = ws.engine.fetch_rows(
        "SELECT device, person FROM link_device_person ORDER BY confidence DESC, device LIMIT 1"
    )[0]
    hid = hypothesis_id("device_person", device, person)
    stored = judge(ws, hid, "reject", "contradicted_by_registry", ACCESS, note="wrong SIM")
    assert stored["verdict"] == "reject"
    assert stored["user"] == "analyst1"
    assert stored["case"] == "CASE-7"
    listed = next(h for h in hypotheses(ws, person) if h["id"] == hid)
    assert listed["judgement"]["verdict"] == "reject"
    assert listed["judgement"]["reason"] == "contradicted_by_registry"

    results = {r.stage: r for r in ws.build()}
    assert not results["phones"].skipped
    assert not results["attribution"].skipped
    assert results["resolution"].skipped
    assert results["cotravel"].skipped
    rows = ws.engine.fetch_rows("SELECT person FROM link_device_person WHERE device = ?", [device])
    assert person not in {r[0] for r in rows}
    audit = [e for e in entries(ws) if e.action == "hypothesis.judge"]
    assert [(e.target, e.result_size, e.user, e.case) for e in audit] == [
        (hid, 1, "analyst1", "CASE-7")
    ]
    # nothing new: the next build skips everything
    assert all(r.skipped for r in ws.build())


def test_a_confirmed_vehicle_link_has_confidence_one(ws: Workspace) -> None:
    vehicle, person, confidence = ws.engine.fetch_rows(
        "SELECT vehicle, person, confidence FROM link_vehicle_person "
        "WHERE role = 'primary_user' ORDER BY confidence, vehicle LIMIT 1"
    )[0]
    assert confidence < 1
    judge(
        ws,
        hypothesis_id("vehicle_person", vehicle, person),
        "confirm",
        "confirmed_by_observation",
        ACCESS,
    )
    relink(ws)
    rows = ws.engine.fetch_rows(
        "SELECT confidence, evidence FROM link_vehicle_person "
        "WHERE vehicle = ? AND person = ? AND role = 'primary_user'",
        [vehicle, person],
    )
    assert len(rows) == 1
    assert rows[0][0] == 1.0


def test_a_rejected_second_phone_no_longer_inherits_its_primarys_person(
    ws: Workspace,
) -> None:
    pairs = ws.engine.fetch_rows(
        'SELECT s."primary", s.second, dp.person FROM link_second_phone s '
        'JOIN link_device_person dp ON dp.device = s."primary" '
        "JOIN link_device_person d2 ON d2.device = s.second AND d2.person = dp.person "
        "AND list_contains(d2.vias, 'second_phone') AND len(d2.vias) = 1 "
        "ORDER BY s.second LIMIT 1"
    )
    assert pairs, "the fixture has a second phone attributed only through its primary"
    primary, second, person = pairs[0]
    judge(ws, hypothesis_id("second_phone", primary, second), "reject", "other_documented", ACCESS)
    relink(ws)
    assert not ws.engine.fetch_rows(
        'SELECT 1 FROM link_second_phone WHERE "primary" = ? AND second = ?', [primary, second]
    )
    assert not ws.engine.fetch_rows(
        "SELECT 1 FROM link_device_person WHERE device = ? AND person = ?", [second, person]
    )


def test_bad_judgements_are_refused_and_unknown_hypotheses_audited(ws: Workspace) -> None:
    device, person = ws.engine.fetch_rows(
        "SELECT device, person FROM link_device_person ORDER BY device LIMIT 1"
    )[0]
    hid = hypothesis_id("device_person", device, person)
    with pytest.raises(JudgementError, match="verdict"):
        judge(ws, hid, "maybe", "other_documented", ACCESS)
    with pytest.raises(JudgementError, match="reason"):
        judge(ws, hid, "confirm", "because I say so", ACCESS)
    missing = hypothesis_id("device_person", device, "person:0")
    with pytest.raises(JudgementError, match="no hypothesis"):
        judge(ws, missing, "confirm", "other_documented", ACCESS)
    assert [(e.target, e.result_size) for e in entries(ws)] == [(missing, 0)]
    assert ws.engine.fetch_rows("SELECT count(*) FROM link_judgement") == [(0,)]
