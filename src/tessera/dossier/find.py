"""Finding people: filters over the dossiers and the tables behind them, ranked.

Every filter narrows the set; the result is ranked by exposure (highest first), then by
how much evidence matched the place and meeting filters, then by person id. A search is
a read: it is written to the audit log with its filters and the number of people found.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tessera.dossier.tables import DOSSIER
from tessera.errors import DossierError
from tessera.link.keys import haversine_sql

if TYPE_CHECKING:
    from tessera.audit import Access
    from tessera.workspace import Workspace


@dataclass(frozen=True)
class Filters:
    """What to look for; ``None`` means no filter on that field."""

    name: str | None = None
    organisation: str | None = None
    role: str | None = None
    visited: tuple[float, float, float] | None = None  # lat, lon, radius in metres
    met_organisation: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    exposure_above: float | None = None
    limit: int = 50
    # only these people (a case's scope), before ranking and the limit
    persons: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.visited is not None:
            lat, lon, radius = self.visited
            if not (-90 <= lat <= 90 and -180 <= lon <= 180) or radius <= 0:
                raise DossierError(
                    f"visited={self.visited}: need LAT,LON,RADIUS_M with a latitude in "
                    "[-90, 90], a longitude in [-180, 180] and a positive radius"
                )
        for label, t in (("since", self.since), ("until", self.until)):
            if t is not None and t.tzinfo is None:
                raise DossierError(f"{label}={t.isoformat()} has no time zone; add one (Z)")
        if self.since and self.until and self.since >= self.until:
            raise DossierError(f"since {self.since} is not before until {self.until}")
        if self.exposure_above is not None and not 0 <= self.exposure_above <= 1:
            raise DossierError(f"exposure_above={self.exposure_above} must be in [0, 1]")
        if self.limit < 1:
            raise DossierError(f"limit={self.limit} must be at least 1")


def parse_visited(text: str) -> tuple[float, float, float]:
    """``"LAT,LON,RADIUS_M"`` as numbers, with an error that shows the expected form."""
    try:
        lat, lon, radius = (float(x) for x in text.split(","))
    except ValueError:
        raise DossierError(
            f"--visited {text!r}: expected LAT,LON,RADIUS_M, e.g. 52.52,13.40,300"
        ) from None
    return lat, lon, radius


def _window(f: Filters, start: str, end: str, params: list[Any]) -> str:
    sql = ""
    if f.since is not None:
        sql += f" AND {end} >= ?"
        params.append(f.since)
    if f.until is not None:
        sql += f" AND {start} < ?"
        params.append(f.until)
    return sql


def _ilike(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(ws: Workspace, f: Filters) -> list[dict[str, Any]]:
    """The people matching ``f``, ranked (no audit; see :func:`find`)."""
    engine = ws.engine
    if DOSSIER not in engine.table_names():
        raise DossierError(f"workspace {ws.path} has no dossiers yet: run `tessera build` first")
    params: list[Any] = []  # the WHERE clause's
    cte_params: list[Any] = []  # the CTEs', which come first in the statement
    ctes: list[str] = []
    joins: list[str] = []
    where = ["TRUE"]
    extra = ["0 AS visits", "0 AS meetings_matched"]
    if f.name:
        where.append("d.name ILIKE ? ESCAPE '\\'")
        params.append(_ilike(f.name))
    if f.organisation:
        where.append(
            "EXISTS (SELECT 1 FROM unnest(d.organisations) AS u(o) WHERE o ILIKE ? ESCAPE '\\')"
        )
        params.append(_ilike(f.organisation))
    if f.role:
        where.append("EXISTS (SELECT 1 FROM unnest(d.roles) AS u(r) WHERE r ILIKE ? ESCAPE '\\')")
        params.append(_ilike(f.role))
    if f.exposure_above is not None:
        where.append("d.exposure > ?")
        params.append(f.exposure_above)
    if f.persons is not None:
        where.append("list_contains(?, d.person)")
        params.append(sorted(f.persons))
    if f.visited is not None:
        lat, lon, radius = f.visited
        dlat = radius / 111_320.0  # a bounding box first, then the exact distance
        dlon = radius / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
        p: list[Any] = [lat - dlat, lat + dlat, lon - dlon, lon + dlon, radius]
        # the point is validated floats: safe as SQL literals
        distance = haversine_sql(repr(float(lat)), repr(float(lon)), "lat", "lon")
        cte = (
            "v AS (SELECT subject AS person, count(*) AS visits FROM life_stay "
            "WHERE subject_kind = 'person' AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? "
            f"AND {distance} <= ?"
        )
        cte += _window(f, "started_at", "finished_at", p) + " GROUP BY subject)"
        ctes.append(cte)
        cte_params += p
        joins.append("JOIN v ON v.person = d.person")
        extra[0] = "v.visits"
    if f.met_organisation:
        p = [_ilike(f.met_organisation)]
        cte = (
            "mo AS (SELECT me.subject AS person, count(DISTINCT me.meeting_id) AS meetings "
            "FROM net_meeting_member me JOIN net_meeting m ON m.meeting_id = me.meeting_id "
            "JOIN net_meeting_member o ON o.meeting_id = me.meeting_id "
            "AND o.subject <> me.subject "
            f"JOIN {DOSSIER} od ON od.person = o.subject "
            "WHERE me.subject_kind = 'person' AND EXISTS (SELECT 1 FROM "
            "unnest(od.organisations) AS u(o) WHERE o ILIKE ? ESCAPE '\\')"
        )
        cte += _window(f, "m.started_at", "m.finished_at", p) + " GROUP BY me.subject)"
        ctes.append(cte)
        cte_params += p
        joins.append("JOIN mo ON mo.person = d.person")
        extra[1] = "mo.meetings"
    sql = (
        ("WITH " + ", ".join(ctes) + " " if ctes else "")
        + f"SELECT d.person, d.name, d.organisations, d.roles, d.exposure, {', '.join(extra)} "
        + f"FROM {DOSSIER} d {' '.join(joins)} WHERE {' AND '.join(where)} "
        + "ORDER BY d.exposure DESC NULLS LAST, 6 DESC, 7 DESC, d.person LIMIT ?"
    )
    rows = engine.fetch_rows(sql, [*cte_params, *params, f.limit])
    return [
        {
            "person": r[0],
            "name": r[1],
            "organisations": list(r[2] or []),
            "roles": list(r[3] or []),
            "exposure": r[4],
            "visits": int(r[5]),
            "meetings_matched": int(r[6]),
        }
        for r in rows
    ]


def find(ws: Workspace, f: Filters, access: Access) -> list[dict[str, Any]]:
    """:func:`search`, written to the audit log with the filters and the result size."""
    from tessera.audit import audited

    return audited(ws, access, "find", _describe(f), lambda: search(ws, f), len)


def _describe(f: Filters) -> str:
    data = {k: v for k, v in asdict(f).items() if v is not None}
    if f.persons is not None:  # a case's scope: its size, not every name
        data["persons"] = f"{len(f.persons)} in the case's scope"
    return json.dumps(data, default=str, sort_keys=True)
