"""Read-only views over the exposure tables: an organisation's most exposed members and
population figures to compare with de Montjoye et al. (2013)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tessera.errors import StageError
from tessera.exposure import tables

if TYPE_CHECKING:
    from tessera.engines.base import Engine

_PERSON_FIELDS = (
    "subject", "name", "exposure", "linkability", "link_sources", "unicity_1", "unicity_2",
    "unicity_3", "unicity_4", "points_to_single_out", "predictability_max", "points",
    "devices", "vehicles",
)  # fmt: skip


def _require(engine: Engine) -> None:
    if tables.PERSON not in engine.table_names():
        raise StageError(f"{tables.PERSON} does not exist: run the exposure stage first")


def most_exposed(engine: Engine, organisation: str, limit: int = 20) -> list[dict[str, Any]]:
    """The members of ``organisation`` ranked by exposure, most exposed first.

    A member is a person entity one of whose resolved ``reg_person`` records
    (``resolution_record``) names the organisation (``organisation`` or
    ``organisation_latin``, compared case-insensitively and trimmed); each dict holds the
    person's ``exposure_person`` figures plus ``roles`` (the roles the records give)."""
    if limit < 1:
        raise StageError(f"most_exposed: limit must be positive, got {limit}")
    _require(engine)
    fields = ", ".join(f"e.{f}" for f in _PERSON_FIELDS)
    rows = engine.fetch_rows(
        f"""
WITH m AS (SELECT r.entity_id AS subject, list(DISTINCT p.role) FILTER
                  (WHERE p.role IS NOT NULL) AS roles
           FROM reg_person p JOIN resolution_record r ON r.kind = 'person' AND r.obs_id = p.obs_id
           WHERE lower(trim(p.organisation)) = lower(trim(?))
              OR lower(trim(p.organisation_latin)) = lower(trim(?))
           GROUP BY r.entity_id)
SELECT {fields}, m.roles FROM {tables.PERSON} e JOIN m USING (subject)
ORDER BY e.exposure DESC, e.subject LIMIT ?
""",
        [organisation, organisation, limit],
    )
    return [dict(zip((*_PERSON_FIELDS, "roles"), r, strict=True)) for r in rows]


def population_summary(engine: Engine, threshold: float = 0.5) -> dict[str, Any]:
    """Population figures over every person of ``exposure_person``: how many, the mean
    ``unicity_p`` over those with at least ``p`` points (de Montjoye et al.'s figure:
    the share of random ``p``-point sets that single a trace out, 95 % for ``p = 4`` at
    hourly antenna resolution), the share of persons with ``unicity_4 >= threshold``
    among those with 4 points, and the mean exposure and linkability."""
    _require(engine)
    means = ", ".join(f"avg(unicity_{p}), count(unicity_{p})" for p in range(1, 5))
    row = engine.fetch_rows(
        f"SELECT count(*), {means}, avg(CASE WHEN unicity_4 >= ? THEN 1.0 ELSE 0.0 END) "
        f"FILTER (WHERE unicity_4 IS NOT NULL), avg(exposure), avg(linkability), "
        f"median(points) FROM {tables.PERSON}",
        [threshold],
    )[0]
    out: dict[str, Any] = {"persons": int(row[0])}
    for p in range(1, 5):
        out[f"mean_unicity_{p}"] = None if row[2 * p - 1] is None else float(row[2 * p - 1])
        out[f"persons_with_{p}_points"] = int(row[2 * p])
    out["share_singled_out_by_4"] = None if row[9] is None else float(row[9])
    out["mean_exposure"] = None if row[10] is None else float(row[10])
    out["mean_linkability"] = None if row[11] is None else float(row[11])
    out["median_points"] = None if row[12] is None else float(row[12])
    return out
