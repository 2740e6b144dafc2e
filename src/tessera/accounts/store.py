"""Accounts, roles, API tokens and sessions, kept in the workspace database.

Tables (system tables, created when a workspace is opened for writing):

* ``account_user``: one row per account: ``name`` (a login name, as
  :class:`tessera.audit.Access` accepts), ``role`` (one of :data:`ROLES`),
  ``display_name``, ``password_hash`` (an Argon2id PHC string), ``created_at``,
  ``updated_at``, ``disabled``.
* ``account_token``: API tokens. A token is ``tsr_<id>_<secret>`` with ``<id>`` 12 hex
  digits (public: it names the token in listings and revocations) and ``<secret>``
  32 random bytes (``secrets.token_urlsafe``). Only ``sha256(token)`` is stored; the
  token is shown once, when issued.
* ``account_session``: web sessions. The session id is 32 random bytes
  (``secrets.token_urlsafe(32)``); only its SHA-256 is stored, with the expiry and a
  per-session CSRF secret.

Passwords
    Hashed with Argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher`, whose
    defaults are RFC 9106's recommended parameters). :func:`authenticate` verifies
    against a dummy hash when the name is unknown, so an unknown name costs about as
    much time as a wrong password, and its error never says which one was wrong. A
    stored hash made with other parameters is replaced on the next successful login
    (``check_needs_rehash``). Policy: at least :data:`MIN_PASSWORD_CHARS` characters.

Who may change accounts
    ``by`` (the actor of every write) is either an enabled account whose role holds
    :attr:`Permission.MANAGE_USERS`, or a *local operator* label ``local.<name>``: the
    command line run by someone who can already write the workspace files (which is
    full control anyway; no account name may start with ``local.``). A user may change
    their own password. Every write is appended to the audit log (:data:`AUDIT_ACTIONS`),
    with ``case`` :data:`SYSTEM_CASE` and legal basis ``statutory_power`` (the
    operator's duty to administer and account for the system); failed logins are
    recorded too (``login.refused``), so that probing is visible.

Threads
    All database reads and writes run under the audit log's process-wide lock, so one
    :class:`~tessera.workspace.Workspace` can be shared by the threads of a service.

Cache
    :func:`user_for_token`, :func:`session_user` and the account lookups of
    :mod:`tessera.cases` answer from :mod:`tessera.accounts.cache` (keyed by the
    SHA-256 of the token or session id, never the secret), which every write here
    empties (:func:`_writing`); expiry is compared with the current time on every call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tessera.accounts.cache import bump, cached
from tessera.audit.access import USER_PATTERN, Access, LegalBasis
from tessera.audit.log import _LOCK, ACTIONS, record
from tessera.errors import AccountError, AuthError, PermissionDenied

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from tessera.workspace import Workspace

ROLES: tuple[str, ...] = ("viewer", "analyst", "supervisor", "admin", "auditor")
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
TOKEN_PREFIX = "tsr_"
LOCAL_PREFIX = "local."  # actors that are local operators, not accounts
SYSTEM_CASE = "SYSTEM"  # the case reference of administrative audit entries
SYSTEM_BASIS = LegalBasis.STATUTORY_POWER
# the audit actions of account changes (declared with the others in tessera.audit.log)
AUDIT_ACTIONS: tuple[str, ...] = tuple(
    a for a in ACTIONS if a.split(".")[0] in ("user", "token", "session", "login")
)

_TOKEN_RE = re.compile(r"tsr_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")
_DISPLAY_MAX = 100


class Permission(StrEnum):
    """What a role allows."""

    READ = "read"  # search, dossiers, evidence, graph, map (inside a case)
    JUDGE = "judge"  # confirm or reject link hypotheses
    EXPORT = "export"  # export dossiers and networks
    OPEN_CASE = "open_case"  # open a case (pending until approved)
    APPROVE_CASE = "approve_case"  # approve another user's case
    MANAGE_USERS = "manage_users"  # add accounts, change roles, issue tokens
    READ_AUDIT = "read_audit"  # read the audit log and its flags


_ANALYST = frozenset({Permission.READ, Permission.JUDGE, Permission.EXPORT, Permission.OPEN_CASE})
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.READ}),
    "analyst": _ANALYST,
    "supervisor": _ANALYST | {Permission.APPROVE_CASE},
    # admins manage accounts; they do not read about people
    "admin": frozenset({Permission.MANAGE_USERS}),
    # auditors read the audit log only
    "auditor": frozenset({Permission.READ_AUDIT}),
}


@dataclass(frozen=True, slots=True)
class User:
    """An account (never its password hash)."""

    name: str
    role: str
    display_name: str
    created_at: dt.datetime
    disabled: bool

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS.get(self.role, frozenset())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "display_name": self.display_name,
            "created_at": self.created_at.isoformat(),
            "disabled": self.disabled,
            "permissions": sorted(p.value for p in self.permissions),
        }


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed (never its secret)."""

    token_id: str
    user: str
    label: str
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


