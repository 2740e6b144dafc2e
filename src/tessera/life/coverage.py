"""Where a device served by a sector can be: sector coverage over the district's buildings.

A generic radio model places a device that a cell sector serves. Each building of the
address register (``reg_address``, the positions people are at) gets the signal of every
sector of each network within :data:`REACH_M`: log-distance path loss (exponent 3.5) and
the parabolic sector antenna pattern of 3GPP TR 36.814, the model ``cotravel`` uses for
cameras (:func:`tessera.link.keys.signal_db_sql`). The chance that a device in the
building is served by a sector is a softmax of the signals of its network with a
temperature of :data:`SOFTMAX_DB` dB: the strongest sector serves, and near a boundary the
runner-up often does (tower ping-pong). Buildings are joined to sectors on a grid key with
its neighbouring cells (an equality join), never a distance filter alone.

Tables:

- ``life_coverage(sensor_id, building, lat, lon, p)``: P(sector | device in building),
  kept where ``p >= MIN_P``;
- ``life_sector(sensor_id, lat, lon, spread_m)``: where a device the sector serves is on
  average (the p-weighted centroid of the buildings it serves) and how far from that
  centroid (the weighted root mean square distance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.engines.base import exact_sum
from tessera.link.keys import haversine_sql, off_azimuth_sql, signal_db_sql

if TYPE_CHECKING:
    from tessera.engines.base import Engine

COVERAGE = "life_coverage"
SECTORS = "life_sector"

# Sectors farther than this from a building do not serve it.
REACH_M = 3000.0
# Grid cell of the equality join (with neighbouring cells it covers REACH_M).
CELL_M = 3000.0
# Softmax temperature of the serving chance (dB).
SOFTMAX_DB = 2.0
# Coverage rows with a smaller chance are dropped.
MIN_P = 1e-4
# Metres per degree of latitude.
M_PER_DEG = 111_195.0


def _cell(lat: str, lon: str, dlat: str = "0", dlon: str = "0") -> str:
    """Grid cell key (an integer pair packed in a BIGINT) of a point, shifted by cells."""
    y = f"(CAST(floor({lat} * {M_PER_DEG} / {CELL_M}) AS BIGINT) + {dlat})"
    x = f"(CAST(floor({lon} * {M_PER_DEG} * cos(radians({lat})) / {CELL_M}) AS BIGINT) + {dlon})"
    return f"({y} * 1000003 + {x})"


def coverage_sql() -> str:
    """``(sensor_id, building, lat, lon, p)`` for every building and sector in reach."""
    dist = haversine_sql("s.lat", "s.lon", "bk.lat", "bk.lon")
    shifts = " UNION ALL ".join(
        f"SELECT {dy} AS dy, {dx} AS dx" for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )
    return f"""
WITH b AS (SELECT record_id AS building, any_value(lat) AS lat, any_value(lon) AS lon
           FROM reg_address WHERE lat IS NOT NULL AND lon IS NOT NULL GROUP BY record_id),
bk AS (SELECT b.*, {_cell("b.lat", "b.lon", "sh.dy", "sh.dx")} AS cell
       FROM b, ({shifts}) sh),
s AS (SELECT sensor_id, any_value(source) AS source, any_value(lat) AS lat,
             any_value(lon) AS lon, any_value(azimuth_deg) AS azimuth_deg,
             coalesce(any_value(beamwidth_deg), 65) AS bw,
             {_cell("any_value(lat)", "any_value(lon)")} AS cell
      FROM sensor WHERE kind = 'cell_sector' AND lat IS NOT NULL AND lon IS NOT NULL
      GROUP BY sensor_id),
d AS (SELECT s.sensor_id, s.source, bk.building, bk.lat, bk.lon, {dist} AS distance_m,
             {off_azimuth_sql("s", "bk")} AS off_deg, s.bw
      FROM s JOIN bk USING (cell)),
g AS (SELECT sensor_id, source, building, lat, lon,
             {signal_db_sql("distance_m", "off_deg", "bw")} AS signal_db
      FROM d WHERE distance_m <= {REACH_M}),
e AS (SELECT sensor_id, building, lat, lon,
             exp((signal_db - max(signal_db) OVER (PARTITION BY building, source))
                 / {SOFTMAX_DB}) AS w, source
      FROM g),
p AS (SELECT sensor_id, building, lat, lon,
             w / {exact_sum("w", "PARTITION BY building, source")} AS p FROM e)
SELECT sensor_id, building, lat, lon, p FROM p WHERE p >= {MIN_P}
"""


def sector_sql(coverage: str = COVERAGE) -> str:
    """``(sensor_id, lat, lon, spread_m)``: the mean place of a device a sector serves."""
    return f"""
WITH c AS (SELECT sensor_id, {exact_sum("p * lat")} / {exact_sum("p")} AS lat,
                  {exact_sum("p * lon")} / {exact_sum("p")} AS lon
           FROM {coverage} GROUP BY sensor_id)
SELECT c.sensor_id, c.lat, c.lon,
       sqrt({exact_sum(f"v.p * pow({haversine_sql('c.lat', 'c.lon', 'v.lat', 'v.lon')}, 2)")}
            / {exact_sum("v.p")}) AS spread_m
FROM c JOIN {coverage} v USING (sensor_id)
GROUP BY c.sensor_id, c.lat, c.lon
"""


def build(engine: Engine) -> dict[str, int]:
    """Write :data:`COVERAGE` and :data:`SECTORS`."""
    return {
        COVERAGE: engine.materialise(COVERAGE, coverage_sql()),
        SECTORS: engine.materialise(SECTORS, sector_sql()),
    }
