"""What the routes run in the engine pool: one function per request, ``ws`` first.

Each function takes the pool thread's workspace (:mod:`tessera.service.pool`), the
authenticated :class:`~tessera.accounts.User` and the case reference, and does, in one
thread and in this order:

1. :func:`tessera.cases.authorise`: the user holds the permission, belongs to the
   case, and the case is active (refusals are audited by :mod:`tessera.cases`);
2. for a person: :func:`scope_check`, the person is within the case's scope
   (a refusal is written to the audit log as ``case.refused`` with the reason);
3. the audited domain read (:func:`tessera.dossier.store.read`,
   :func:`tessera.dossier.find.find`, :func:`tessera.audit.audited` around the network
   and evidence reads).

Row caps: every list is cut to the service's ``max_rows`` (``truncated`` says so).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zlib
from typing import TYPE_CHECKING, Any

from tessera.service import hypotheses as hyp
from tessera.service.settings import ServiceError

if TYPE_CHECKING:
    from tessera.accounts import User
    from tessera.audit import Access
    from tessera.cases import Case, Grant
    from tessera.dossier.find import Filters
    from tessera.workspace import Workspace


class NotFound(ServiceError):
    """What was asked for does not exist (or is not part of the dossier it was asked in)."""


class BadRequest(ServiceError):
    """The request is well formed but cannot be served as asked."""


# -- authorisation -------------------------------------------------------------------
def admit(ws: Workspace, user: User, case_ref: str, permission: str) -> Grant:
    """:func:`tessera.cases.admit` (the access and the case) for a permission named by
    its value."""
    from tessera.accounts import Permission
    from tessera.cases import admit as case_admit

    return case_admit(ws, user, case_ref, Permission(permission))


def authorise(ws: Workspace, user: User, case_ref: str, permission: str) -> Access:
    """:func:`tessera.cases.authorise` for a permission named by its value."""
    return admit(ws, user, case_ref, permission).access


def scope_check(ws: Workspace, grant: Grant, person: str) -> Case:
    """Refuse (``PermissionDenied``, audited by :mod:`tessera.cases` as
    ``case.out_of_scope``) a person outside the case's scope; return the case."""
    from tessera.cases import require_in_scope

    require_in_scope(ws, grant.access, grant.case, person)
    return grant.case


def person_read(ws: Workspace, user: User, case_ref: str, person: str, permission: str) -> Access:
    """Authorise ``permission`` in the case and check ``person`` is in its scope."""
    grant = admit(ws, user, case_ref, permission)
    scope_check(ws, grant, person)
    return grant.access


# -- reads -----------------------------------------------------------------------------
def dossier(ws: Workspace, user: User, case_ref: str, person: str) -> dict[str, Any]:
    """One dossier (audited ``dossier.read``)."""
    from tessera.dossier.store import read

    access = person_read(ws, user, case_ref, person, "read")
    return read(ws, person, access)


def dossier_json(ws: Workspace, user: User, case_ref: str, person: str) -> bytes:
    """One dossier as the JSON text it is stored as (audited ``dossier.read``): the
    same document :func:`dossier` gives, without parsing it and writing it again."""
    from tessera.dossier.store import read_json

    access = person_read(ws, user, case_ref, person, "read")
    return read_json(ws, person, access)


def dossier_request(
    ws: Workspace, session_id: str | None, token: str | None, case_ref: str, person: str
) -> bytes:
    """:func:`tessera.service.auth.resolve` then :func:`dossier_json`, in one pool call:
    the service's lean route for ``GET /api/dossiers/{person}`` (one thread hop per
    request instead of two; the same checks in the same order)."""
    from tessera.service.auth import resolve

    who = resolve(ws, session_id, token)
    return dossier_json(ws, who.user, case_ref, person)


def search(
    ws: Workspace, user: User, case_ref: str, filters: Filters, max_rows: int
) -> dict[str, Any]:
    """The search (audited ``find``), narrowed to the case's scope.

    The case's area and window become the search's ``visited`` and ``since``/``until``
    where the request gave none (:func:`tessera.cases.scope_filter`), and every result
    is then checked with ``in_scope``, so a subjects-only case finds only its subjects.
    """
    from tessera.cases import filter_in_scope, scope_filter
    from tessera.dossier.find import find

    grant = admit(ws, user, case_ref, "read")
    access, case = grant.access, grant.case
    overrides = {
        k: v
        for k, v in scope_filter(case).items()
        if k != "limit" and getattr(filters, k, None) is None
    }
    limit = min(filters.limit, max_rows)
    narrowed = dataclasses.replace(filters, **overrides, limit=limit)
    found = find(ws, narrowed, access)
    keep = filter_in_scope(ws, case, [p["person"] for p in found])
    people = [p for p in found if p["person"] in keep]
    return {"results": people, "truncated": len(found) >= limit, "scope": overrides_json(overrides)}


def overrides_json(overrides: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, dt.datetime) else list(v) if isinstance(v, tuple) else v)
        for k, v in overrides.items()
    }


