"""The ``identifiers`` stage: every pivot value seen anywhere, and where.

For each value of a *pivot* type (phone numbers, IMSIs, IMEIs, plates,
identifiers, e-mails) it records how many rows of which sources carry it, and
when it was first and last observed. This is the "what else shares this value"
index that search and entity resolution start from. The SQL is generated from
the data model, so a new pivot property is indexed without touching this file.
"""

from __future__ import annotations

from collections.abc import Mapping

from tessera.engines.base import Engine, literal, quote
from tessera.stages import Stage

OUTPUT = "identifier"


def identifier_sql() -> str:
    """The stage's query (canonical dialect), built from the model's pivot properties."""
    from tessera.model import get_model
    from tessera.types import get_type

    parts = []
    for kind_name, kind in get_model().sources.items():
        time_prop = kind.time_property
        t = quote(time_prop) if time_prop else "CAST(NULL AS TIMESTAMPTZ)"
        for pname, prop in kind.properties.items():
            vtype = get_type(prop.type)
            if not vtype.pivot:
                continue
            parts.append(
                f"SELECT {literal(vtype.name)} AS value_type, "
                f"CAST({quote(pname)} AS VARCHAR) AS value, "
                f"{literal(kind_name)} AS kind, {literal(pname)} AS property, source, {t} AS t "
                f"FROM {quote(kind.table)} WHERE {quote(pname)} IS NOT NULL"
            )
    union = "\nUNION ALL\n".join(parts)
    return (
        "SELECT value_type, value, count(*) AS n_rows, "
        "count(DISTINCT kind || ':' || property) AS n_fields, "
        "list(DISTINCT source ORDER BY source) AS sources, "
        "list(DISTINCT kind || '.' || property ORDER BY kind || '.' || property) AS fields, "
        "min(t) AS first_seen, max(t) AS last_seen "
        f"FROM (\n{union}\n) GROUP BY value_type, value"
    )


def _run(engine: Engine) -> Mapping[str, int]:
    return {OUTPUT: engine.materialise(OUTPUT, identifier_sql())}


def _inputs() -> tuple[str, ...]:
    from tessera.model import get_model

    return tuple(k.table for k in get_model().sources.values())


STAGE = Stage(
    name="identifiers",
    description="Index every pivot value (phones, IMSIs, IMEIs, plates, ids) with its sources.",
    inputs=_inputs(),
    outputs=(OUTPUT,),
    run=_run,
)
