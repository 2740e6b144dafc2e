"""Cached lookups never outlive a change: a revoked token, a changed role, a disabled
account and a closed case refuse the very next request (tessera.accounts.cache)."""

from __future__ import annotations

import datetime as dt
import json
import zlib

import httpx

from tessera.accounts import add_user, disable_user, issue_token, revoke_token, set_role
from tessera.cases import Scope, approve_case, close_case, open_case

from .service_support import PASSWORD, District, Served

REF = "OP-2026/090"


def test_changes_take_effect_on_the_next_request(served: Served, district: District) -> None:
    ws = served.ws
    add_user(ws, "rv1", "analyst", PASSWORD, by="local.test")
    add_user(ws, "rv2", "viewer", PASSWORD, by="local.test")
    open_case(
        ws,
        REF,
        title="Revocation",
        legal_basis="warrant",
        scope=Scope(subjects=district.in_scope),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
        opened_by="rv1",
        members=("rv2",),
    )
    approve_case(ws, REF, by="sam")
    person = district.in_scope[0]
    path = f"/api/dossiers/{person}"

    with httpx.Client(base_url=served.url, timeout=60) as c:

        def get(token: str | None = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return c.get(path, params={"case": REF}, headers=headers)

        token = issue_token(ws, "rv1", label="t", expires_at=None, by="local.test")
        assert [get(token).status_code for _ in range(3)] == [200, 200, 200]  # cached
        # the dossier served is the stored one, byte for byte as JSON
        [(body,)] = ws.engine.fetch_rows("SELECT body FROM dossier WHERE person = ?", [person])
        assert get(token).json() == json.loads(zlib.decompress(body))

        revoke_token(ws, token[4:16], by="rv1")
        assert get(token).status_code == 401

        token = issue_token(ws, "rv1", label="t2", expires_at=None, by="local.test")
        assert get(token).status_code == 200
        set_role(ws, "rv1", "admin", by="local.test")  # admins do not read about people
        assert get(token).status_code == 403
        set_role(ws, "rv1", "analyst", by="local.test")
        assert get(token).status_code == 200

        # a session (cookie), then the account disabled
        assert c.post("/api/login", json={"name": "rv2", "password": PASSWORD}).status_code == 200
        assert [get().status_code for _ in range(2)] == [200, 200]
        disable_user(ws, "rv2", by="local.test")
        assert get().status_code == 401
        c.cookies.clear()

        close_case(ws, REF, by="rv1")
        r = get(token)
        assert r.status_code == 403
        assert "closed" in r.json()["detail"]