def graph(
    ws: Workspace, user: User, case_ref: str, person: str, depth: int, max_rows: int
) -> dict[str, Any]:
    """The person's ego network to ``depth`` hops (audited ``ego``), capped at
    ``max_rows`` nodes (nearest first) and the edges among the nodes kept."""
    from tessera.audit import audited
    from tessera.network.graph import ego_network

    access = person_read(ws, user, case_ref, person, "read")
    ego = audited(
        ws,
        access,
        "ego",
        person,
        lambda: ego_network(ws.engine, person, depth=depth),
        lambda e: min(e.nodes.num_rows, max_rows),
    )
    nodes = ego.nodes.to_pylist()
    truncated = len(nodes) > max_rows
    nodes = nodes[:max_rows]
    kept = {n["subject"] for n in nodes}
    edges = [
        {
            "a": e["a"],
            "b": e["b"],
            "weight": e.get("weight"),
            "contact_weight": e.get("contact_weight"),
            "copresence_weight": e.get("copresence_weight"),
            "hidden": e.get("hidden"),
        }
        for e in ego.edges.to_pylist()
        if e["a"] in kept and e["b"] in kept
    ]
    return {
        "subject": person,
        "depth": depth,
        "nodes": [
            {
                "id": n["subject"],
                "kind": n["subject_kind"],
                "hops": n["hops"],
                "community": n.get("community"),
            }
            for n in nodes
        ],
        "edges": edges[: max_rows * 4],
        "truncated": truncated or len(edges) > max_rows * 4,
    }


# evidence: the citation kinds a dossier uses -> (table, SQL giving a row's citation key)
EVIDENCE: dict[str, tuple[str, str]] = {
    "life_stay": ("life_stay", "CAST(stay_id AS VARCHAR)"),
    "net_meeting": ("net_meeting", "CAST(meeting_id AS VARCHAR)"),
    "link_device_person": ("link_device_person", "device"),
    "link_vehicle_person": ("link_vehicle_person", "vehicle || ':' || role"),
    "link_second_phone": ("link_second_phone", "\"primary\" || ':' || second"),
    "link_device_swap": ("link_device_swap", "old || ':' || new"),
    "net_contact": ("net_contact", "a || ':' || b"),
    "net_hidden_tie": ("net_hidden_tie", "a || ':' || b"),
    "life_anomaly": ("life_anomaly", "subject || ':' || CAST(anomaly_id AS VARCHAR)"),
    "life_home_work": ("life_home_work", "subject || ':' || role"),
    "life_place": ("life_place", "subject || ':' || CAST(place_id AS VARCHAR)"),
}
OBS_TABLES = ("obs_device_event", "obs_plate_read", "obs_communication", "obs_contact")


def _cites(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "cites" and isinstance(v, list):
                out.update(c for c in v if isinstance(c, str))
            else:
                _cites(v, out)
    elif isinstance(value, list):
        for v in value:
            _cites(v, out)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dt.datetime | dt.date):
            out[k] = v.isoformat()
        elif isinstance(v, bytes):
            continue
        elif isinstance(v, float) and v != v:  # NaN is not JSON
            out[k] = None
        else:
            out[k] = v
    return out


def _rows(ws: Workspace, sql: str, params: list[Any], max_rows: int) -> list[dict[str, Any]]:
    table = ws.engine.fetch_arrow(f"{sql} LIMIT {int(max_rows)}", params)
    return [_plain(r) for r in table.to_pylist()]


def evidence(
    ws: Workspace, user: User, case_ref: str, person: str, kind: str, ident: str, max_rows: int
) -> dict[str, Any]:
    """The rows behind one citation of the person's dossier (audited ``evidence``).

    Only citations the person's own dossier makes are served, so evidence is reachable
    only through a dossier in the case's scope."""
    from tessera.audit import audited
    from tessera.dossier.tables import DOSSIER

    cite = f"{kind}:{ident}"
    if kind != "obs" and kind not in EVIDENCE:
        raise NotFound(f"unknown evidence kind {kind!r}")
    access = person_read(ws, user, case_ref, person, "read")

    def fetch() -> list[dict[str, Any]]:
        body = ws.engine.fetch_rows(f"SELECT body FROM {DOSSIER} WHERE person = ?", [person])
        if not body:
            raise NotFound(f"no dossier for {person}")
        cited: set[str] = set()
        _cites(json.loads(zlib.decompress(bytes(body[0][0]))), cited)
        if cite not in cited:
            raise NotFound(f"{person}'s dossier does not cite {cite}")
        names = set(ws.engine.table_names())
        if kind == "obs":
            try:
                obs_id = int(ident)
            except ValueError:
                raise NotFound(f"{cite} is not an observation id") from None
            rows: list[dict[str, Any]] = []
            for table in OBS_TABLES:
                if table in names:
                    for r in _rows(ws, f"SELECT * FROM {table} WHERE obs_id = ?", [obs_id], 5):
                        rows.append({"table": table, **r})
            return rows[:max_rows]
        table, key = EVIDENCE[kind]
        if table not in names:
            return []
        return [
            {"table": table, **r}
            for r in _rows(
                ws,
                f"SELECT * EXCLUDE (obs_ids) FROM {table} WHERE {key} = ?"
                if "obs_ids" in {c for c, _ in ws.engine.columns(table)}
                else f"SELECT * FROM {table} WHERE {key} = ?",
                [ident],
                max_rows,
            )
        ]

    try:
        rows = audited(ws, access, "evidence", f"{person} {cite}", fetch, len)
    except NotFound:
        raise
    return {"person": person, "cite": cite, "rows": rows}


