"""Accounts: roles and permissions, Argon2 passwords, tokens, sessions, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from tessera import accounts as A
from tessera.accounts import Permission
from tessera.audit import entries, verify
from tessera.errors import AccountError, AuthError, PermissionDenied
from tessera.workspace import Workspace

PW = "correct horse battery"


def _people(ws: Workspace) -> None:
    A.add_user(ws, "root", "admin", PW, by="local.op")
    A.add_user(ws, "ann", "analyst", PW, display_name="Ann Analyst", by="root")
    A.add_user(ws, "vic", "viewer", PW, by="root")


def test_role_permissions_are_the_contract() -> None:
    P = Permission
    assert A.ROLES == ("viewer", "analyst", "supervisor", "admin", "auditor")
    assert A.ROLE_PERMISSIONS["viewer"] == {P.READ}
    assert A.ROLE_PERMISSIONS["analyst"] == {P.READ, P.JUDGE, P.EXPORT, P.OPEN_CASE}
    assert A.ROLE_PERMISSIONS["supervisor"] == {
        P.READ,
        P.JUDGE,
        P.EXPORT,
        P.OPEN_CASE,
        P.APPROVE_CASE,
    }
    # admins manage accounts and auditors read the log: neither reads about people
    assert A.ROLE_PERMISSIONS["admin"] == {P.MANAGE_USERS}
    assert A.ROLE_PERMISSIONS["auditor"] == {P.READ_AUDIT}


def test_default_hasher_uses_rfc_9106_parameters() -> None:
    A.use_hasher(None)
    ph = A.hasher()
    assert (ph.time_cost, ph.memory_cost, ph.parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism,
    )


def test_add_and_authenticate(ws: Workspace) -> None:
    _people(ws)
    ann = A.authenticate(ws, "ann", PW)
    assert (ann.name, ann.role, ann.display_name, ann.disabled) == (
        "ann",
        "analyst",
        "Ann Analyst",
        False,
    )
    assert ann.created_at.tzinfo is not None
    assert A.has(ann, Permission.JUDGE)
    assert not A.has(ann, Permission.APPROVE_CASE)
    stored = ws.engine.fetch_rows("SELECT password_hash FROM account_user WHERE name = 'ann'")
    assert stored[0][0].startswith("$argon2id$")
    assert PW not in stored[0][0]
    assert [u.name for u in A.list_users(ws)] == ["ann", "root", "vic"]


def test_refusals_do_not_say_which_part_was_wrong(ws: Workspace) -> None:
    _people(ws)
    A.disable_user(ws, "vic", by="root")
    messages = set()
    for name, password in (("ann", "wrong password!"), ("nobody", PW), ("vic", PW), ("x y", PW)):
        with pytest.raises(AuthError) as err:
            A.authenticate(ws, name, password)
        messages.add(str(err.value))
    assert messages == {"invalid name or password"}
    refused = entries(ws, action="login.refused")
    assert [e.user for e in refused] == ["ann", "nobody", "vic", "_unknown"]
    assert verify(ws).ok


def test_password_policy_and_names(ws: Workspace) -> None:
    with pytest.raises(AccountError, match="at least 12"):
        A.add_user(ws, "ann", "analyst", "short", by="local.op")
    with pytest.raises(AccountError, match="not a role"):
        A.add_user(ws, "ann", "god", PW, by="local.op")
    with pytest.raises(AccountError, match="reserved"):
        A.add_user(ws, "local.ann", "analyst", PW, by="local.op")
    with pytest.raises(AccountError, match="invalid"):
        A.add_user(ws, "ann smith", "analyst", PW, by="local.op")
    A.add_user(ws, "ann", "analyst", PW, by="local.op")
    with pytest.raises(AccountError, match="already exists"):
        A.add_user(ws, "ann", "viewer", PW, by="local.op")
    assert A.list_users(ws)[0].role == "analyst"


def test_only_account_managers_change_accounts(ws: Workspace) -> None:
    _people(ws)
    with pytest.raises(PermissionDenied, match="manage_users"):
        A.add_user(ws, "eve", "supervisor", PW, by="ann")
    with pytest.raises(PermissionDenied, match="manage_users"):
        A.set_role(ws, "ann", "supervisor", by="ann")
    with pytest.raises(PermissionDenied):
        A.add_user(ws, "eve", "admin", PW, by="ghost")
    # a user may change their own password
    A.set_password(ws, "ann", "another long password", by="ann")
    A.authenticate(ws, "ann", "another long password")
    with pytest.raises(PermissionDenied):
        A.set_password(ws, "vic", "another long password", by="ann")
    assert A.set_role(ws, "vic", "analyst", by="root").role == "analyst"
    role = entries(ws, action="user.role")[-1]
    assert (role.user, role.case, role.target, role.detail_json()) == (
        "root",
        "SYSTEM",
        "vic",
        {"from": "viewer", "to": "analyst"},
    )


def test_rehash_when_parameters_change(ws: Workspace, cheap_hasher: PasswordHasher) -> None:
    A.add_user(ws, "ann", "analyst", PW, by="local.op")
    before = ws.engine.fetch_rows("SELECT password_hash FROM account_user")[0][0]
    assert "t=1," in before
    A.use_hasher(PasswordHasher(time_cost=2, memory_cost=8, parallelism=1))
    A.authenticate(ws, "ann", PW)
    after = ws.engine.fetch_rows("SELECT password_hash FROM account_user")[0][0]
    assert "t=2," in after
    assert after != before
    A.authenticate(ws, "ann", PW)


def test_tokens(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _people(ws)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    token = A.issue_token(ws, "ann", label="script", expires_at=later, by="root")
    assert token.startswith("tsr_")
    assert A.user_for_token(ws, token).name == "ann"
    rows = ws.engine.fetch_rows("SELECT token_id, token_sha256 FROM account_token")
    _, digest = rows[0]
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ws.engine.fetch_rows("SELECT * FROM account_token"))
    assert token not in str([e.as_dict() for e in entries(ws)])
    # a changed secret with the right id is refused
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad in (forged, "tsr_nothing", "", token + "x"):
        with pytest.raises(AuthError):
            A.user_for_token(ws, bad)
    # expired: valid up to the microsecond before expires_at, refused at it, although
    # the token's lookup is cached
    import tessera.accounts.store as store

    just_before = later.astimezone(dt.UTC) - dt.timedelta(microseconds=1)
    monkeypatch.setattr(store, "_now", lambda: just_before)
    assert A.user_for_token(ws, token).name == "ann"
    monkeypatch.setattr(store, "_now", lambda: later.astimezone(dt.UTC))
    with pytest.raises(AuthError, match="expired or revoked"):
        A.user_for_token(ws, token)
    monkeypatch.undo()
    # revoked
    second = A.issue_token(ws, "ann", label="other", expires_at=None, by="root")
    A.revoke_token(ws, second[4:16], by="ann")  # the owner may revoke their own
    with pytest.raises(AuthError):
        A.user_for_token(ws, second)
    with pytest.raises(AccountError, match="in the future"):
        A.issue_token(ws, "ann", label="x", expires_at=dt.datetime.now(dt.UTC), by="root")
    assert [t.label for t in A.list_tokens(ws, "ann")] == ["other", "script"]
    assert [e.action for e in entries(ws) if e.action.startswith("token.")] == [
        "token.issue",
        "token.issue",
        "token.revoke",
    ]


def test_sessions(ws: Workspace) -> None:
    _people(ws)
    sid = A.open_session(ws, "ann", ttl=dt.timedelta(hours=1))
    user, csrf = A.session_user(ws, sid)
    assert user.name == "ann"
    assert len(csrf) >= 40
    assert sid not in str(ws.engine.fetch_rows("SELECT * FROM account_session"))
    other = A.open_session(ws, "ann")
    assert A.session_user(ws, other)[1] != csrf
    A.close_session(ws, sid)
    with pytest.raises(AuthError):
        A.session_user(ws, sid)
    A.session_user(ws, other)
    # a password change closes the other sessions
    A.set_password(ws, "ann", "a brand new password", by="root")
    with pytest.raises(AuthError):
        A.session_user(ws, other)
    with pytest.raises(AuthError):
        A.session_user(ws, "not-a-session-id-at-all-12345")


def test_disable_stops_tokens_and_sessions(ws: Workspace) -> None:
    _people(ws)
    token = A.issue_token(ws, "ann", label="t", expires_at=None, by="root")
    sid = A.open_session(ws, "ann")
    A.disable_user(ws, "ann", by="root")
    with pytest.raises(AuthError):
        A.user_for_token(ws, token)
    with pytest.raises(AuthError):
        A.session_user(ws, sid)
    with pytest.raises(AuthError):
        A.authenticate(ws, "ann", PW)
    assert A.get_user(ws, "ann").disabled
    assert not A.has(A.get_user(ws, "ann"), Permission.READ)


def test_every_write_is_audited_and_chained(ws: Workspace) -> None:
    _people(ws)
    A.set_role(ws, "vic", "auditor", by="root")
    sid = A.open_session(ws, "ann")
    A.close_session(ws, sid)
    actions = [e.action for e in entries(ws)]
    assert actions == [
        "user.add",
        "user.add",
        "user.add",
        "user.role",
        "session.open",
        "session.close",
    ]
    assert {e.legal_basis for e in entries(ws)} == {"statutory_power"}
    assert verify(ws).ok


def test_threads_share_one_workspace(ws: Workspace) -> None:
    """Eight threads log in, open and read sessions at once through one Workspace."""
    _people(ws)
    errors: list[BaseException] = []
    sessions: list[str] = []

    def work() -> None:
        try:
            for _ in range(5):
                A.authenticate(ws, "ann", PW)
                sid = A.open_session(ws, "ann")
                A.session_user(ws, sid)
                sessions.append(sid)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(sessions)) == 40
    assert len(entries(ws, action="session.open")) == 40
    assert verify(ws).ok
