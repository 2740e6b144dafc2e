"""Cases: the frame of every read about people.

A case has a reference (as :class:`tessera.audit.Access` accepts, e.g. ``OP-2024/017``),
a short ``title`` (a label, not a reason: the reason is the ``legal_basis``, one of
:class:`tessera.audit.LegalBasis`, never free text), a :class:`Scope`, an expiry, an
opener, a supervisor's approval and members. Lifecycle::

    open_case  -> pending --approve_case (a supervisor, not the opener)--> active
    close_case -> closed (from pending or active); past expires_at a case is inactive

:func:`authorise` is the gate of every read: the user's role holds the permission, the
user is the opener or a member, the case is active and unexpired; it returns the
:class:`~tessera.audit.Access` to pass to audited reads. :func:`require_in_scope` is the
second gate: the person read about is inside the case's scope. Every refusal raises
:class:`~tessera.errors.PermissionDenied` naming what was missing and is written to the
audit log (``case.refused``, ``case.out_of_scope``), since an audit that lists only
successes hides probing.

Scope
    ``subjects`` (entity ids such as ``person:17``) and/or an ``area`` (lat, lon,
    radius in metres), optionally within ``[since, until)``. A person is in scope when
    named, or when a stay of theirs (``life_stay`` with ``subject`` = the person) is
    within the area and overlaps the window, or their home or work (``life_home_work``,
    with the first and last time the place was seen from ``life_place``) is within the
    area and was seen during the window. "Within the area" is the great-circle
    (haversine) distance from the area's centre to the stay or place, at most the
    radius:

        d = 2 R asin( sqrt( sin^2((lat2-lat1)/2) + cos lat1 cos lat2 sin^2((lon2-lon1)/2) ) ),
        R = 6,371 km.

Case writes are audited with the case's own reference and legal basis: ``case.open``,
``case.approve``, ``case.close``, ``case.member``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tessera.accounts.cache import cached
from tessera.accounts.store import (
    SYSTEM_BASIS,
    SYSTEM_CASE,
    Permission,
    User,
    _find,
    _writing,
    has,
)
from tessera.audit.access import CASE_PATTERN, USER_PATTERN, Access, LegalBasis
from tessera.audit.log import _LOCK, ACTIONS, record
from tessera.errors import AccessError, CaseError, PermissionDenied

if TYPE_CHECKING:
    from tessera.workspace import Workspace

STATUSES: tuple[str, ...] = ("pending", "active", "closed")
TITLE_MAX = 80
MAX_CASE_DAYS = 366  # a case expires at most this long after it is opened
MAX_RADIUS_M = 50_000.0
MAX_SUBJECTS = 1_000
# the audit actions of cases (declared with the others in tessera.audit.log)
AUDIT_ACTIONS: tuple[str, ...] = tuple(a for a in ACTIONS if a.startswith("case."))


@dataclass(frozen=True, slots=True)
class Scope:
    """What a case may read about: named ``subjects`` and/or everyone seen in an
    ``area`` (lat, lon, radius_m), within ``[since, until)`` when given."""

    subjects: tuple[str, ...] = ()
    area: tuple[float, float, float] | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def __post_init__(self) -> None:
        subjects: object = self.subjects
        if isinstance(subjects, str) or not isinstance(subjects, Sequence):
            raise CaseError("scope subjects must be a list of entity ids, e.g. ['person:17']")
        clean = []
        for s in subjects:
            if not isinstance(s, str) or not s.strip() or len(s) > 200:
                raise CaseError(f"scope subject {s!r} is not an entity id (e.g. 'person:17')")
            clean.append(s.strip())
        if len(clean) > MAX_SUBJECTS:
            raise CaseError(f"a scope names at most {MAX_SUBJECTS} subjects, not {len(clean)}")
        object.__setattr__(self, "subjects", tuple(dict.fromkeys(clean)))
        if self.area is not None:
            try:
                lat, lon, radius = (float(x) for x in self.area)
            except (TypeError, ValueError):
                raise CaseError(f"scope area {self.area!r} must be (lat, lon, radius_m)") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < radius <= MAX_RADIUS_M):
                raise CaseError(
                    f"scope area {self.area!r}: need a latitude in [-90, 90], a longitude in "
                    f"[-180, 180] and a radius in (0, {MAX_RADIUS_M:,.0f}] metres"
                )
            object.__setattr__(self, "area", (lat, lon, radius))
        for label in ("since", "until"):
            t = getattr(self, label)
            if t is not None:
                if not isinstance(t, dt.datetime) or t.tzinfo is None or t.utcoffset() is None:
                    raise CaseError(f"scope {label} must be a tz-aware datetime, not {t!r}")
                object.__setattr__(self, label, t.astimezone(dt.UTC))
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise CaseError(f"scope since {self.since} is not before until {self.until}")
        if not self.subjects and self.area is None:
            raise CaseError("a scope needs named subjects, an area, or both")

    def as_dict(self) -> dict[str, Any]:
        return {
            "subjects": list(self.subjects),
            "area": None if self.area is None else list(self.area),
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Case:
    """A case as stored; see the module docstring."""

    ref: str
    title: str
    legal_basis: str
    scope: Scope
    opened_by: str
    opened_at: dt.datetime
    expires_at: dt.datetime
    status: str
    approved_by: str | None
    approved_at: dt.datetime | None
    members: tuple[str, ...]

    def is_active(self, now: dt.datetime | None = None) -> bool:
        """Approved, not closed and not expired at ``now`` (default: the current time)."""
        now = dt.datetime.now(dt.UTC) if now is None else now
        return self.status == "active" and now < self.expires_at

    def is_member(self, user: str) -> bool:
        return user == self.opened_by or user in self.members

    def access(self, user: str, note: str | None = None) -> Access:
        """The audit access of ``user`` reading within this case."""
        return Access(user=user, case=self.ref, legal_basis=self.legal_basis, note=note)

    def as_dict(self) -> dict[str, Any]:
        def iso(t: dt.datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "ref": self.ref,
            "title": self.title,
            "legal_basis": self.legal_basis,
            "scope": self.scope.as_dict(),
            "opened_by": self.opened_by,
            "opened_at": iso(self.opened_at),
            "expires_at": iso(self.expires_at),
            "status": self.status,
            "active": self.is_active(),
            "approved_by": self.approved_by,
            "approved_at": iso(self.approved_at),
            "members": list(self.members),
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_ref(ref: object) -> str:
    if not isinstance(ref, str) or CASE_PATTERN.fullmatch(ref) is None:
        raise CaseError(
            f"case reference {ref!r} is invalid; it must be 3-100 of A-Z a-z 0-9 . _ / - "
            "starting with a letter or digit (e.g. OP-2024/017)"
        )
    if ref.upper() == SYSTEM_CASE:
        raise CaseError(f"case reference {ref!r} is reserved for administrative entries")
    return ref


def _check_title(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        raise CaseError("a case needs a title (a short label)")
    title = title.strip()
    if len(title) > TITLE_MAX:
        raise CaseError(
            f"the title has {len(title)} characters; at most {TITLE_MAX}: it is a label, "
            "the reason is the legal basis"
        )
    if any(unicodedata.category(c).startswith("C") for c in title):
        raise CaseError("the title must be one line of plain text")
    return title


def _basis(value: object) -> str:
    try:
        return LegalBasis(str(value)).value
    except ValueError:
        raise CaseError(
            f"legal basis {value!r} is not recognised; use one of: "
            f"{', '.join(b.value for b in LegalBasis)}"
        ) from None


def _user(ws: Workspace, name: str, perm: Permission, what: str) -> User:
    """The enabled account ``name`` holding ``perm``; PermissionDenied otherwise (the
    same message whether or not the account exists)."""
    user = _find(ws, name) if isinstance(name, str) and USER_PATTERN.fullmatch(name) else None
    if user is None or not has(user, perm):
        raise PermissionDenied(
            f"{what} needs an enabled account with the permission {perm.value!r}"
        )
    return user


_CASE_COLS = (
    "ref, title, legal_basis, subjects, area_lat, area_lon, area_radius_m, since, until, "
    "opened_by, opened_at, expires_at, status, approved_by, approved_at"
)


def _load(ws: Workspace, ref: str) -> Case | None:
    """The case ``ref`` with its members, from the cache (see
    :mod:`tessera.accounts.cache`: every case write empties it) or the database; a
    cached case keeps its validated :class:`Scope`, so a large scope is not parsed and
    checked again on every read."""

    def load() -> Case | None:
        with _LOCK:
            rows = ws.engine.fetch_rows(f"SELECT {_CASE_COLS} FROM case_file WHERE ref = ?", [ref])
            if not rows:
                return None
            members = tuple(
                str(r[0])
                for r in ws.engine.fetch_rows(
                    "SELECT user_name FROM case_member WHERE ref = ? ORDER BY added_at, user_name",
                    [ref],
                )
            )
        return _row_case(rows[0], members)

    return cached(ws, "case", ref, load)


def _row_case(r: tuple[Any, ...], members: tuple[str, ...]) -> Case:
    area = None if r[4] is None else (float(r[4]), float(r[5]), float(r[6]))
    scope = Scope(tuple(json.loads(r[3] or "[]")), area, r[7], r[8])
    return Case(
        ref=str(r[0]),
        title=str(r[1]),
        legal_basis=str(r[2]),
        scope=scope,
        opened_by=str(r[9]),
        opened_at=r[10],
        expires_at=r[11],
        status=str(r[12]),
        approved_by=None if r[13] is None else str(r[13]),
        approved_at=r[14],
        members=members,
    )


def _audit(ws: Workspace, case: Case, actor: str, action: str, target: str, detail: Any) -> None:
    record(ws, case.access(actor), action, target, 1, detail)


def open_case(
    ws: Workspace,
    ref: str,
    *,
    title: str,
    legal_basis: LegalBasis | str,
    scope: Scope,
    expires_at: dt.datetime,
    opened_by: str,
    members: Iterable[str] = (),
) -> Case:
    """Open a case (status pending until a supervisor approves it). The opener needs
    OPEN_CASE; ``expires_at`` is in the future and at most :data:`MAX_CASE_DAYS` away;
    ``members`` are existing accounts."""
    ref = _check_ref(ref)
    title = _check_title(title)
    basis = _basis(legal_basis)
    if not isinstance(scope, Scope):
        raise CaseError(f"scope must be a Scope, not {type(scope).__name__}")
    if not isinstance(expires_at, dt.datetime) or expires_at.tzinfo is None:
        raise CaseError(f"expires_at must be a tz-aware datetime, not {expires_at!r}")
    now = _now()
    expires_at = expires_at.astimezone(dt.UTC)
    if expires_at <= now:
        raise CaseError(f"expires_at {expires_at.isoformat()} is not in the future")
    if expires_at > now + dt.timedelta(days=MAX_CASE_DAYS):
        raise CaseError(
            f"expires_at {expires_at.isoformat()} is more than {MAX_CASE_DAYS} days away; "
            "open a new case to continue"
        )
    with _LOCK:
        _user(ws, opened_by, Permission.OPEN_CASE, "opening a case")
        names = list(dict.fromkeys(m for m in members if m != opened_by))
        for m in names:
            if _find(ws, m) is None if isinstance(m, str) else True:
                raise CaseError(f"member {m!r} is not an account")
        if ws.engine.fetch_rows("SELECT 1 FROM case_file WHERE ref = ?", [ref]):
            raise CaseError(f"a case {ref!r} already exists")
        area = scope.area or (None, None, None)
        with _writing(ws):
            ws.engine.execute(
                f"INSERT INTO case_file ({_CASE_COLS}, closed_by, closed_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, NULL, NULL)",
                [
                    ref,
                    title,
                    basis,
                    json.dumps(list(scope.subjects)),
                    *area,
                    scope.since,
                    scope.until,
                    opened_by,
                    now,
                    expires_at,
                ],
            )
            for m in names:
                ws.engine.execute(
                    "INSERT INTO case_member VALUES (?, ?, ?, ?)", [ref, m, opened_by, now]
                )
        case = _load(ws, ref)
        if case is None:  # pragma: no cover - just inserted
            raise CaseError(f"case {ref!r} was not stored")
        _audit(
            ws,
            case,
            opened_by,
            "case.open",
            ref,
            {
                "title": title,
                "scope": scope.as_dict(),
                "expires_at": expires_at.isoformat(),
                "members": names,
            },
        )
    return case


def get_case(ws: Workspace, ref: str) -> Case:
    """The case ``ref``; CaseError if there is none."""
    with _LOCK:
        case = _load(ws, ref) if isinstance(ref, str) else None
    if case is None:
        raise CaseError(f"no case {ref!r}")
    return case


def list_cases(ws: Workspace, *, user: str | None = None) -> list[Case]:
    """Every case (newest first), or those ``user`` opened, approved or is a member of."""
    sql = f"SELECT {_CASE_COLS} FROM case_file"
    params: list[Any] = []
    if user is not None:
        sql += (
            " WHERE opened_by = ? OR approved_by = ? OR ref IN "
            "(SELECT ref FROM case_member WHERE user_name = ?)"
        )
        params = [user, user, user]
    with _LOCK:
        rows = ws.engine.fetch_rows(sql + " ORDER BY opened_at DESC, ref", params)
        members: dict[str, list[str]] = {}
        for ref, name in ws.engine.fetch_rows(
            "SELECT ref, user_name FROM case_member ORDER BY added_at, user_name"
        ):
            members.setdefault(str(ref), []).append(str(name))
    return [_row_case(r, tuple(members.get(str(r[0]), ()))) for r in rows]


def approve_case(ws: Workspace, ref: str, *, by: str) -> Case:
    """Approve a pending, unexpired case: ``by`` holds APPROVE_CASE and is not the
    opener (four eyes)."""
    with _LOCK:
        _user(ws, by, Permission.APPROVE_CASE, "approving a case")
        case = get_case(ws, ref)
        if by == case.opened_by:
            raise PermissionDenied(
                f"{by!r} opened case {ref!r} and cannot approve it: another supervisor must"
            )
        if case.status != "pending":
            raise CaseError(f"case {ref!r} is {case.status}; only a pending case is approved")
        now = _now()
        if case.expires_at <= now:
            raise CaseError(f"case {ref!r} expired at {case.expires_at.isoformat()}")
        with _writing(ws):
            ws.engine.execute(
                "UPDATE case_file SET status = 'active', approved_by = ?, approved_at = ? "
                "WHERE ref = ?",
                [by, now, ref],
            )
        _audit(ws, case, by, "case.approve", ref, None)
        return get_case(ws, ref)


def _managed_case(ws: Workspace, ref: str, by: str, what: str) -> Case:
    """The case ``ref`` if ``by`` may manage it: its opener (still holding OPEN_CASE)
    or an enabled account holding APPROVE_CASE; PermissionDenied naming ``what``."""
    case = get_case(ws, ref)
    actor = _find(ws, by) if isinstance(by, str) and USER_PATTERN.fullmatch(by) else None
    allowed = actor is not None and (
        has(actor, Permission.APPROVE_CASE)
        or (by == case.opened_by and has(actor, Permission.OPEN_CASE))
    )
    if not allowed:
        raise PermissionDenied(
            f"{what} case {ref!r} needs its opener or an account with the permission "
            f"{Permission.APPROVE_CASE.value!r}"
        )
    return case


def close_case(ws: Workspace, ref: str, *, by: str) -> Case:
    """Close a case (its opener, or a user holding APPROVE_CASE)."""
    with _LOCK:
        case = _managed_case(ws, ref, by, "closing")
        if case.status == "closed":
            raise CaseError(f"case {ref!r} is already closed")
        with _writing(ws):
            ws.engine.execute(
                "UPDATE case_file SET status = 'closed', closed_by = ?, closed_at = ? "
                "WHERE ref = ?",
                [by, _now(), ref],
            )
        _audit(ws, case, by, "case.close", ref, None)
        return get_case(ws, ref)


def add_member(ws: Workspace, ref: str, user: str, *, by: str) -> Case:
    """Add account ``user`` to a case (by its opener or a user holding APPROVE_CASE)."""
    with _LOCK:
        case = _managed_case(ws, ref, by, "adding a member to")
        if case.status == "closed":
            raise CaseError(f"case {ref!r} is closed")
        if not isinstance(user, str) or _find(ws, user) is None:
            raise CaseError(f"member {user!r} is not an account")
        if case.is_member(user):
            return case
        with _writing(ws):
            ws.engine.execute(
                "INSERT INTO case_member VALUES (?, ?, ?, ?)", [ref, user, by, _now()]
            )
        _audit(ws, case, by, "case.member", user, {"added_by": by})
        return get_case(ws, ref)


# -- the gates ---------------------------------------------------------------------------
def _refuse(
    ws: Workspace,
    user: str,
    ref: str,
    basis: str,
    action: str,
    target: str,
    message: str,
) -> PermissionDenied:
    """Record a refusal and return the error to raise."""
    name = user if isinstance(user, str) and USER_PATTERN.fullmatch(user) else "_unknown"
    case_ref = ref if isinstance(ref, str) and CASE_PATTERN.fullmatch(ref) else SYSTEM_CASE
    try:
        access = Access(user=name, case=case_ref, legal_basis=basis)
    except AccessError:
        access = Access(user=name, case=SYSTEM_CASE, legal_basis=SYSTEM_BASIS)
    record(ws, access, action, target, 0, {"reason": message})
    return PermissionDenied(message)


@dataclass(frozen=True, slots=True)
class Grant:
    """What :func:`admit` lets through: the audit ``access`` and the ``case`` (as read
    for this check), so that a caller needs no second lookup."""

    access: Access
    case: Case


def admit(
    ws: Workspace,
    user: User,
    case_ref: str,
    permission: Permission | str,
    *,
    now: dt.datetime | None = None,
) -> Grant:
    """:func:`authorise`, returning the case with the access."""
    perm = Permission(permission)
    now = _now() if now is None else now
    current = _find(ws, user.name) if isinstance(user, User) else None
    case = _load(ws, case_ref) if isinstance(case_ref, str) else None
    basis = case.legal_basis if case is not None else SYSTEM_BASIS.value
    name = user.name if isinstance(user, User) else str(user)

    def refuse(message: str) -> PermissionDenied:
        return _refuse(ws, name, case_ref, basis, "case.refused", perm.value, message)

    if current is None or current.disabled:
        raise refuse("the account is disabled or unknown")
    if not has(current, perm):
        raise refuse(f"the role {current.role!r} lacks the permission {perm.value!r}")
    if case is None or not case.is_member(current.name):
        raise refuse(
            f"{current.name!r} is not a member of a case {case_ref!r} (or it does not exist)"
        )
    if case.status == "pending":
        raise refuse(f"case {case_ref!r} is pending: a supervisor must approve it first")
    if case.status == "closed":
        raise refuse(f"case {case_ref!r} is closed")
    if now >= case.expires_at:
        raise refuse(f"case {case_ref!r} expired at {case.expires_at.isoformat()}")
    return Grant(case.access(current.name), case)


def authorise(
    ws: Workspace,
    user: User,
    case_ref: str,
    permission: Permission | str,
    *,
    now: dt.datetime | None = None,
) -> Access:
    """The :class:`~tessera.audit.Access` for ``user`` doing ``permission`` within case
    ``case_ref``, after checking, in this order: the account is enabled and its
    current role holds the permission; the case exists and the user opened it or is a
    member; the case is approved and not closed; it has not expired. Each refusal is
    recorded (``case.refused``) and raised as PermissionDenied naming what was
    missing (an unknown case and a case the user is not a member of read the same).

    The account and the case are read as they are now (through the cache of
    :mod:`tessera.accounts.cache`, which every write empties), never as the caller
    saw them: a disabled account, a changed role or a closed case refuses at once."""
    return admit(ws, user, case_ref, permission, now=now).access


def _scope_sql(ws: Workspace, scope: Scope, persons: Sequence[str]) -> set[str]:
    """The ``persons`` that have a stay, home or work in the scope's area and window."""
    from tessera.link.keys import haversine_sql

    if scope.area is None or not persons:
        return set()
    tables = set(ws.engine.table_names())
    lat, lon, radius = scope.area
    # the centre as numeric literals (validated floats), the radius as a parameter
    clat, clon = repr(float(lat)), repr(float(lon))
    marks = ", ".join("?" for _ in persons)
    parts: list[str] = []
    params: list[Any] = []
    if "life_stay" in tables:
        sql = (
            f"SELECT DISTINCT subject FROM life_stay WHERE subject IN ({marks}) "
            f"AND {haversine_sql(clat, clon, 'lat', 'lon')} <= ?"
        )
        p: list[Any] = [*persons, radius]
        if scope.since is not None:
            sql += " AND finished_at >= ?"
            p.append(scope.since)
        if scope.until is not None:
            sql += " AND started_at < ?"
            p.append(scope.until)
        parts.append(sql)
        params += p
    if "life_home_work" in tables:
        join = ""
        where = ""
        p = [*persons, radius]
        if (scope.since is not None or scope.until is not None) and "life_place" in tables:
            join = (
                " JOIN life_place AS p ON p.subject = h.subject AND p.subject_kind = "
                "h.subject_kind AND p.place_id = h.place_id"
            )
            if scope.since is not None:
                where += " AND p.last_seen >= ?"
                p.append(scope.since)
            if scope.until is not None:
                where += " AND p.first_seen < ?"
                p.append(scope.until)
        parts.append(
            f"SELECT DISTINCT h.subject FROM life_home_work AS h{join} "
            f"WHERE h.subject IN ({marks}) "
            f"AND {haversine_sql(clat, clon, 'h.lat', 'h.lon')} <= ?{where}"
        )
        params += p
    if not parts:
        return set()
    rows = ws.engine.fetch_rows(" UNION ".join(parts), params)
    return {str(r[0]) for r in rows}


