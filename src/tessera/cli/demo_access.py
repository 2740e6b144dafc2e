"""The demo's accounts and case, so that `tessera demo` can open the web service at once.

Three accounts with fresh random passwords (printed once by the demo and written to
``WS/DEMO-CREDENTIALS.txt``, readable by the owner only): ``demo`` (analyst),
``demo-supervisor`` (supervisor, who approves the case; an opener may not approve their
own) and ``demo-auditor`` (auditor). One case, :data:`DEMO_CASE`, legal basis
``synthetic_demo``, scoped to the whole simulated district (an area around its sensors)
for :data:`DEMO_CASE_DAYS` days, opened by ``demo`` and approved by
``demo-supervisor``. Every step is written to the audit log like any other account or
case change, by the local operator ``local.demo``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tessera.workspace import Workspace

DEMO_CASE = "DEMO-1"
DEMO_CASE_DAYS = 30
CREDENTIALS_FILE = "DEMO-CREDENTIALS.txt"
OPERATOR = "local.demo"
ROLES = {"demo": "analyst", "demo-supervisor": "supervisor", "demo-auditor": "auditor"}
AREA_MARGIN_M = 1_000.0


@dataclass(frozen=True)
class DemoAccess:
    """What the demo made: account name -> (role, password), and the case ref."""

    accounts: dict[str, tuple[str, str]]
    case: str


def district_area(ws: Workspace) -> tuple[float, float, float]:
    """(lat, lon, radius_m): the sensors' mean position and the distance to the farthest
    one plus :data:`AREA_MARGIN_M`."""
    from tessera.dossier.assemble import metres

    rows = ws.engine.fetch_rows(
        "SELECT lat, lon FROM sensor WHERE lat IS NOT NULL AND lon IS NOT NULL"
    )
    if not rows:
        return (0.0, 0.0, AREA_MARGIN_M)
    lat = math.fsum(r[0] for r in rows) / len(rows)
    lon = math.fsum(r[1] for r in rows) / len(rows)
    radius = max(metres(lat, lon, r[0], r[1]) for r in rows) + AREA_MARGIN_M
    return (lat, lon, radius)


def set_up(ws: Workspace) -> DemoAccess:
    """Create the demo accounts and the approved demo case (see the module docstring);
    write the credentials file. For a fresh demo workspace only."""
    from tessera.accounts import add_user
    from tessera.audit import LegalBasis
    from tessera.cases import Scope, approve_case, open_case

    accounts = {name: (role, secrets.token_urlsafe(12)) for name, role in ROLES.items()}
    for name, (role, password) in accounts.items():
        add_user(ws, name, role, password, by=OPERATOR)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=DEMO_CASE_DAYS)
    open_case(
        ws,
        DEMO_CASE,
        title="Synthetic district demo",
        legal_basis=LegalBasis.SYNTHETIC_DEMO,
        scope=Scope(area=district_area(ws)),
        expires_at=expires,
        opened_by="demo",
    )
    approve_case(ws, DEMO_CASE, by="demo-supervisor")
    path = ws.path / CREDENTIALS_FILE
    lines = [f"{name} ({role}): {password}" for name, (role, password) in accounts.items()]
    path.write_text(
        "Tessera demo accounts (synthetic data only; made by `tessera demo`)\n"
        + "\n".join(lines)
        + f"\ncase: {DEMO_CASE}\n"
    )
    os.chmod(path, 0o600)
    return DemoAccess(accounts, DEMO_CASE)