def has(user: User, perm: Permission | str) -> bool:
    """Whether ``user`` is enabled and their role holds ``perm``."""
    return not user.disabled and Permission(perm) in ROLE_PERMISSIONS.get(user.role, frozenset())


def require(user: User, perm: Permission | str) -> None:
    """Raise :class:`PermissionDenied` naming the permission unless :func:`has`."""
    perm = Permission(perm)
    if user.disabled:
        raise PermissionDenied(f"account {user.name!r} is disabled")
    if perm not in ROLE_PERMISSIONS.get(user.role, frozenset()):
        holders = ", ".join(r for r in ROLES if perm in ROLE_PERMISSIONS[r])
        raise PermissionDenied(
            f"the role {user.role!r} of {user.name!r} lacks the permission {perm.value!r} "
            f"(held by: {holders})"
        )


# -- password hashing --------------------------------------------------------------------
_HASHER: PasswordHasher | None = None
_DUMMY: dict[int, str] = {}


def hasher() -> PasswordHasher:
    """The password hasher in use: argon2-cffi's defaults (RFC 9106 recommendations)
    unless :func:`use_hasher` set another (tests use cheaper parameters)."""
    global _HASHER
    if _HASHER is None:
        from argon2 import PasswordHasher

        _HASHER = PasswordHasher()
    return _HASHER


def use_hasher(ph: PasswordHasher | None) -> None:
    """Use ``ph`` to hash new passwords (None: back to the defaults). Hashes made with
    other parameters still verify and are replaced at the next login."""
    global _HASHER
    _HASHER = ph


def _dummy_hash(ph: PasswordHasher) -> str:
    key = id(ph)
    if key not in _DUMMY:
        _DUMMY[key] = ph.hash(secrets.token_urlsafe(24))
    return _DUMMY[key]


