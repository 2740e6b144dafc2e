"""Metrics of second-phone and swap detection (``tessera.link.phones``).

Device keys are matched to the truth (``devices.parquet``) by their identifiers:
``imsi:X`` is the truth's devices with IMSI X (a handset swap keeps the SIM, so both
rows have one owner), ``imei:Y`` and the ``@imei:Y`` part of a swap key name the
handset with IMEI Y.

- ``linking.second_phone.precision|recall|f1``: a row of ``link_second_phone`` is right
  when its second is a truth second phone and its primary is a primary phone of the
  same person (either side of a swap). Recall is over the truth's second phones seen
  in the feeds (``link_device``); ``linking.second_phone.unobservable`` counts those never
  seen (a phone kept for meetings that fall outside the period).
- ``linking.device_swap.precision|recall|f1``: a row of ``link_device_swap`` is right when a
  truth swap of the same kind has the same old and new IMEIs (handset) or IMSIs
  (number) and a time within :data:`TIME_TOLERANCE_S`. Recall is over the swaps
  *observable* in the feeds: both IMEIs of a handset swap appear in some device event
  (operator B records no IMEI, so a handset swap on its SIM is visible only when the
  handset also reports GPS fixes), both IMSIs of a number swap do.
  ``linking.device_swap.unobservable`` counts the others;
  ``linking.device_swap.observable`` the scored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tessera.evaluate.harness import Provider, SkipProvider, precision_recall_f1
from tessera.link.cotravel import DEVICES
from tessera.link.phones import SECOND, SWAP

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.engines.base import Engine
    from tessera.evaluate.truth import Truth
    from tessera.workspace import Workspace

TIME_TOLERANCE_S = 86400
_DEVICE_COLUMNS = ["device_id", "person_id", "role", "imsi", "imei"]


@contextmanager
def _view(engine: Engine, name: str, data: pa.Table) -> Iterator[str]:
    engine.register_arrow(name, data)
    try:
        yield name
    finally:
        engine.unregister(name)


def _f1(prefix: str, correct: int, predicted: int, true: int) -> dict[str, float]:
    p, r, f = precision_recall_f1(correct, predicted, true)
    return {f"{prefix}.precision": p, f"{prefix}.recall": r, f"{prefix}.f1": f}


def _require_devices(engine: Engine) -> None:
    """Nothing to score (and no truth to read) when the feeds held no device."""
    if not engine.fetch_rows(f"SELECT 1 FROM {DEVICES} LIMIT 1"):
        raise SkipProvider(f"{DEVICES} is empty: no device event was ingested")


def second_phone_metrics(engine: Engine, truth: Truth) -> dict[str, float]:
    """Second-phone metrics of the workspace behind ``engine``."""
    _require_devices(engine)
    devices = truth.read("devices.parquet", _DEVICE_COLUMNS)
    with _view(engine, "_eval_devices", devices):
        rows = engine.fetch_rows(
            f"""
WITH d AS (SELECT 'imsi:' || imsi AS device, person_id, role FROM _eval_devices),
seconds AS (SELECT DISTINCT device, person_id FROM d WHERE role = 'second'),
seen AS (SELECT device FROM {DEVICES}),
p AS (SELECT x."primary", x.second, s.person_id,
             EXISTS (SELECT 1 FROM d WHERE d.device = x."primary" AND d.role = 'primary'
                     AND d.person_id = s.person_id AND s.person_id >= 0) AS ok
      FROM {SECOND} x LEFT JOIN seconds s ON s.device = x.second)
SELECT (SELECT count(*) FROM seconds WHERE device IN (SELECT device FROM seen)),
       (SELECT count(*) FROM seconds WHERE device NOT IN (SELECT device FROM seen)),
       (SELECT count(*) FROM p),
       (SELECT count(DISTINCT second) FROM p WHERE ok)
