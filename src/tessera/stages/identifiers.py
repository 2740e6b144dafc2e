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


def columns_sql() -> str:
    """One row per pivot value, column and source (canonical dialect): how many rows
    carry it, first and last seen. Grouped per column (a hash aggregate, which spills
    to disk), built from the model's pivot properties."""
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
                f"{literal(kind_name)} AS kind, {literal(pname)} AS property, source, "
                f"count(*) AS n, min({t}) AS lo, max({t}) AS hi "
                f"FROM {quote(kind.table)} WHERE {quote(pname)} IS NOT NULL "
                f"GROUP BY {quote(pname)}, source"
            )
    return "\nUNION ALL\n".join(parts)


def identifier_sql(columns: str) -> str:
    """The index from ``columns`` (a table of :func:`columns_sql`'s rows). A value seen
    in one column of one source (most: a plate read's own id) is written as it is;
    only the others go through the list aggregates, which the engine holds in memory
    (on 34 million plate reads these exhausted 11 GB when every value went through
    them)."""
    return f"""
WITH k AS (SELECT value_type, value, count(*) AS places FROM {columns}
           GROUP BY value_type, value)
SELECT c.value_type, c.value, c.n AS n_rows, CAST(1 AS BIGINT) AS n_fields,
       [c.source] AS sources, [c.kind || '.' || c.property] AS fields,
       c.lo AS first_seen, c.hi AS last_seen
FROM {columns} c JOIN k ON k.value_type = c.value_type AND k.value = c.value
WHERE k.places = 1
UNION ALL
SELECT c.value_type, c.value, CAST(sum(c.n) AS BIGINT) AS n_rows,
       count(DISTINCT c.kind || ':' || c.property) AS n_fields,
       list(DISTINCT c.source ORDER BY c.source) AS sources,
       list(DISTINCT c.kind || '.' || c.property ORDER BY c.kind || '.' || c.property) AS fields,
       min(c.lo) AS first_seen, max(c.hi) AS last_seen
FROM {columns} c JOIN k ON k.value_type = c.value_type AND k.value = c.value
WHERE k.places > 1
GROUP BY c.value_type, c.value
"""


def _run(engine: Engine) -> Mapping[str, int]:
    with engine.temp_tables() as temp:
        temp("_identifier_columns", columns_sql())
        return {OUTPUT: engine.materialise(OUTPUT, identifier_sql("_identifier_columns"))}


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
