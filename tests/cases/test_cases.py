"""Cases: lifecycle, the authorise gate, scope (named subjects, area, window), audit."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tessera import accounts as A
from tessera import cases as C
from tessera.accounts import Permission
from tessera.audit import entries, verify
from tessera.errors import CaseError, PermissionDenied
from tessera.workspace import Workspace

PW = "correct horse battery"
NOW = dt.datetime.now(dt.UTC)
LATER = NOW + dt.timedelta(days=30)
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def _people(ws: Workspace) -> None:
    A.add_user(ws, "ann", "analyst", PW, by="local.op")
    A.add_user(ws, "bob", "analyst", PW, by="local.op")
    A.add_user(ws, "sue", "supervisor", PW, by="local.op")
    A.add_user(ws, "sam", "supervisor", PW, by="local.op")
    A.add_user(ws, "vic", "viewer", PW, by="local.op")
    A.add_user(ws, "root", "admin", PW, by="local.op")


def _case(ws: Workspace, ref: str = "OP-1", **kw: object) -> C.Case:
    args: dict[str, object] = {
        "title": "harbour thefts",
        "legal_basis": "warrant",
        "scope": C.Scope(("person:1",)),
        "expires_at": LATER,
        "opened_by": "ann",
    }
    args.update(kw)
    return C.open_case(ws, ref, **args)  # type: ignore[arg-type]


def test_lifecycle_and_four_eyes(ws: Workspace) -> None:
    _people(ws)
    case = _case(ws, members=("vic",))
    assert (case.status, case.members, case.is_active()) == ("pending", ("vic",), False)
    with pytest.raises(PermissionDenied, match="approve_case"):
        C.approve_case(ws, "OP-1", by="ann")
    # a supervisor who opened the case cannot approve it either
    _case(ws, "OP-2", opened_by="sue")
    with pytest.raises(PermissionDenied, match="cannot approve"):
        C.approve_case(ws, "OP-2", by="sue")
    active = C.approve_case(ws, "OP-1", by="sue")
    assert (active.status, active.approved_by, active.is_active()) == ("active", "sue", True)
    with pytest.raises(CaseError, match="only a pending case"):
        C.approve_case(ws, "OP-1", by="sam")
    assert [c.ref for c in C.list_cases(ws, user="vic")] == ["OP-1"]
    assert {c.ref for c in C.list_cases(ws)} == {"OP-1", "OP-2"}
    closed = C.close_case(ws, "OP-1", by="ann")
    assert closed.status == "closed"
    assert not closed.is_active()
    actions = [(e.action, e.case, e.legal_basis) for e in entries(ws) if e.case != "SYSTEM"]
    assert actions == [
        ("case.open", "OP-1", "warrant"),
        ("case.open", "OP-2", "warrant"),
        ("case.approve", "OP-1", "warrant"),
        ("case.close", "OP-1", "warrant"),
    ]
    assert verify(ws).ok


def test_open_validates(ws: Workspace) -> None:
    _people(ws)
    with pytest.raises(CaseError, match="needs named subjects, an area"):
        C.Scope()
    with pytest.raises(CaseError, match="radius"):
        C.Scope(area=(52.5, 13.4, -1))
    with pytest.raises(CaseError, match="not before"):
        C.Scope(("person:1",), since=T0, until=T0)
    with pytest.raises(CaseError, match="tz-aware"):
        C.Scope(("person:1",), since=dt.datetime(2024, 5, 1))
    with pytest.raises(CaseError, match="legal basis"):
        _case(ws, legal_basis="because I want to")
    with pytest.raises(CaseError, match="label"):
        _case(ws, title="x" * 81)
    with pytest.raises(CaseError, match="366 days"):
        _case(ws, expires_at=NOW + dt.timedelta(days=400))
    with pytest.raises(CaseError, match="not in the future"):
        _case(ws, expires_at=NOW - dt.timedelta(days=1))
    with pytest.raises(CaseError, match="reserved"):
        _case(ws, "SYSTEM")
    with pytest.raises(CaseError, match="not an account"):
        _case(ws, members=("ghost",))
    with pytest.raises(PermissionDenied, match="open_case"):
        _case(ws, opened_by="vic")
    with pytest.raises(PermissionDenied, match="open_case"):
        _case(ws, opened_by="root")
    _case(ws)
    with pytest.raises(CaseError, match="already exists"):
        _case(ws)
    assert len(C.list_cases(ws)) == 1


def test_authorise(ws: Workspace) -> None:
    _people(ws)
    _case(ws, members=("vic",))
    ann, vic, bob, sue, root = (A.get_user(ws, n) for n in ("ann", "vic", "bob", "sue", "root"))
    with pytest.raises(PermissionDenied, match="pending: a supervisor must approve"):
        C.authorise(ws, ann, "OP-1", Permission.READ)
    C.approve_case(ws, "OP-1", by="sue")
    access = C.authorise(ws, ann, "OP-1", Permission.READ)
    assert (access.user, access.case, access.legal_basis) == ("ann", "OP-1", "warrant")
    assert C.authorise(ws, vic, "OP-1", "read").user == "vic"
    with pytest.raises(PermissionDenied, match="lacks the permission 'judge'"):
        C.authorise(ws, vic, "OP-1", Permission.JUDGE)
    with pytest.raises(PermissionDenied, match="lacks the permission 'read'"):
        C.authorise(ws, root, "OP-1", Permission.READ)
    # not a member and unknown case read the same
    with pytest.raises(PermissionDenied) as not_member:
        C.authorise(ws, bob, "OP-1", Permission.READ)
    with pytest.raises(PermissionDenied) as unknown:
        C.authorise(ws, bob, "OP-9", Permission.READ)
    assert str(not_member.value).replace("OP-1", "X") == str(unknown.value).replace("OP-9", "X")
    # the approving supervisor is not a member either
    with pytest.raises(PermissionDenied, match="not a member"):
        C.authorise(ws, sue, "OP-1", Permission.READ)
    C.add_member(ws, "OP-1", "bob", by="ann")
    C.authorise(ws, bob, "OP-1", Permission.READ)
    with pytest.raises(PermissionDenied, match="expired"):
        C.authorise(ws, ann, "OP-1", Permission.READ, now=LATER + dt.timedelta(seconds=1))
    # a role change takes effect at once, even with a stale User object
    A.set_role(ws, "ann", "viewer", by="root")
    with pytest.raises(PermissionDenied, match="export"):
        C.authorise(ws, ann, "OP-1", Permission.EXPORT)
    A.disable_user(ws, "bob", by="root")
    with pytest.raises(PermissionDenied, match="disabled"):
        C.authorise(ws, bob, "OP-1", Permission.READ)
    C.close_case(ws, "OP-1", by="sue")
    with pytest.raises(PermissionDenied, match="closed"):
        C.authorise(ws, vic, "OP-1", Permission.READ)
    refused = entries(ws, action="case.refused")
    assert [(e.user, e.case, e.target, e.result_size) for e in refused] == [
        ("ann", "OP-1", "read", 0),
        ("vic", "OP-1", "judge", 0),
        ("root", "OP-1", "read", 0),
        ("bob", "OP-1", "read", 0),
        ("bob", "OP-9", "read", 0),  # the reference tried, although no such case exists
        ("sue", "OP-1", "read", 0),
        ("ann", "OP-1", "read", 0),
        ("ann", "OP-1", "export", 0),
        ("bob", "OP-1", "read", 0),
        ("vic", "OP-1", "read", 0),
    ]
    # a case that does not exist has no legal basis: the system one is recorded
    assert refused[4].legal_basis == "statutory_power"
    assert verify(ws).ok


def _life_tables(ws: Workspace) -> None:
    """person:near stayed 100 m from the centre on 1 May; person:far 5 km away;
    person:home lives 200 m from it (place seen 1-3 May); person:late stayed at the
    centre on 10 May."""
    e = ws.engine
    e.execute(
        "CREATE TABLE life_stay (subject VARCHAR, subject_kind VARCHAR, started_at TIMESTAMPTZ, "
        "finished_at TIMESTAMPTZ, lat DOUBLE, lon DOUBLE)"
    )
    e.execute(
        "CREATE TABLE life_home_work (subject VARCHAR, subject_kind VARCHAR, role VARCHAR, "
        "place_id BIGINT, lat DOUBLE, lon DOUBLE)"
    )
    e.execute(
        "CREATE TABLE life_place (subject VARCHAR, subject_kind VARCHAR, place_id BIGINT, "
        "first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ)"
    )
    h = dt.timedelta(hours=1)
    # 0.0009 degrees of latitude is 100 m; 0.045 is 5 km
    e.execute(
        "INSERT INTO life_stay VALUES (?, 'person', ?, ?, ?, ?), (?, 'person', ?, ?, ?, ?), "
        "(?, 'person', ?, ?, ?, ?)",
        [
            "person:near", T0, T0 + h, 52.0009, 13.0,
            "person:far", T0, T0 + h, 52.045, 13.0,
            "person:late", T0 + 9 * 24 * h, T0 + 9 * 24 * h + h, 52.0, 13.0,
        ],
    )  # fmt: skip
    e.execute(
        "INSERT INTO life_home_work VALUES ('person:home', 'person', 'home', 7, 52.0018, 13.0)"
    )
    e.execute(
        "INSERT INTO life_place VALUES ('person:home', 'person', 7, ?, ?)",
        [T0, T0 + 48 * h],
    )


def test_in_scope_by_area_and_window(ws: Workspace) -> None:
    _people(ws)
    _life_tables(ws)
    window = C.Scope(("person:named",), (52.0, 13.0, 300.0), T0, T0 + dt.timedelta(days=5))
    case = _case(ws, scope=window)
    everyone = ["person:named", "person:near", "person:far", "person:home", "person:late"]
    assert C.filter_in_scope(ws, case, everyone) == {"person:named", "person:near", "person:home"}
    assert C.in_scope(ws, case, "person:near")
    assert not C.in_scope(ws, case, "person:far")
    # a smaller radius keeps the stay at 100 m but not the home at 200 m
    small = _case(ws, "OP-small", scope=C.Scope(area=(52.0, 13.0, 150.0)))
    assert C.filter_in_scope(ws, small, everyone) == {"person:near", "person:late"}
    # a window after the home was last seen excludes it
    after = C.Scope(area=(52.0, 13.0, 300.0), since=T0 + dt.timedelta(days=4))
    assert C.filter_in_scope(ws, _case(ws, "OP-after", scope=after), everyone) == {"person:late"}
    assert C.scope_filter(case) == {
        "visited": (52.0, 13.0, 300.0),
        "since": T0,
        "until": T0 + dt.timedelta(days=5),
    }
    assert C.scope_filter(_case(ws, "OP-named", scope=C.Scope(("person:1",)))) == {}


def test_require_in_scope_refuses_and_audits(ws: Workspace) -> None:
    _people(ws)
    _life_tables(ws)
    case = _case(ws, scope=C.Scope(area=(52.0, 13.0, 300.0)))
    C.approve_case(ws, "OP-1", by="sue")
    access = C.authorise(ws, A.get_user(ws, "ann"), "OP-1", Permission.READ)
    C.require_in_scope(ws, access, case, "person:near")
    with pytest.raises(PermissionDenied, match="outside the scope of case 'OP-1'"):
        C.require_in_scope(ws, access, case, "person:far")
    out = entries(ws, action="case.out_of_scope")
    assert [(e.user, e.case, e.target, e.result_size) for e in out] == [
        ("ann", "OP-1", "person:far", 0)
    ]


def test_area_scope_on_a_district(linked: tuple[Path, Path], tmp_path: Path) -> None:
    """On the simulated district: everyone whose home is within 150 m of a person's home
    is in scope; people whose every stay and home/work lies over 2 km away are not."""
    path = tmp_path / "ws"
    shutil.copytree(linked[1], path)
    with Workspace.open(path) as ws:
        _people(ws)
        lat, lon, subject = ws.engine.fetch_rows(
            "SELECT lat, lon, subject FROM life_home_work WHERE role = 'home' "
            "AND subject LIKE 'person:%' ORDER BY subject LIMIT 1"
        )[0]
        case = _case(ws, scope=C.Scope(area=(lat, lon, 150.0)))
        people = [
            str(r[0])
            for r in ws.engine.fetch_rows(
                "SELECT DISTINCT subject FROM life_home_work WHERE subject LIKE 'person:%'"
            )
        ]
        found = C.filter_in_scope(ws, case, people)
        assert subject in found
        far = ws.engine.fetch_rows(
            "WITH d AS (SELECT subject, lat, lon FROM life_stay UNION ALL "
            "SELECT subject, lat, lon FROM life_home_work) "
            "SELECT subject FROM d WHERE subject LIKE 'person:%' GROUP BY subject "
            "HAVING min(12742000 * asin(sqrt(pow(sin(radians(lat - ?) / 2), 2) + "
            "cos(radians(?)) * cos(radians(lat)) * pow(sin(radians(lon - ?) / 2), 2)))) > 2000",
            [lat, lat, lon],
        )
        assert far, "the district has people living far apart"
        assert not found & {str(r[0]) for r in far}
        assert len(found) < len(people)
