"""The service's routes against a live uvicorn server on a built district workspace."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest

from tessera.accounts import issue_token
from tessera.audit import entries, verify
from tessera.service.pool import CallTimeout, EnginePool
from tessera.service.reads import hull
from tessera.workspace import Workspace

from .service_support import AREA_CASE, CASE, PASSWORD, District, Served, login


def _audit(served: Served, **filters: str) -> list[dict[str, Any]]:
    return [e.as_dict() for e in entries(served.ws, **filters)]


def test_health_and_login_set_a_strict_httponly_cookie(client: httpx.Client) -> None:
    assert client.get("/api/health").json() == {"status": "ok"}
    r = client.post("/api/login", json={"name": "ann", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    me = client.get("/api/me").json()
    assert me["user"]["name"] == "ann"
    assert me["via"] == "session"
    assert me["csrf"] == r.json()["csrf"]
    assert set(me["user"]["permissions"]) == {"read", "judge", "export", "open_case"}


def test_wrong_password_does_not_say_which_part_was_wrong(client: httpx.Client) -> None:
    bad_pw = client.post("/api/login", json={"name": "ann", "password": "wrong password!"})
    bad_name = client.post("/api/login", json={"name": "nobody", "password": PASSWORD})
    assert bad_pw.status_code == bad_name.status_code == 401
    assert bad_pw.json()["detail"] == bad_name.json()["detail"]
    assert "tessera_session" not in client.cookies


def test_dossier_read_is_audited_with_the_case(
    served: Served, client: httpx.Client, district: District
) -> None:
    login(client, "ann")
    person = district.in_scope[0]
    r = client.get(f"/api/dossiers/{person}", params={"case": CASE})
    assert r.status_code == 200, r.text
    assert r.json()["person"] == person
    last = _audit(served, user="ann", action="dossier.read")[-1]
    assert (last["case"], last["target"], last["legal_basis"]) == (CASE, person, "synthetic_demo")


def test_search_returns_only_people_in_scope(client: httpx.Client, district: District) -> None:
    login(client, "ann")
    r = client.get("/api/search", params={"case": CASE, "limit": 500})
    assert r.status_code == 200, r.text
    found = {p["person"] for p in r.json()["results"]}
    assert found == set(district.in_scope)  # every named subject has a dossier


def test_area_case_narrows_search_to_the_area(client: httpx.Client, district: District) -> None:
    login(client, "ann")
    r = client.get("/api/search", params={"case": AREA_CASE})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "visited" in body["scope"]
    assert district.area_person in {p["person"] for p in body["results"]}
    assert all(p["visits"] >= 1 for p in body["results"])


def test_graph_is_the_persons_neighbourhood(client: httpx.Client, district: District) -> None:
    login(client, "ann")
    person = district.in_scope[0]
    r = client.get(f"/api/graph/{person}", params={"case": CASE, "depth": 1})
    assert r.status_code == 200, r.text
    g = r.json()
    ids = {n["id"] for n in g["nodes"]}
    assert {n["id"] for n in g["nodes"] if n["hops"] == 0} == {person}
    assert all(n["hops"] <= 1 for n in g["nodes"])
    assert all(e["a"] in ids and e["b"] in ids for e in g["edges"])


def test_map_outline_encloses_every_sensor(
    served: Served, client: httpx.Client, district: District
) -> None:
    login(client, "ann")
    m = client.get("/api/map", params={"case": CASE}).json()
    ws = served.ws
    [(n,)] = ws.engine.fetch_rows("SELECT count(*) FROM sensor WHERE lat IS NOT NULL")
    assert len(m["sensors"]) == n > 3
    outline = [tuple(p) for p in m["outline"]]
    assert len(outline) >= 3
    for s in m["sensors"]:
        assert _inside_or_on(outline, (s["lat"], s["lon"]))


def _inside_or_on(poly: list[tuple[float, float]], p: tuple[float, float]) -> bool:
    # counter-clockwise hull in (lon, lat): every edge has the point on its left or on it
    for (a_lat, a_lon), (b_lat, b_lon) in zip(poly, poly[1:] + poly[:1], strict=True):
        cross = (b_lon - a_lon) * (p[0] - a_lat) - (b_lat - a_lat) * (p[1] - a_lon)
        if cross < -1e-12:
            return False
    return True


def test_hull_of_a_square_with_inner_points() -> None:
    """The hull of the four corners of a unit square plus its centre and an edge
    midpoint is the four corners, counter-clockwise in (lon, lat)."""
    pts = [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.5, 0.5), (0.0, 0.5)]
    assert hull(pts) == [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0)]


def test_evidence_serves_only_what_the_dossier_cites(
    served: Served, client: httpx.Client, district: District
) -> None:
    login(client, "ann")
    person = district.in_scope[0]
    d = client.get(f"/api/dossiers/{person}", params={"case": CASE}).json()
    stay = next(e for e in d["timeline"] if e["kind"] == "stay")
    cite = stay["cites"][0]
    kind, _, ident = cite.partition(":")
    r = client.get(f"/api/evidence/{kind}/{ident}", params={"case": CASE, "person": person})
    assert r.status_code == 200, r.text
    [row] = r.json()["rows"]
    assert row["table"] == "life_stay"
    assert row["subject"] == person
    # a stay of someone else is not evidence of this dossier
    ws = served.ws
    [(other_stay,)] = ws.engine.fetch_rows(
        "SELECT stay_id FROM life_stay WHERE subject <> ? LIMIT 1", [person]
    )
    r = client.get(f"/api/evidence/life_stay/{other_stay}", params={"case": CASE, "person": person})
    assert r.status_code == 404


def test_hypotheses_confirm_and_audit(
    served: Served, client: httpx.Client, district: District
) -> None:
    headers = login(client, "ann")
    person = district.in_scope[0]
    r = client.get("/api/hypotheses", params={"case": CASE, "person": person})
    assert r.status_code == 200, r.text
    hyps = r.json()["hypotheses"]
    assert hyps, "the first in-scope person has attributed devices or vehicles"
    target = hyps[0]["id"]
    r = client.post(
        f"/api/hypotheses/{target}/judgement",
        params={"case": CASE},
        json={"person": person, "verdict": "confirm", "reason": "confirmed_by_registry"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    after = client.get("/api/hypotheses", params={"case": CASE, "person": person}).json()
    judged = next(h for h in after["hypotheses"] if h["id"] == target)["judgement"]
    assert judged["verdict"] == "confirm"
    assert judged["user"] == "ann"
    assert _audit(served, user="ann", action="hypothesis.judge")[-1]["target"] == target


def test_exports_json_and_html(served: Served, client: httpx.Client, district: District) -> None:
    login(client, "ann")
    person = district.in_scope[1]
    r = client.get("/api/exports", params={"case": CASE, "person": person, "format": "json"})
    assert r.status_code == 200
    assert r.json()["person"] == person
    assert "attachment" in r.headers["content-disposition"]
    r = client.get("/api/exports", params={"case": CASE, "person": person, "format": "html"})
    assert r.status_code == 200
    assert r.text.lstrip().lower().startswith("<!doctype html")
    assert _audit(served, user="ann", action="export")[-1]["target"].endswith(":html")


def test_cases_open_and_approve_by_another_supervisor(
    client: httpx.Client, district: District
) -> None:
    headers = login(client, "ann")
    body = {
        "ref": "OP-2026/010",
        "title": "Opened over the API",
        "legal_basis": "court_order",
        "scope": {"subjects": [district.other]},
        "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).isoformat(),
    }
    r = client.post("/api/cases", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    # pending: no reads yet
    assert (
        client.get(f"/api/dossiers/{district.other}", params={"case": "OP-2026/010"}).status_code
        == 403
    )
    assert client.post("/api/cases/OP-2026/010/approve", headers=headers).status_code == 403
    with httpx.Client(base_url=str(client.base_url)) as sam:
        sam_headers = login(sam, "sam")
        r = sam.post("/api/cases/OP-2026/010/approve", headers=sam_headers)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "active"
    r = client.get(f"/api/dossiers/{district.other}", params={"case": "OP-2026/010"})
    assert r.status_code == 200


def test_auditor_lists_entries_and_the_chain_verifies(served: Served, client: httpx.Client) -> None:
    login(client, "aud")
    r = client.get("/api/audit", params={"action": "dossier.read", "limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True
    assert body["entries"]
    assert all(e["action"] == "dossier.read" for e in body["entries"])
    assert client.get("/api/audit/flags").status_code == 200
    # reading the log is itself logged, under the administrative case
    read, flagged = entries(served.ws, user="aud")[-2:]
    assert (read.action, read.case) == ("audit.read", "SYSTEM")
    assert read.result_size == len(body["entries"])
    assert '"action": "dossier.read"' in read.target
    assert (flagged.action, flagged.case) == ("audit.flags", "SYSTEM")


def test_bearer_token_needs_no_csrf(
    served: Served, client: httpx.Client, district: District
) -> None:
    ws = served.ws
    token = issue_token(ws, "ann", label="tests", expires_at=None, by="local.test")
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get(f"/api/dossiers/{district.in_scope[0]}", params={"case": CASE}, headers=auth)
    assert r.status_code == 200
    assert client.post("/api/logout", headers=auth).status_code == 200
    bad = {"Authorization": "Bearer tsr_000000000000_nope"}
    assert client.get("/api/me", headers=bad).status_code == 401


def test_pool_interrupts_a_call_past_its_time_limit(served: Served, district: District) -> None:
    """A statement that would run for minutes is interrupted at the limit, and the
    pool's thread serves the next call."""
    ws = served.ws
    pool = EnginePool(ws, size=1, timeout_s=0.5)

    def slow(w: Workspace) -> object:
        return w.engine.fetch_rows("SELECT count(*) FROM range(10000000000) a")

    def quick(w: Workspace) -> object:
        return w.engine.fetch_rows("SELECT 42")

    async def go() -> object:
        with pytest.raises(CallTimeout):
            await pool.run(slow)
        return await pool.run(quick)

    try:
        assert asyncio.run(go()) == [(42,)]
    finally:
        pool.close()


def test_audit_chain_still_verifies_after_the_api_tests(served: Served, district: District) -> None:
    ws = served.ws
    assert verify(ws).ok
