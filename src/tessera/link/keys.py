"""SQL shared by the linking and pattern-of-life stages: device keys and distances."""

from __future__ import annotations


def haversine_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Great-circle distance in metres between two points (SQL expression)."""
    return (
        f"(12742000.0 * asin(sqrt(pow(sin(radians({lat2} - {lat1}) / 2), 2) + "
        f"cos(radians({lat1})) * cos(radians({lat2})) * "
        f"pow(sin(radians({lon2} - {lon1}) / 2), 2))))"
    )


def device_events_sql() -> str:
    """Every device event with its device key (``imsi:<IMSI>`` or ``imei:<IMEI>``).

    Events that carry only an IMEI (handset GPS fixes) are put on the SIM that the
    same IMEI was seen with at that time in network events, when there is one."""
    return """
SELECT coalesce('imsi:' || e.imsi, 'imsi:' || l.imsi, 'imei:' || e.imei) AS device,
       coalesce(e.imsi, l.imsi) AS imsi, e.msisdn, e.imei, e.time, e.sensor_id,
       e.lat, e.lon, e.obs_id, e.source
FROM obs_device_event e
LEFT JOIN (SELECT imei, imsi, min(time) AS t0, max(time) AS t1 FROM obs_device_event
           WHERE imei IS NOT NULL AND imsi IS NOT NULL GROUP BY imei, imsi) l
  ON e.imsi IS NULL AND e.imei = l.imei AND e.time BETWEEN l.t0 AND l.t1
"""
