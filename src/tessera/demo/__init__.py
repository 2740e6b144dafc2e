"""Sample feeds for ``tessera demo``: every source kind, in the formats and with the
dirt an operator meets (semicolons and Latin-1, local times without zones, epoch
milliseconds, national phone numbers, Hanzi and pinyin, OCR-confused plates, and
some rows that must be quarantined).

This is a small stand-in for the synthetic city (issue 3), which will replace it as
the demo's data; it has no hidden truth and scores nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

_GIVEN = ["Anna", "Jonas", "Marie", "Lukas", "Sofia", "Paul", "Emma", "Felix", "Lena", "Max"]
_FAMILY = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"]
_HANZI = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen")]
_HANZI_GIVEN = [
    ("小明", "Xiaoming"),
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("静", "Jing"),
    ("强", "Qiang"),
]
_RU = ["Ivanov", "Smirnov", "Kuznetsov", "Popov", "Volkov"]
_RU_GIVEN = ["Sergei", "Olga", "Dmitri", "Natalia", "Alexei"]
_OCR = {"0": "O", "O": "0", "1": "I", "8": "B", "5": "S", "2": "Z"}


def write_sample(out: Path, *, seed: int = 7, persons: int = 400, days: int = 7) -> list[Path]:
    """Write sample feeds and their mappings under ``out``; return the mapping paths."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    src = out / "sources"
    maps = out / "mappings"
    src.mkdir(parents=True, exist_ok=True)
    maps.mkdir(parents=True, exist_ok=True)
    (out / "DEMO").write_text("made by `tessera demo`; safe to delete\n")
    lat0, lon0 = 52.515, 13.385

    # Sensors: plate cameras and 3-sector cell sites.
    sensor_rows = ["sensor_id,kind,lat,lon,azimuth_deg,range_m,site_id"]
    cams = [f"CAM{i:03d}" for i in range(40)]
    for cam in cams:
        la, lo = lat0 + rng.normal(0, 0.012), lon0 + rng.normal(0, 0.018)
        sensor_rows.append(f"{cam},plate_camera,{la:.6f},{lo:.6f},,,")
    sectors = []
    for s in range(30):
        la, lo = lat0 + rng.normal(0, 0.015), lon0 + rng.normal(0, 0.022)
        for k, az in enumerate((0, 120, 240)):
            sid = f"262-01-{1000 + s}-{k + 1}"
            sectors.append(sid)
            sensor_rows.append(f"{sid},cell_sector,{la:.6f},{lo:.6f},{az},1500,SITE{1000 + s}")
    sensor_rows.append("BROKEN01,cell_sector,95.1,13.4,0,1500,SITEX")  # latitude out of range
    (src / "sensors.csv").write_text("\n".join(sensor_rows) + "\n", encoding="utf-8")

    # People: a registry in Latin-1 with semicolons and German dates.
    people = []
    for i in range(persons):
        r = rng.random()
        if r < 0.6:
            name = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
        elif r < 0.8:
            fam, giv = (
                _HANZI[rng.integers(len(_HANZI))],
                _HANZI_GIVEN[rng.integers(len(_HANZI_GIVEN))],
            )
            name = f"{fam[1].upper()} {giv[1]}"
        else:
            name = f"{rng.choice(_RU_GIVEN)} {rng.choice(_RU)}"
        born = f"{rng.integers(1, 29):02d}.{rng.integers(1, 13):02d}.{rng.integers(1950, 2004)}"
        people.append((f"P{i:05d}", name, born))
    lines = ["Kennung;Name;Geburtsdatum;Staatsangehoerigkeit;Telefon"]
    for pid, name, born in people:
        lines.append(f"{pid};{name};{born};DE;030 {rng.integers(1000000, 9999999)}")
    lines.append("P99998;Erika Mustermann;31.02.1980;DE;030 1234567")  # impossible date
    lines.append("P99999;;01.01.1990;DE;")  # no name at all
    (src / "residents.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1", "replace"))

    # Phones: subscriptions (Parquet) and device events (Parquet, tz-aware UTC).
    msisdn = [f"+49151{rng.integers(10_000_000, 99_999_999)}" for _ in range(persons)]
    imsi = [f"26201{rng.integers(10**9, 10**10 - 1)}" for _ in range(persons)]
    sub = {
        "MSISDN": [m.replace("+49", "0") for m in msisdn],
        "IMSI": imsi,
        "SUBSCRIBER": [p[1] if rng.random() > 0.15 else None for p in people],
        "CONTRACT": [str(rng.choice(["PREPAID", "POSTPAID"])) for _ in people],
    }
    pq.write_table(pa.table(sub), src / "subscriptions.parquet")
    n_events = persons * days * 60
    who = rng.integers(0, persons, n_events)
    start = np.datetime64("2026-03-02T00:00:00")
    offs = rng.integers(0, days * 86400, n_events).astype("timedelta64[s]")
    events = pa.table(
        {
            "msisdn": pa.array([msisdn[w] for w in who]),
            "event_time": pa.array((start + offs).astype("datetime64[ms]")).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            "event": pa.array(rng.choice(["LU", "MOC", "MTC", "SMS-MO", "DATA"], n_events)),
            "cell": pa.array([sectors[i] for i in rng.integers(0, len(sectors), n_events)]),
        }
    )
    pq.write_table(events, src / "device_events.parquet")

    # Vehicles and plate reads (local time without zone, OCR confusions, bad confidence).
    plates = [
        f"B-{''.join(rng.choice(list('ABCDEFGHKLMNPRSTUVWXYZ'), 2))} {rng.integers(10, 9999)}"
        for _ in range(persons // 2)
    ]
    vlines = ["plate_no,make,colour,keeper"]
    for i, p in enumerate(plates):
        vlines.append(
            f"{p},{rng.choice(['VW', 'BMW', 'Audi', 'Toyota'])},"
            f"{rng.choice(['black', 'silver', 'white'])},{people[i][1]}"
        )
    (src / "vehicles.csv").write_text("\n".join(vlines) + "\n", encoding="utf-8")
    rlines = ["camera,plate,seen_local,conf"]
    for _ in range(persons * days * 4):
        p = plates[rng.integers(len(plates))].replace("-", "").replace(" ", "")
        if rng.random() < 0.05:
            j = rng.integers(len(p))
            p = p[:j] + _OCR.get(p[j], p[j]) + p[j + 1 :]
        t = start + np.timedelta64(int(rng.integers(0, days * 86400)), "s")
        stamp = str(t).replace("T", " ")
        rlines.append(f"{rng.choice(cams)},{p},{stamp},{rng.uniform(0.55, 0.99):.2f}")
    rlines.append(f"CAM001,B XY 123,{str(start).replace('T', ' ')},1.7")  # confidence > 1
    (src / "plate_reads.csv").write_text("\n".join(rlines) + "\n", encoding="utf-8")

    # Communications as JSON Lines with epoch milliseconds; contact lists as CSV.
    t0_ms = int(start.astype("datetime64[ms]").astype(np.int64))
    with open(src / "communications.jsonl", "w", encoding="utf-8") as fh:
        for _ in range(persons * days * 3):
            a, b = rng.integers(0, persons, 2)
            kind = str(rng.choice(["voice", "sms"]))
            rec = {
                "a_party": msisdn[a],
                "b_party": msisdn[b],
                "kind": kind,
                "ts": t0_ms + int(rng.integers(0, days * 86400_000)),
                "dur": int(rng.exponential(90)) if kind == "voice" else None,
            }
            fh.write(json.dumps(rec) + "\n")
        fh.write("{not json}\n")
    clines = ["owner,number,name"]
    for a in range(0, persons, 3):
        for b in rng.integers(0, persons, 5):
            clines.append(f"{msisdn[a]},{msisdn[b]},{people[b][1]}")
    (src / "contacts.csv").write_text("\n".join(clines) + "\n", encoding="utf-8")

    mappings = {
        "sensors": {
            "source": "sensor_inventory",
            "kind": "sensor",
            "files": ["../sources/sensors.csv"],
            "properties": {
                "sensor_id": "sensor_id",
                "kind": "kind",
                "lat": "lat",
                "lon": "lon",
                "azimuth_deg": "azimuth_deg",
                "range_m": "range_m",
                "site_id": "site_id",
            },
        },
        "residents": {
            "source": "residents_registry",
            "kind": "registry.person",
            "files": ["../sources/residents.csv"],
            "csv": {"delimiter": ";", "encoding": "latin-1"},
            "phone_region": "DE",
            "properties": {
                "record_id": "Kennung",
                "full_name": "Name",
                "birth_date": {"column": "Geburtsdatum", "format": "%d.%m.%Y"},
                "nationality": "Staatsangehoerigkeit",
                "phone": "Telefon",
            },
        },
        "subscriptions": {
            "source": "operator_subscribers",
            "kind": "registry.subscription",
            "files": ["../sources/subscriptions.parquet"],
            "phone_region": "DE",
            "properties": {
                "msisdn": "MSISDN",
                "imsi": "IMSI",
                "subscriber_name": "SUBSCRIBER",
                "contract": {"column": "CONTRACT"},
            },
        },
        "device_events": {
            "source": "operator_events",
            "kind": "device_event",
            "files": ["../sources/device_events.parquet"],
            "properties": {
                "msisdn": "msisdn",
                "time": "event_time",
                "sensor_id": "cell",
                "event_type": {
                    "column": "event",
                    "values": {
                        "LU": "location_update",
                        "MOC": "call",
                        "MTC": "call",
                        "SMS-MO": "sms",
                        "DATA": "data",
                    },
                },
            },
        },
        "vehicles": {
            "source": "vehicle_register",
            "kind": "registry.vehicle",
            "files": ["../sources/vehicles.csv"],
            "properties": {
                "plate": "plate_no",
                "make": "make",
                "colour": "colour",
                "owner_name": "keeper",
            },
        },
        "plate_reads": {
            "source": "city_anpr",
            "kind": "plate_read",
            "files": ["../sources/plate_reads.csv"],
            "timezone": "Europe/Berlin",
            "properties": {
                "camera_id": "camera",
                "plate": "plate",
                "time": {"column": "seen_local", "format": "%Y-%m-%d %H:%M:%S"},
                "confidence": "conf",
            },
        },
        "communications": {
            "source": "operator_cdr",
            "kind": "communication",
            "files": ["../sources/communications.jsonl"],
            "properties": {
                "from_number": "a_party",
                "to_number": "b_party",
                "time": {"column": "ts", "format": "epoch_ms"},
                "channel": {"column": "kind", "values": {"voice": "call"}},
                "duration_s": "dur",
            },
        },
        "contacts": {
            "source": "seized_contacts",
            "kind": "contact_list",
            "files": ["../sources/contacts.csv"],
            "properties": {
                "owner_number": "owner",
                "listed_number": "number",
                "listed_name": "name",
            },
        },
    }
    import yaml

    paths = []
    for name, body in mappings.items():
        path = maps / f"{name}.yaml"
        path.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), "utf-8")
        paths.append(path)
    return paths