def hypotheses(ws: Workspace, user: User, case_ref: str, person: str) -> dict[str, Any]:
    """The person's link hypotheses with their judgements (audited ``hypothesis.list``)."""
    from tessera.audit import audited

    access = person_read(ws, user, case_ref, person, "read")
    found = audited(ws, access, "hypothesis.list", person, lambda: hyp.hypotheses(ws, person), len)
    return {"person": person, "hypotheses": found, "reasons": list(hyp.reasons())}


def judge(
    ws: Workspace,
    user: User,
    case_ref: str,
    person: str,
    hypothesis_id: str,
    verdict: str,
    reason: str,
    note: str | None,
) -> dict[str, Any]:
    """Confirm or reject one of the person's hypotheses (JUDGE permission; the person
    in scope; the hypothesis must be one of theirs)."""
    access = person_read(ws, user, case_ref, person, "judge")
    ids = {h["id"] for h in hyp.hypotheses(ws, person)}
    if hypothesis_id not in ids:
        raise NotFound(f"{person} has no hypothesis {hypothesis_id!r}")
    if verdict not in hyp.VERDICTS:
        raise BadRequest(f"verdict must be one of {', '.join(hyp.VERDICTS)}")
    if reason not in hyp.reasons():
        raise BadRequest(f"reason must be one of {', '.join(hyp.reasons())}")
    return hyp.judge(ws, hypothesis_id, verdict, reason, access, note=note)


def export(ws: Workspace, user: User, case_ref: str, person: str, fmt: str) -> tuple[str, str]:
    """A person's dossier as a file: ``(content, media type)``; EXPORT permission,
    audited ``export``."""
    from tessera.audit import audited
    from tessera.dossier.render import backdrop_points, render_html
    from tessera.dossier.store import _body, decode

    access = person_read(ws, user, case_ref, person, "export")
    d = audited(
        ws,
        access,
        "export",
        f"dossier:{person}:{fmt}",
        lambda: decode(_body(ws, person)),
        lambda _: 1,
    )
    if fmt == "html":
        return render_html(d, backdrop_points(ws.engine)), "text/html; charset=utf-8"
    return json.dumps(d, ensure_ascii=False, indent=1), "application/json"


# -- the district map ------------------------------------------------------------------
def hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull of ``(lat, lon)`` points, counter-clockwise in (lon, lat), by
    Andrew's monotone chain: sort the points, then build the lower and upper chains,
    popping the last point while it does not make a left turn (cross product <= 0)."""
    pts = sorted(set(points), key=lambda p: (p[1], p[0]))
    if len(pts) < 3:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[1] - o[1]) * (b[0] - o[0]) - (a[0] - o[0]) * (b[1] - o[1])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def district(ws: Workspace, max_rows: int) -> dict[str, Any]:
    """The district's own geometry: sensors, sites (sensors grouped by ``site_id``, at
    their mean position) and the outline (convex hull of every sensor). No person."""
    if "sensor" not in ws.engine.table_names():
        return {"sensors": [], "sites": [], "outline": [], "truncated": False}
    rows = ws.engine.fetch_rows(
        "SELECT sensor_id, kind, lat, lon, site_id FROM sensor "
        "WHERE lat IS NOT NULL AND lon IS NOT NULL ORDER BY sensor_id"
    )
    sensors = [
        {"id": r[0], "kind": r[1], "lat": float(r[2]), "lon": float(r[3]), "site": r[4]}
        for r in rows
    ]
    sites: dict[str, list[tuple[float, float]]] = {}
    for s in sensors:
        if s["site"]:
            sites.setdefault(s["site"], []).append((s["lat"], s["lon"]))
    outline = hull([(s["lat"], s["lon"]) for s in sensors])
    cap = max_rows * 10  # a district's sensors are infrastructure: a larger cap
    return {
        "sensors": sensors[:cap],
        "sites": [
            {
                "id": k,
                "lat": sum(p[0] for p in v) / len(v),
                "lon": sum(p[1] for p in v) / len(v),
                "sensors": len(v),
            }
            for k, v in sorted(sites.items())
        ][:cap],
        "outline": [[lat, lon] for lat, lon in outline],
        "truncated": len(sensors) > cap,
    }


def map_read(ws: Workspace, user: User, case_ref: str, max_rows: int) -> dict[str, Any]:
    """:func:`district` inside a case (READ), audited ``map``."""
    from tessera.audit import audited

    access = authorise(ws, user, case_ref, "read")
    return audited(
        ws, access, "map", "district", lambda: district(ws, max_rows), lambda m: len(m["sensors"])
    )
