"""Security of the service: anonymous access, roles, case scope, CSRF, hostile input,
and schemathesis over the OpenAPI schema."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute

from .service_support import CASE, District, Served, login

OPEN_ROUTES = {"/api/health", "/api/login"}
HOSTILE = [
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "' OR '1'='1",
    "person:1'; DROP TABLE audit_log; --",
    '"; SELECT * FROM account_user; --',
    "%00",
    "\u202e\u0000x",
    "a" * 5000,
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
]


def _api_routes(served: Served) -> list[APIRoute]:
    return [r for r in served.app.routes if isinstance(r, APIRoute) and r.path.startswith("/api")]


def _fill(path: str, value: str = "person:1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_every_route_but_health_and_login_refuses_anonymous(
    served: Served, client: httpx.Client
) -> None:
    routes = _api_routes(served)
    assert {r.path for r in routes} >= {"/api/dossiers/{person}", "/api/audit", "/api/map"}
    for route in routes:
        if route.path in OPEN_ROUTES:
            continue
        for method in route.methods:
            r = client.request(method, _fill(route.path), params={"case": CASE})
            assert r.status_code == 401, (method, route.path, r.status_code, r.text)
    assert client.get("/api/openapi.json").status_code == 401


def test_roles(client: httpx.Client, district: District) -> None:
    person = district.in_scope[0]
    # a viewer reads but cannot judge, export or open a case
    headers = login(client, "vic")
    assert client.get(f"/api/dossiers/{person}", params={"case": CASE}).status_code == 200
    hyps = client.get("/api/hypotheses", params={"case": CASE, "person": person}).json()
    r = client.post(
        f"/api/hypotheses/{hyps['hypotheses'][0]['id']}/judgement",
        params={"case": CASE},
        json={"person": person, "verdict": "reject", "reason": "other_documented"},
        headers=headers,
    )
    assert r.status_code == 403
    assert client.get("/api/exports", params={"case": CASE, "person": person}).status_code == 403
    assert client.get("/api/audit").status_code == 403
    client.cookies.clear()
    # admins manage accounts, auditors read the audit: neither reads people
    for name in ("ada", "aud"):
        login(client, name)
        assert client.get(f"/api/dossiers/{person}", params={"case": CASE}).status_code == 403
        assert client.get("/api/search", params={"case": CASE}).status_code == 403
        client.cookies.clear()
    # an analyst outside the case reads nothing in it
    login(client, "out")
    assert client.get(f"/api/dossiers/{person}", params={"case": CASE}).status_code == 403
    assert client.get("/api/map", params={"case": CASE}).status_code == 403


def test_reads_outside_the_case_scope_are_refused_and_audited(
    served: Served, client: httpx.Client, district: District
) -> None:
    from tessera.audit import entries

    login(client, "ann")
    other = district.other
    for path, params in (
        (f"/api/dossiers/{other}", {"case": CASE}),
        (f"/api/graph/{other}", {"case": CASE}),
        ("/api/hypotheses", {"case": CASE, "person": other}),
        ("/api/exports", {"case": CASE, "person": other}),
        ("/api/evidence/life_stay/1", {"case": CASE, "person": other}),
    ):
        r = client.get(path, params=params)
        assert r.status_code == 403, (path, r.text)
    refused = [e for e in entries(served.ws, user="ann", case=CASE) if e.target == other]
    assert len(refused) >= 5
    assert all(e.result_size == 0 for e in refused)


def test_csrf_is_required_on_unsafe_session_requests(
    client: httpx.Client, district: District
) -> None:
    headers = login(client, "ann")
    person = district.in_scope[2]
    hyps = client.get("/api/hypotheses", params={"case": CASE, "person": person}).json()
    target = hyps["hypotheses"][0]["id"] if hyps["hypotheses"] else "device_person:x|person:1"
    body = {"person": person, "verdict": "reject", "reason": "other_documented"}
    url = f"/api/hypotheses/{target}/judgement"
    for bad in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
        r = client.post(url, params={"case": CASE}, json=body, headers=bad)
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "CsrfRejected"
    assert client.post("/api/logout").status_code == 403
    assert client.post("/api/logout", headers=headers).status_code == 200
    assert client.get("/api/me").status_code == 401  # the session is closed


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_on_every_parameter_give_4xx(
    client: httpx.Client, district: District, value: str
) -> None:
    headers = login(client, "ann")
    person = district.in_scope[0]
    gets = [
        ("/api/dossiers/{v}", {"case": CASE}),
        ("/api/dossiers/" + person, {"case": "{v}"}),
        ("/api/graph/{v}", {"case": CASE}),
        ("/api/graph/" + person, {"case": CASE, "depth": "{v}"}),
        ("/api/evidence/{v}/1", {"case": CASE, "person": person}),
        ("/api/evidence/obs/{v}", {"case": CASE, "person": person}),
        ("/api/evidence/obs/1", {"case": CASE, "person": "{v}"}),
        ("/api/hypotheses", {"case": CASE, "person": "{v}"}),
        ("/api/exports", {"case": CASE, "person": person, "format": "{v}"}),
        ("/api/map", {"case": "{v}"}),
        ("/api/audit", {"user": "{v}", "action": "{v}", "case": "{v}"}),
        ("/api/audit", {"since": "{v}"}),
        ("/api/audit/flags", {"since": "{v}"}),
        ("/static/{v}", {}),
        ("/{v}", {}),
    ]
    gets += [
        ("/api/search", {"case": CASE, field: "{v}"})
        for field in (
            "name",
            "organisation",
            "role",
            "visited",
            "met_organisation",
            "since",
            "until",
            "exposure_above",
            "limit",
        )
    ]
    for path, params in gets:
        url = path.replace("{v}", quote(value, safe="/.%"))
        filled = {k: v.replace("{v}", value) for k, v in params.items()}
        r = client.get(url, params=filled)
        assert r.status_code < 500, (url, filled, r.status_code, r.text[:300])
        if r.status_code == 200 and "search" in path:
            # a search with a hostile text filter finds nothing, or only in-scope people
            assert {p["person"] for p in r.json()["results"]} <= set(district.in_scope)
    posts = [
        ("/api/hypotheses/{v}/judgement", {"person": person, "verdict": "confirm", "reason": "x"}),
        ("/api/hypotheses/x/judgement", {"person": "{v}", "verdict": "confirm", "reason": "x"}),
        ("/api/hypotheses/x/judgement", {"person": person, "verdict": "{v}", "reason": "x"}),
        ("/api/cases/{v}/approve", None),
        ("/api/login", {"name": "{v}", "password": "{v}"}),
    ]
    for path, body in posts:
        url = path.replace("{v}", quote(value, safe="/.%"))
        payload = None if body is None else {k: v.replace("{v}", value) for k, v in body.items()}
        r = client.post(url, params={"case": CASE}, json=payload, headers=headers)
        assert 400 <= r.status_code < 500, (url, payload, r.status_code, r.text[:300])
    # the audit log and the accounts are intact
    login(client, "ann")
    assert client.get("/api/me").status_code == 200