def filter_in_scope(ws: Workspace, case: Case, persons: Iterable[str]) -> set[str]:
    """The subset of ``persons`` inside ``case``'s scope (see the module docstring)."""
    wanted = list(dict.fromkeys(p for p in persons if isinstance(p, str)))
    named = {p for p in wanted if p in case.scope.subjects}
    rest = [p for p in wanted if p not in named]
    # a shared connection is used by one thread at a time; a thread's own cursor needs no
    # lock, and must not wait behind audit writes holding it (measured: 18 % of the
    # service's time under load was this wait)
    with contextlib.nullcontext() if ws.engine.thread_confined else _LOCK:
        found = set()
        for i in range(0, len(rest), 500):
            found |= _scope_sql(ws, case.scope, rest[i : i + 500])
    return named | found


def in_scope(ws: Workspace, case: Case, person: str) -> bool:
    """Whether ``person`` is inside ``case``'s scope."""
    return person in filter_in_scope(ws, case, [person])


def require_in_scope(ws: Workspace, access: Access, case: Case, person: str) -> None:
    """Raise PermissionDenied (recorded as ``case.out_of_scope``) unless ``person`` is
    in ``case``'s scope."""
    if in_scope(ws, case, person):
        return
    raise _refuse(
        ws,
        access.user,
        case.ref,
        case.legal_basis,
        "case.out_of_scope",
        person if isinstance(person, str) and person.strip() else "-",
        f"{person!r} is outside the scope of case {case.ref!r}",
    )


def scope_filter(case: Case) -> dict[str, Any]:
    """Overrides for :class:`tessera.dossier.find.Filters` that narrow a search to the
    case's area and window (``visited``, ``since``, ``until``; only those the scope
    sets). A scope of named subjects only cannot be expressed as a filter: keep the
    results :func:`filter_in_scope` returns."""
    out: dict[str, Any] = {}
    if case.scope.area is not None:
        out["visited"] = case.scope.area
    if case.scope.since is not None:
        out["since"] = case.scope.since
    if case.scope.until is not None:
        out["until"] = case.scope.until
    return out