def check_password(password: object) -> str:
    """``password`` if it meets the policy (text of :data:`MIN_PASSWORD_CHARS` to
    :data:`MAX_PASSWORD_CHARS` characters, not all whitespace), else AccountError."""
    if not isinstance(password, str):
        raise AccountError("the password must be text")
    n = len(password)
    if n < MIN_PASSWORD_CHARS:
        raise AccountError(
            f"the password has {n} characters; at least {MIN_PASSWORD_CHARS} are required"
        )
    if n > MAX_PASSWORD_CHARS:
        raise AccountError(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
    if not password.strip():
        raise AccountError("the password is only whitespace")
    return password


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(label: str, when: dt.datetime) -> dt.datetime:
    if not isinstance(when, dt.datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise AccountError(f"{label} must be a tz-aware datetime (UTC), not {when!r}")
    return when.astimezone(dt.UTC)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or USER_PATTERN.fullmatch(name) is None:
        raise AccountError(
            f"account name {name!r} is invalid; it must be 1-64 of A-Z a-z 0-9 . _ - "
            "starting with a letter or an underscore"
        )
    if name.startswith(LOCAL_PREFIX):
        raise AccountError(
            f"account name {name!r} is reserved: names starting with {LOCAL_PREFIX!r} "
            "stand for local operators"
        )
    return name


def _check_role(role: object) -> str:
    if not isinstance(role, str) or role not in ROLES:
        raise AccountError(f"role {role!r} is not a role; use one of: {', '.join(ROLES)}")
    return role


def _check_display(display: str | None, name: str) -> str:
    if display is None:
        return name
    if not isinstance(display, str):
        raise AccountError("display_name must be text")
    display = display.strip()
    if not display or len(display) > _DISPLAY_MAX:
        raise AccountError(f"display_name must have 1 to {_DISPLAY_MAX} characters")
    if any(unicodedata.category(c).startswith("C") for c in display):
        raise AccountError("display_name contains control characters; use plain text")
    return display


def _system_access(actor: str) -> Access:
    return Access(user=actor, case=SYSTEM_CASE, legal_basis=SYSTEM_BASIS)


def _audit(
    ws: Workspace, actor: str, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    record(ws, _system_access(actor), action, target, 1, detail)


_USER_COLS = "name, role, display_name, created_at, disabled"


def _row_user(row: tuple[Any, ...]) -> User:
    return User(str(row[0]), str(row[1]), str(row[2]), row[3], bool(row[4]))


def _find(ws: Workspace, name: str) -> User | None:
    """The account ``name`` (from the cache, else the database), or None."""

    def load() -> User | None:
        with _LOCK:
            rows = ws.engine.fetch_rows(
                f"SELECT {_USER_COLS} FROM account_user WHERE name = ?", [name]
            )
        return _row_user(rows[0]) if rows else None

    return cached(ws, "user", name, load)


@contextmanager
def _writing(ws: Workspace) -> Iterator[None]:
    """A transaction that writes accounts or cases; the cache is emptied after it,
    whether it committed or not."""
    try:
        with ws.engine.transaction():
            yield
    finally:
        bump(ws)


def _check_actor(ws: Workspace, by: object, *, self_name: str | None = None) -> str:
    """``by`` if it may manage accounts: a local operator, an enabled account holding
    MANAGE_USERS, or (for ``self_name``) the account itself."""
    if not isinstance(by, str) or not by:
        raise PermissionDenied("an account change needs the acting user (by=...)")
    if by.startswith(LOCAL_PREFIX):
        if USER_PATTERN.fullmatch(by) is None:
            raise PermissionDenied(f"local operator label {by!r} is invalid")
        return by
    actor = _find(ws, by) if USER_PATTERN.fullmatch(by) else None
    if actor is None:
        raise PermissionDenied(
            f"{by!r} is neither an account holding {Permission.MANAGE_USERS.value!r} "
            f"nor a local operator ({LOCAL_PREFIX}<name>)"
        )
    if self_name is not None and by == self_name and not actor.disabled:
        return by
    require(actor, Permission.MANAGE_USERS)
    return by


# -- users -------------------------------------------------------------------------------
def add_user(
    ws: Workspace,
    name: str,
    role: str,
    password: str,
    *,
    display_name: str | None = None,
    by: str,
) -> User:
    """Create an account; refuses a taken name, an unknown role, a short password."""
    name = _check_name(name)
    role = _check_role(role)
    check_password(password)
    display = _check_display(display_name, name)
    with _LOCK:
        actor = _check_actor(ws, by)
        if _find(ws, name) is not None:
            raise AccountError(f"an account named {name!r} already exists")
        digest = hasher().hash(password)
        now = _now()
        with _writing(ws):
            ws.engine.execute(
                "INSERT INTO account_user (name, role, display_name, password_hash, "
                "created_at, updated_at, disabled) VALUES (?, ?, ?, ?, ?, ?, false)",
                [name, role, display, digest, now, now],
            )
        _audit(ws, actor, "user.add", name, {"role": role})
        user = _find(ws, name)
    if user is None:  # pragma: no cover - just inserted
        raise AccountError(f"account {name!r} was not stored")
    return user


def get_user(ws: Workspace, name: str) -> User:
    """The account ``name``; AccountError if there is none."""
    with _LOCK:
        user = _find(ws, name) if isinstance(name, str) else None
    if user is None:
        raise AccountError(f"no account named {name!r}")
    return user


def list_users(ws: Workspace) -> list[User]:
    """Every account, by name."""
    with _LOCK:
        rows = ws.engine.fetch_rows(f"SELECT {_USER_COLS} FROM account_user ORDER BY name")
    return [_row_user(r) for r in rows]


def _update(ws: Workspace, name: str, column: str, value: Any) -> None:
    ws.engine.execute(
        f"UPDATE account_user SET {column} = ?, updated_at = ? WHERE name = ?",
        [value, _now(), name],
    )


def set_password(ws: Workspace, name: str, password: str, *, by: str) -> None:
    """Replace an account's password (``by`` an account manager, or the account itself).
    Open sessions of the account are closed."""
    check_password(password)
    with _LOCK:
        actor = _check_actor(ws, by, self_name=name)
        get_user(ws, name)
        digest = hasher().hash(password)
        with _writing(ws):
            _update(ws, name, "password_hash", digest)
            ws.engine.execute(
                "UPDATE account_session SET closed_at = ? WHERE user_name = ? "
                "AND closed_at IS NULL",
                [_now(), name],
            )
        _audit(ws, actor, "user.password", name)


def set_role(ws: Workspace, name: str, role: str, *, by: str) -> User:
    """Change an account's role."""
    role = _check_role(role)
    with _LOCK:
        actor = _check_actor(ws, by)
        before = get_user(ws, name)
        if actor == name and role != before.role:
            raise PermissionDenied(f"{actor!r} cannot change their own role")
        with _writing(ws):
            _update(ws, name, "role", role)
        _audit(ws, actor, "user.role", name, {"from": before.role, "to": role})
        return get_user(ws, name)


def disable_user(ws: Workspace, name: str, *, by: str) -> User:
    """Disable an account: it can no longer log in, and its tokens and sessions stop
    working (kept for the record)."""
    with _LOCK:
        actor = _check_actor(ws, by)
        get_user(ws, name)
        now = _now()
        with _writing(ws):
            _update(ws, name, "disabled", True)
            ws.engine.execute(
                "UPDATE account_session SET closed_at = ? WHERE user_name = ? "
                "AND closed_at IS NULL",
                [now, name],
            )
            ws.engine.execute(
                "UPDATE account_token SET revoked_at = ?, revoked_by = ? WHERE user_name = ? "
                "AND revoked_at IS NULL",
                [now, actor, name],
            )
        _audit(ws, actor, "user.disable", name)
        return get_user(ws, name)


_REFUSED = "invalid name or password"


def authenticate(ws: Workspace, name: str, password: str) -> User:
    """The account if ``password`` is its password and it is enabled; otherwise
    :class:`AuthError` ("invalid name or password", the same for an unknown name, a
    wrong password and a disabled account), recorded as ``login.refused``.

    An unknown name is verified against a dummy hash so that it takes about as long as
    a wrong password."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    ph = hasher()
    valid_name = isinstance(name, str) and USER_PATTERN.fullmatch(name) is not None
    with _LOCK:
        rows = (
            ws.engine.fetch_rows(
                "SELECT password_hash, disabled FROM account_user WHERE name = ?", [name]
            )
            if valid_name
            else []
        )
    stored = str(rows[0][0]) if rows else _dummy_hash(ph)
    ok = False
    if isinstance(password, str) and len(password) <= MAX_PASSWORD_CHARS:
        try:
            ok = ph.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    if not rows or not ok or bool(rows[0][1]):
        _audit(ws, name if valid_name else "_unknown", "login.refused", "login")
        raise AuthError(_REFUSED)
    if ph.check_needs_rehash(stored):
        with _LOCK, _writing(ws):
            _update(ws, name, "password_hash", ph.hash(password))
    return get_user(ws, name)


# -- tokens ------------------------------------------------------------------------------
def issue_token(
    ws: Workspace, name: str, *, label: str, expires_at: dt.datetime | None, by: str
) -> str:
    """A new API token for account ``name``, returned once (only its SHA-256 is kept):
    ``tsr_<id>_<secret>``. ``expires_at`` (tz-aware, in the future) or None for none."""
    if not isinstance(label, str) or not label.strip() or len(label) > _DISPLAY_MAX:
        raise AccountError(f"a token needs a label of 1 to {_DISPLAY_MAX} characters")
    label = label.strip()
    now = _now()
    if expires_at is not None:
        expires_at = _aware("expires_at", expires_at)
        if expires_at <= now:
            raise AccountError(f"expires_at {expires_at.isoformat()} is not in the future")
    with _LOCK:
        actor = _check_actor(ws, by)
        user = get_user(ws, name)
        if user.disabled:
            raise AccountError(f"account {name!r} is disabled; enable it before issuing tokens")
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with _writing(ws):
            ws.engine.execute(
                "INSERT INTO account_token (token_id, user_name, label, token_sha256, "
                "created_at, created_by, expires_at, revoked_at, revoked_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                [token_id, name, label, _sha256(token), now, actor, expires_at],
            )
        _audit(
            ws,
            actor,
            "token.issue",
            name,
            {
                "token_id": token_id,
                "label": label,
                "expires_at": None if expires_at is None else expires_at.isoformat(),
            },
        )
    return token


def user_for_token(ws: Workspace, token: str) -> User:
    """The account a valid token belongs to; AuthError if the token is malformed,
    unknown, expired or revoked, or its account disabled."""
    m = _TOKEN_RE.fullmatch(token) if isinstance(token, str) else None
    if m is None:
        raise AuthError("invalid token")
    digest = _sha256(token)

    def load() -> tuple[str, dt.datetime | None, dt.datetime | None] | None:
        with _LOCK:
            rows = ws.engine.fetch_rows(
                "SELECT token_sha256, user_name, expires_at, revoked_at FROM account_token "
                "WHERE token_id = ?",
                [m.group(1)],
            )
        if not rows or not hmac.compare_digest(str(rows[0][0]), digest):
            return None
        return str(rows[0][1]), rows[0][2], rows[0][3]

    found = cached(ws, "token", digest, load)
    if found is None:
        raise AuthError("invalid token")
    user_name, expires_at, revoked_at = found
    if revoked_at is not None or (expires_at is not None and expires_at <= _now()):
        raise AuthError("invalid token (expired or revoked)")
    user = _find(ws, user_name)
    if user is None or user.disabled:
        raise AuthError("invalid token")
    return user


def list_tokens(ws: Workspace, name: str | None = None) -> list[TokenInfo]:
    """Tokens (of one account, or all), newest first; never their secrets."""
    sql = (
        "SELECT token_id, user_name, label, created_at, created_by, expires_at, revoked_at "
        "FROM account_token"
    )
    params: list[Any] = []
    if name is not None:
        sql += " WHERE user_name = ?"
        params.append(name)
    with _LOCK:
        rows = ws.engine.fetch_rows(sql + " ORDER BY created_at DESC", params)
    return [TokenInfo(str(r[0]), str(r[1]), str(r[2]), r[3], str(r[4]), r[5], r[6]) for r in rows]


def revoke_token(ws: Workspace, token_id: str, *, by: str) -> None:
    """Revoke a token by its id (the 12 hex digits after ``tsr_``). The account that owns
    it may revoke it too."""
    with _LOCK:
        rows = ws.engine.fetch_rows(
            "SELECT user_name, revoked_at FROM account_token WHERE token_id = ?", [token_id]
        )
        if not rows:
            raise AccountError(f"no token with id {token_id!r}")
        owner = str(rows[0][0])
        actor = _check_actor(ws, by, self_name=owner)
        if rows[0][1] is not None:
            raise AccountError(f"token {token_id!r} is already revoked")
        with _writing(ws):
            ws.engine.execute(
                "UPDATE account_token SET revoked_at = ?, revoked_by = ? WHERE token_id = ?",
                [_now(), actor, token_id],
            )
        _audit(ws, actor, "token.revoke", owner, {"token_id": token_id})


# -- sessions ----------------------------------------------------------------------------
DEFAULT_SESSION_TTL = dt.timedelta(hours=8)


def open_session(ws: Workspace, name: str, *, ttl: dt.timedelta = DEFAULT_SESSION_TTL) -> str:
    """A new session id for an (authenticated, enabled) account, valid for ``ttl``.
    Only its SHA-256 is stored, with a fresh CSRF secret (see :func:`session_user`)."""
    if not isinstance(ttl, dt.timedelta) or ttl <= dt.timedelta(0) or ttl > dt.timedelta(days=7):
        raise AccountError(f"session ttl must be between 0 and 7 days, not {ttl!r}")
    with _LOCK:
        user = get_user(ws, name)
        if user.disabled:
            raise AuthError(_REFUSED)
        session_id = secrets.token_urlsafe(32)
        now = _now()
        with _writing(ws):
            ws.engine.execute(
                "INSERT INTO account_session (session_sha256, user_name, csrf, created_at, "
                "expires_at, closed_at) VALUES (?, ?, ?, ?, ?, NULL)",
                [_sha256(session_id), name, secrets.token_urlsafe(32), now, now + ttl],
            )
        _audit(ws, name, "session.open", name, {"expires_at": (now + ttl).isoformat()})
    return session_id


def session_user(ws: Workspace, session_id: str) -> tuple[User, str]:
    """The account and CSRF secret of an open, unexpired session; AuthError otherwise."""
    if not isinstance(session_id, str) or not 20 <= len(session_id) <= 100:
        raise AuthError("invalid session")
    digest = _sha256(session_id)

    def load() -> tuple[str, str, dt.datetime, dt.datetime | None] | None:
        with _LOCK:
            rows = ws.engine.fetch_rows(
                "SELECT session_sha256, user_name, csrf, expires_at, closed_at "
                "FROM account_session WHERE session_sha256 = ?",
                [digest],
            )
        if not rows or not hmac.compare_digest(str(rows[0][0]), digest):
            return None
        return str(rows[0][1]), str(rows[0][2]), rows[0][3], rows[0][4]

    found = cached(ws, "session", digest, load)
    if found is None:
        raise AuthError("invalid session")
    user_name, csrf, expires_at, closed_at = found
    if closed_at is not None or expires_at <= _now():
        raise AuthError("invalid session (expired or closed)")
    user = _find(ws, user_name)
    if user is None or user.disabled:
        raise AuthError("invalid session")
    return user, csrf


def close_session(ws: Workspace, session_id: str) -> None:
    """Close a session (log out); a no-op for an unknown or closed one."""
    digest = _sha256(session_id)
    with _LOCK:
        rows = ws.engine.fetch_rows(
            "SELECT user_name FROM account_session WHERE session_sha256 = ? AND closed_at IS NULL",
            [digest],
        )
        if not rows:
            return
        with _writing(ws):
            ws.engine.execute(
                "UPDATE account_session SET closed_at = ? WHERE session_sha256 = ?",
                [_now(), digest],
            )
        _audit(ws, str(rows[0][0]), "session.close", str(rows[0][0]))
