"""Writing every dossier at the end of a build, and reading one back under audit."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tessera.dossier.tables import COLUMNS, DOSSIER
from tessera.errors import DossierError

if TYPE_CHECKING:
    from tessera.audit import Access
    from tessera.engines.base import Engine
    from tessera.workspace import Workspace

BATCH = 2_000
ZLIB_LEVEL = 1  # fastest; level 3 saves little more on dossiers and costs build time


def encode(dossier: dict[str, Any]) -> bytes:
    """A dossier as stored: compact UTF-8 JSON, zlib-compressed."""
    text = json.dumps(dossier, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode("utf-8"), ZLIB_LEVEL)


def decode(body: bytes) -> dict[str, Any]:
    """The dossier a stored ``body`` holds."""
    data: dict[str, Any] = json.loads(zlib.decompress(body))
    return data


def write_all(engine: Engine) -> dict[str, int]:
    """Assemble every person's dossier and store it in the ``dossier`` table."""
    import pyarrow as pa

    from tessera.dossier.assemble import assemble

    engine.execute(f"CREATE OR REPLACE TABLE {DOSSIER} ({COLUMNS[DOSSIER]})")
    schema = pa.schema(
        [
            ("person", pa.string()),
            ("name", pa.string()),
            ("exposure", pa.float64()),
            ("organisations", pa.list_(pa.string())),
            ("roles", pa.list_(pa.string())),
            ("schema_id", pa.string()),
            ("body", pa.binary()),
        ]
    )
    rows: list[dict[str, Any]] = []
    written = 0

    def flush() -> None:
        nonlocal written
        if rows:
            engine.append_arrow(DOSSIER, pa.Table.from_pylist(rows, schema=schema))
            written += len(rows)
            rows.clear()

    for d in assemble(engine):
        exposure = (d.get("exposure") or {}).get("exposure")
        rows.append(
            {
                "person": d["person"],
                "name": d["name"],
                "exposure": exposure,
                "organisations": d["identities"]["organisations"],
                "roles": d["identities"]["roles"],
                "schema_id": d["schema"],
                "body": encode(d),
            }
        )
        if len(rows) >= BATCH:
            flush()
    flush()
    # reads are point lookups by person: an index (ART) makes them cheaper (on the
    # district tier's 20,519 dossiers 1.5 ms a lookup instead of 2.2 ms)
    engine.execute(f"CREATE UNIQUE INDEX {DOSSIER}_person ON {DOSSIER} (person)")
    return {DOSSIER: written}


def _body(ws: Workspace, person: str) -> bytes:
    """The stored (compressed) dossier of ``person``. One query when it is there: the
    table's existence is looked up only when the query fails."""
    from tessera.errors import EngineError

    try:
        rows = ws.engine.fetch_rows(f"SELECT body FROM {DOSSIER} WHERE person = ?", [person])
    except EngineError:
        if DOSSIER not in ws.engine.table_names():
            raise DossierError(
                f"workspace {ws.path} has no dossiers yet: run `tessera build {ws.path}` first"
            ) from None
        raise
    if not rows:
        near = ws.engine.fetch_rows(
            f"SELECT person, name FROM {DOSSIER} WHERE person ILIKE ? OR name ILIKE ? "
            "ORDER BY person LIMIT 5",
            [f"%{person}%", f"%{person}%"],
        )
        hint = (
            "; did you mean " + ", ".join(f"{p} ({n})" for p, n in near) + "?"
            if near
            else "; `tessera find` lists people"
        )
        raise DossierError(f"no dossier for {person!r} in {ws.path}{hint}")
    return bytes(rows[0][0])


def read(ws: Workspace, person: str, access: Access) -> dict[str, Any]:
    """One person's dossier; the read is written to the audit log first, refused
    reads included (an audit that only lists successes hides probing)."""
    from tessera.audit import audited

    body = audited(ws, access, "dossier.read", person, lambda: _body(ws, person), lambda _: 1)
    return decode(body)


def read_json(ws: Workspace, person: str, access: Access) -> bytes:
    """:func:`read`, as the UTF-8 JSON text the dossier is stored as (compact, keys in
    their stored order): what ``json.dumps(read(...), ensure_ascii=False,
    separators=(",", ":"))`` would give, without parsing and writing it again. A body
    that holds a non-finite number (``NaN``, ``Infinity``: not JSON) is parsed and
    written strictly, which refuses it."""
    from tessera.audit import audited

    body = audited(ws, access, "dossier.read", person, lambda: _body(ws, person), lambda _: 1)
    text = zlib.decompress(body)
    if b"NaN" in text or b"Infinity" in text:
        strict = json.dumps(
            json.loads(text), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        return strict.encode("utf-8")
    return text


def read_all(
    ws: Workspace, access: Access, persons: set[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every dossier (or those of ``persons``), in person order (one audit entry for the
    whole export)."""
    from tessera.audit import record

    if DOSSIER not in ws.engine.table_names():
        raise DossierError(f"workspace {ws.path} has no dossiers yet: run `tessera build`")
    if persons is None:
        total = ws.engine.row_count(DOSSIER)
        target = "dossiers:*"
    else:
        listed = ws.engine.fetch_rows(f"SELECT person FROM {DOSSIER}")
        total = sum(1 for (p,) in listed if p in persons)
        target = f"dossiers:case scope ({total})"
    record(ws, access, action="export", target=target, result_size=total)
    last = ""
    while True:
        page = ws.engine.fetch_rows(
            f"SELECT person, body FROM {DOSSIER} WHERE person > ? ORDER BY person LIMIT ?",
            [last, BATCH],
        )
        if not page:
            return
        for person, body in page:
            if persons is None or person in persons:
                yield decode(body)
            last = person
