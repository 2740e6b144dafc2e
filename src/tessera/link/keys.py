"""SQL shared by the linking and pattern-of-life stages: device keys and distances."""

from __future__ import annotations


def haversine_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Great-circle distance in metres between two points (SQL expression)."""
    return (
        f"(12742000.0 * asin(sqrt(pow(sin(radians({lat2} - {lat1}) / 2), 2) + "
        f"cos(radians({lat1})) * cos(radians({lat2})) * "
        f"pow(sin(radians({lon2} - {lon1}) / 2), 2))))"
    )


def off_azimuth_sql(site: str, point: str) -> str:
    """Degrees (0-180) between a sector's azimuth and the bearing from its site (table
    alias ``site`` with lat, lon, azimuth_deg) to a point (alias ``point``); 0 for a
    sector without an azimuth (omnidirectional)."""
    bearing = (
        f"degrees(atan2(radians({point}.lon - {site}.lon) * cos(radians({site}.lat)), "
        f"radians({point}.lat - {site}.lat)))"
    )
    return (
        f"CASE WHEN {site}.azimuth_deg IS NULL THEN 0.0 "
        f"ELSE abs((({bearing} - {site}.azimuth_deg + 540) % 360) - 180) END"
    )


def signal_db_sql(distance_m: str, off_deg: str, beamwidth_deg: str) -> str:
    """Predicted signal (dB, up to a constant) of a sector at a point: a generic
    log-distance path loss (exponent 3.5, distances under 30 m count as 30 m) with the
    parabolic sector antenna pattern of 3GPP TR 36.814 (``-min(12 (off/bw)^2, 20)``)."""
    return (
        f"(-35 * log10(greatest({distance_m}, 30)) "
        f"- least(12 * pow({off_deg} / {beamwidth_deg}, 2), 20))"
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