"""
        )
    true, unseen, predicted, correct = (int(v) for v in rows[0])
    if not true and not predicted:
        raise SkipProvider("the truth has no second phone seen in the feeds")
    out = _f1("linking.second_phone", correct, predicted, true)
    out["linking.second_phone.unobservable"] = float(unseen)
    return out


def swap_metrics(engine: Engine, truth: Truth) -> dict[str, float]:
    """Swap metrics of the workspace behind ``engine``."""
    _require_devices(engine)
    devices = truth.read("devices.parquet", _DEVICE_COLUMNS)
    swaps = truth.read("device_swaps.parquet", ["old_device_id", "new_device_id", "time", "kind"])
    with _view(engine, "_eval_devices", devices), _view(engine, "_eval_swaps", swaps):
        rows = engine.fetch_rows(
            f"""
WITH t AS (SELECT s.kind, s.time,
                  CASE WHEN s.kind = 'handset' THEN o.imei ELSE o.imsi END AS old_id,
                  CASE WHEN s.kind = 'handset' THEN n.imei ELSE n.imsi END AS new_id
           FROM _eval_swaps s JOIN _eval_devices o ON o.device_id = s.old_device_id
           JOIN _eval_devices n ON n.device_id = s.new_device_id),
ids AS (SELECT imei AS id FROM obs_device_event WHERE imei IS NOT NULL
        UNION SELECT imsi FROM obs_device_event WHERE imsi IS NOT NULL),
obs AS (SELECT t.*, old_id IN (SELECT id FROM ids) AND new_id IN (SELECT id FROM ids)
                    AS observable FROM t),
p AS (SELECT kind, time,
             regexp_extract(old, CASE WHEN kind = 'handset' THEN 'imei:([0-9]+)'
                                      ELSE 'imsi:([0-9]+)' END, 1) AS old_id,
             regexp_extract(new, CASE WHEN kind = 'handset' THEN 'imei:([0-9]+)'
                                      ELSE 'imsi:([0-9]+)' END, 1) AS new_id
      FROM {SWAP}),
hit AS (SELECT p.old_id AS p_old, p.new_id AS p_new, p.kind AS p_kind,
               obs.old_id, obs.new_id, obs.kind
        FROM p JOIN obs ON obs.observable AND obs.kind = p.kind AND obs.old_id = p.old_id
        AND obs.new_id = p.new_id
        AND abs(epoch(p.time) - epoch(obs.time)) <= {TIME_TOLERANCE_S})
SELECT (SELECT count(*) FROM obs WHERE observable),
       (SELECT count(*) FROM obs WHERE NOT observable),
       (SELECT count(*) FROM p),
       (SELECT count(DISTINCT (p_kind, p_old, p_new)) FROM hit),
       (SELECT count(DISTINCT (kind, old_id, new_id)) FROM hit)
"""
        )
    true, unobservable, predicted, correct, found = (int(v) for v in rows[0])
    if not true and not predicted:
        raise SkipProvider("the truth has no device swap observable in the feeds")
    precision = precision_recall_f1(correct, predicted, true)[0]
    recall = precision_recall_f1(found, predicted, true)[1]
    total = precision + recall
    return {
        "linking.device_swap.precision": precision,
        "linking.device_swap.recall": recall,
        "linking.device_swap.f1": 2 * precision * recall / total if total else 0.0,
        "linking.device_swap.observable": float(true),
        "linking.device_swap.unobservable": float(unobservable),
    }


def _second(ws: Workspace, truth: Truth) -> dict[str, float]:
    return second_phone_metrics(ws.engine, truth)


def _swap(ws: Workspace, truth: Truth) -> dict[str, float]:
    return swap_metrics(ws.engine, truth)


PROVIDERS = (
    Provider(
        name="linking.second_phone",
        prefix="linking",
        description="Second phones found with the right primary phone.",
        compute=_second,
        tables=(DEVICES, SECOND),
        truth_files=("devices.parquet",),
    ),
    Provider(
        name="linking.device_swap",
        prefix="linking",
        description="Handset and number swaps found, of those observable in the feeds.",
        compute=_swap,
        tables=(SWAP, "obs_device_event"),
        truth_files=("devices.parquet", "device_swaps.parquet"),
    ),
)
