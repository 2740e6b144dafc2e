"""Writing a simulated district: sources, mappings, truth and the manifest.

People are simulated in blocks (their stays, trips, device events, GPS fixes and plate
reads), and each block is appended to the output files before the next is planned, so
memory stays bounded whatever the number of people. Everything random draws from
streams keyed by the seed and the block, so the same seed and parameters give
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.errors import TesseraError

if TYPE_CHECKING:
    import pyarrow as pa

    from tessera.simulate.feeds import Feed

TIERS: dict[str, tuple[int, int]] = {
    "small": (2_000, 14),
    "district": (20_000, 30),
    "city": (200_000, 30),
}
START = dt.date(2026, 10, 5)  # a Monday; 30 days span the end of summer time
OPERATOR_A_CELL = "262-01-"  # operator A names sectors with its network code first
# operator B's own event names for the network codes in sensors.EVENT_CODES
OPERATOR_B_EVENTS = {"LU": "loc_update", "DATA": "data_session", "HO": "handover",
                     "MOC": "call_out", "MTC": "call_in", "SMS-MO": "sms_out",
                     "SMS-MT": "sms_in"}  # fmt: skip
BLOCK_PERSONS = 5_000
Progress = Callable[[str, int, int], None]


class SimulationError(TesseraError):
    """The simulation cannot be written as asked."""


@dataclass
class _Sink:
    """One output file written in pieces (Parquet or CSV)."""

    path: Path
    csv: dict[str, Any] = field(default_factory=dict)
    writer: Any = None
    rows: int = 0

    def write(self, table: pa.Table) -> None:
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.suffix == ".parquet":
                self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            else:
                options = pcsv.WriteOptions(delimiter=self.csv.get("delimiter", ","))
                self.writer = pcsv.CSVWriter(str(self.path), table.schema, write_options=options)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_table(path: Path, table: pa.Table, csv: dict[str, Any] | None = None) -> int:
    """Write one whole table (CSV with the given delimiter and encoding, or Parquet)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    # dictionary columns are written decoded: the same values then give the same bytes,
    # whatever dictionary (order, unused entries) the producer built
    plain = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    table = table.cast(pa.schema(plain))
    if path.suffix == ".parquet":
        pq.write_table(table, path, compression="zstd")
        return int(table.num_rows)
    csv = csv or {}
    buffer = pa.BufferOutputStream()
    pcsv.write_csv(table, buffer, pcsv.WriteOptions(delimiter=csv.get("delimiter", ",")))
    text = buffer.getvalue().to_pybytes().decode("utf-8")
    path.write_bytes(text.encode(csv.get("encoding", "utf-8"), errors="replace"))
    return int(table.num_rows)


def simulate(
    out: Path,
    *,
    persons: int,
    days: int,
    seed: int,
    tier: str | None = None,
    start: dt.date = START,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Simulate ``persons`` people for ``days`` days and write everything under ``out``.
    Returns the manifest."""

    from tessera._version import __version__
    from tessera.simulate.assets import build_assets
    from tessera.simulate.comms import (
        build_communications,
        build_contact_lists,
        communication_feed,
        contact_feed,
    )
    from tessera.simulate.movement import MovementModel
    from tessera.simulate.population import build_population
    from tessera.simulate.registries import build_registries
    from tessera.simulate.routine import Planner
    from tessera.simulate.sensors import SensorModel
    from tessera.simulate.world import build_world

    if out.exists() and any(out.iterdir()):
        raise SimulationError(f"{out} exists and is not empty; choose another folder")
    if days < 1 or days > 366:
        raise SimulationError(f"days must be 1..366, got {days}")
    if persons < 20:
        raise SimulationError(f"persons must be at least 20, got {persons}")
    report = progress or (lambda stage, done, total: None)
    n_blocks = (persons + BLOCK_PERSONS - 1) // BLOCK_PERSONS
    steps = 6 + n_blocks
    step = 0

    def advance(stage: str) -> None:
        nonlocal step
        step += 1
        report(stage, step, steps)

    report("world and people", 0, steps)
    world = build_world(seed)
    pop = build_population(world, persons, seed)
    planner = Planner(world, pop, start, days, seed)
    meetings_only = planner.schedule(range(0))
    assets = build_assets(world, pop, meetings_only, start, days, seed)
    advance("communications")
    comms = build_communications(pop, assets, meetings_only, seed)
    contacts = build_contact_lists(pop, assets, meetings_only, seed)
    advance("registries")
    feeds: list[Feed] = [*build_registries(world, pop, assets, seed)]
    feeds += [communication_feed(comms), contact_feed(contacts)]
    movement_model = MovementModel(world, assets, start, days, seed)
    sensors = SensorModel(world, assets, pop.person_home, seed)
    advance("sensors")
    truth = out / "truth"
    streams = _Streams(out, assets, world, seed)
    # communication ends, by the owner of the device, for the events at both ends
    end_dev = np.concatenate([comms.from_device, comms.to_device])
    end_t = np.concatenate([comms.time, comms.time])
    is_call = np.asarray(comms.is_call)
    end_code = np.concatenate([np.where(is_call, 3, 5), np.where(is_call, 4, 6)]).astype(np.int8)
    keep = end_dev >= 0
    end_dev, end_t, end_code = end_dev[keep], end_t[keep], end_code[keep]
    owner = assets.device_person[end_dev]
    order = np.argsort(owner, kind="stable")
    end_dev, end_t, end_code, owner = end_dev[order], end_t[order], end_code[order], owner[order]
    use: list[np.ndarray] = []  # (vehicle, person, 0 driver / 1 passenger) per driven trip
    trip_offset = 0
    for b in range(n_blocks):
        who = range(b * BLOCK_PERSONS, min(persons, (b + 1) * BLOCK_PERSONS))
        stays = planner.schedule(who)
        movement = movement_model.block(stays, b, n_blocks)
        streams.stays.write(movement.stays.stays_table())
        streams.trips.write(movement.trips_table(trip_offset))
        trip_offset += len(movement.trip_person)
        driven = movement.trip_vehicle >= 0
        passenger = movement.trip_mode[driven] != "car"
        use.append(
            np.stack([movement.trip_vehicle[driven], movement.trip_person[driven], passenger], 1)
        )
        lo, hi = np.searchsorted(owner, [who.start, who.stop])
        events = sensors.device_events(
            movement, who, end_t[lo:hi], end_dev[lo:hi], end_code[lo:hi], b
        )
        streams.events(events)
        streams.gps(*sensors.gps_fixes(movement, who, b))
        streams.reads(sensors.plate_reads(movement, b), b)
        advance(f"people {who.stop:,} of {persons:,}")
    streams.reads(sensors.through_traffic(movement_model.router, max(50, persons // 4)), n_blocks)
    visitor_events, visitors = sensors.visitors(max(20, persons // 10), len(assets.device_person))
    streams._set_ids(visitors)
    streams.events(visitor_events)
    streams.close()
    advance("truth")
    # static truth
    write_table(truth / "buildings.parquet", world.buildings_table())
    write_table(truth / "sensors.parquet", world.sensors_table())
    write_table(truth / "persons.parquet", pop.persons_table())
    write_table(truth / "organisations.parquet", pop.organisations_table())
    write_table(truth / "ties.parquet", pop.ties_table())
    write_table(truth / "meetings.parquet", meetings_only.meetings_table())
    write_table(truth / "absences.parquet", _absences(planner))
    write_table(truth / "devices.parquet", _devices(assets, visitors))
    write_table(truth / "device_swaps.parquet", assets.swaps_table())
    write_table(truth / "vehicles.parquet", assets.vehicles_table())
    write_table(truth / "vehicle_use.parquet", _vehicle_use(use))
    advance("sources")
    feeds += _sensor_feeds(world)
    _write_feeds(out, feeds)
    write_table(truth / "records.parquet", _records(feeds))
    write_table(truth / "planted_errors.parquet", _planted(feeds))
    for mapping in streams.mappings():
        _write_mapping(out, mapping)
    manifest: dict[str, Any] = {
        "tessera_version": __version__,
        "tier": tier,
        "seed": seed,
        "persons": persons,
        "days": days,
        "start_date": start.isoformat(),
        "timezone": "Europe/Berlin",
        "files": {
            path.relative_to(out).as_posix(): {"rows": _rows(path), "sha256": _sha256(path)}
            for path in sorted(p for p in out.rglob("*") if p.is_file())
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    advance("done")
    return manifest


class _Streams:
    """The block-by-block feeds: device events (two operators), GPS fixes, plate reads,
    and the truth's stays and trips."""

    def __init__(
        self,
        out: Path,
        assets: Any,
        world: Any,
        seed: int,
    ) -> None:
        import pyarrow as pa

        self.world = world
        self.seed = seed
        self.batches = 0
        self.sector_ids = pa.array(world.sector_ids(), pa.string())
        self.cgi = pa.array([OPERATOR_A_CELL + s for s in world.sector_ids()], pa.string())
        self.camera_ids = pa.array(world.camera_ids(), pa.string())
        self.assets = assets
        src, truth = out / "sources", out / "truth"
        self.stays = _Sink(truth / "stays.parquet")
        self.trips = _Sink(truth / "trips.parquet")
        self.op_a = _Sink(src / "network_events_operator_a.parquet")
        self.op_b = _Sink(src / "network_events_operator_b.parquet")
        self.gps_sink = _Sink(src / "handset_locations.parquet")
        self.read_sink = _Sink(src / "anpr_reads.csv")
        self.read_truth = _Sink(truth / "plate_reads.parquet")
        self._set_ids([])

    def _set_ids(self, visitors: list[dict[str, str]]) -> None:
        """Identifier dictionaries (visitors numbered after the population's devices);
        rows take from them in Arrow, without a Python string per row."""
        import pyarrow as pa

        a = self.assets
        self.msisdn = pa.array(a.device_msisdn + [v["msisdn"] for v in visitors], pa.string())
        self.imsi = pa.array(a.device_imsi + [v["imsi"] for v in visitors], pa.string())
        self.imei = pa.array(a.device_imei + [v["imei"] for v in visitors], pa.string())
        self.operator_b = np.array(
            [i.startswith("26202") for i in a.device_imsi] + [False] * len(visitors), bool
        )

    def events(self, ev: Any) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        from tessera.simulate.sensors import EVENT_CODES

        b = self.operator_b[ev.device]
        a = ~b
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 12, self.batches]))
        self.batches += 1
        # operator A: all three identifiers, a tz-aware timestamp, the network's codes;
        # a tenth of its rows lack the MSISDN (not resolved at the probe)
        dev_a = pa.array(ev.device[a])
        no_msisdn = pa.array(rng.random(len(dev_a)) < 0.1)
        msisdn_a = self.msisdn.take(dev_a)
        self.op_a.write(
            pa.table(
                {
                    "IMSI": self.imsi.take(dev_a),
                    "IMEI": self.imei.take(dev_a),
                    "MSISDN": pc.if_else(no_msisdn, pa.scalar(None, pa.string()), msisdn_a),
                    "EVENT_TS": pa.array(ev.time[a] * 1000, pa.timestamp("ms", tz="UTC")),
                    "EVENT_TYPE": pa.array(EVENT_CODES, pa.string()).take(pa.array(ev.code[a])),
                    "CGI": self.cgi.take(pa.array(ev.sector[a])),
                }
            )
        )
        # operator B: its own names, epoch milliseconds, lower-case event names, no IMEI
        dev_b = pa.array(ev.device[b])
        self.op_b.write(
            pa.table(
                {
                    "subscriber_imsi": self.imsi.take(dev_b),
                    "msisdn": self.msisdn.take(dev_b),
                    "ts_epoch_ms": pa.array(ev.time[b] * 1000, pa.int64()),
                    "event": pa.array([OPERATOR_B_EVENTS[c] for c in EVENT_CODES]).take(
                        pa.array(ev.code[b])
                    ),
                    "cell_id": self.sector_ids.take(pa.array(ev.sector[b])),
                }
            )
        )

    def gps(self, device: np.ndarray, t: np.ndarray, xy: np.ndarray, acc: np.ndarray) -> None:
        import pyarrow as pa

        world_lat, world_lon = self.world.to_latlon(xy)
        self.gps_sink.write(
            pa.table(
                {
                    "imei": self.imei.take(pa.array(device)),
                    "fix_time": pa.array(t * 1000, pa.timestamp("ms", tz="UTC")),
                    "latitude": np.round(world_lat, 6),
                    "longitude": np.round(world_lon, 6),
                    "accuracy_m": np.round(acc, 1),
                }
            )
        )

    def reads(self, reads: Any, block: int) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        # the block (3 digits) and the read's number in it (8 digits)
        number = pa.array(block * 10**8 + np.arange(len(reads.time), dtype=np.int64))
        read_id = pc.utf8_lpad(number.cast(pa.string()), width=11, padding="0")
        local = pc.strftime(
            pa.array(reads.time, pa.timestamp("s", tz="Europe/Berlin")),
            format="%d.%m.%Y %H:%M:%S",
        )
        lane = (reads.time % 2 + 1).astype(np.int64)
        self.read_sink.write(
            pa.table(
                {
                    "read_id": read_id,
                    "camera": self.camera_ids.take(pa.array(reads.camera)),
                    "plate_text": pa.array(reads.read, pa.string()),
                    "seen_at": local,
                    "conf": pa.array(reads.confidence, pa.float64()),
                    "lane": pa.array(lane, pa.int64()),
                }
            )
        )
        self.read_truth.write(
            pa.table(
                {
                    "read_id": read_id,
                    "vehicle_id": pa.array(reads.vehicle, pa.int32()),
                    "true_plate": pa.array(reads.true_plate, pa.string()),
                    "misread": pa.array(
                        [r != t for r, t in zip(reads.read, reads.true_plate, strict=True)],
                        pa.bool_(),
                    ),
                }
            )
        )

    def close(self) -> None:
        for sink in (self.stays, self.trips, self.op_a, self.op_b, self.gps_sink,
                     self.read_sink, self.read_truth):  # fmt: skip
            sink.close()

    def mappings(self) -> list[dict[str, Any]]:
        from tessera.simulate.sensors import EVENT_VALUES

        return [
            {
                "source": "operator_a_events",
                "kind": "device_event",
                "files": ["../sources/network_events_operator_a.parquet"],
                "properties": {
                    "imsi": "IMSI",
                    "imei": "IMEI",
                    "msisdn": "MSISDN",
                    "time": "EVENT_TS",
                    "event_type": {
                        "column": "EVENT_TYPE",
                        "values": dict(EVENT_VALUES),
                    },
                    "sensor_id": "CGI",
                },
            },
            {
                "source": "operator_b_events",
                "kind": "device_event",
                "files": ["../sources/network_events_operator_b.parquet"],
                "properties": {
                    "imsi": "subscriber_imsi",
                    "msisdn": "msisdn",
                    "time": {"column": "ts_epoch_ms", "format": "epoch_ms"},
                    "event_type": {
                        "column": "event",
                        "values": {
                            OPERATOR_B_EVENTS[code]: value for code, value in EVENT_VALUES.items()
                        },
                    },
                    "sensor_id": "cell_id",
                },
            },
            {
                "source": "handset_locations",
                "kind": "device_event",
                "files": ["../sources/handset_locations.parquet"],
                "properties": {
                    "imei": "imei",
                    "time": "fix_time",
                    "event_type": {"constant": "gps"},
                    "lat": "latitude",
                    "lon": "longitude",
                    "accuracy_m": "accuracy_m",
                },
            },
            {
                "source": "city_anpr",
                "kind": "plate_read",
                "files": ["../sources/anpr_reads.csv"],
                "timezone": "Europe/Berlin",
                "properties": {
                    "read_id": "read_id",
                    "camera_id": "camera",
                    "plate": "plate_text",
                    "time": {"column": "seen_at", "format": "%d.%m.%Y %H:%M:%S"},
                    "confidence": "conf",
                    "lane": "lane",
                },
            },
        ]


def _vehicle_use(use: list[np.ndarray]) -> pa.Table:
    """Trips per (vehicle, person, role)."""
    import pyarrow as pa

    rows = np.concatenate(use) if use else np.zeros((0, 3), dtype=np.int64)
    keys, trips = np.unique(rows, axis=0, return_counts=True)
    keys = keys.reshape(-1, 3)
    return pa.table(
        {
            "vehicle_id": pa.array(keys[:, 0], pa.int32()),
            "person_id": pa.array(keys[:, 1], pa.int32()),
            "role": pa.array(np.where(keys[:, 2] == 1, "passenger", "driver"), pa.string()),
            "trips": pa.array(trips, pa.int32()),
        }
    )


def _sensor_feeds(world: Any) -> list[Feed]:
    import pyarrow as pa

    from tessera.simulate.feeds import Feed

    sector_ids, camera_ids = world.sector_ids(), world.camera_ids()
    sec_lat, sec_lon = world.to_latlon(world.site_xy[world.sector_site])
    cells = pa.table(
        {
            "CELL_ID": [OPERATOR_A_CELL + s for s in sector_ids],
            "SITE_ID": [f"S{s:04d}" for s in world.sector_site.tolist()],
            "LAT": np.round(sec_lat, 6),
            "LON": np.round(sec_lon, 6),
            "AZIMUTH": np.round(world.sector_azimuth, 1),
            "BEAMWIDTH": np.full(len(sector_ids), 65.0),
            "RANGE_M": np.round(world.sector_range_m, 0),
        }
    )
    # operator B names the same sectors without the network prefix
    cells_b = pa.table({"cell_id": sector_ids, "lat": np.round(sec_lat, 6),
                        "lon": np.round(sec_lon, 6),
                        "azimuth": np.round(world.sector_azimuth, 1)})  # fmt: skip
    cam_lat, cam_lon = world.to_latlon(world.node_xy[world.camera_node])
    cams = pa.table(
        {
            "camera_ref": camera_ids,
            "latitude": np.round(cam_lat, 6),
            "longitude": np.round(cam_lon, 6),
            "description": [f"Junction {int(n)}" for n in world.camera_node.tolist()],
        }
    )
    return [
        Feed("operator_a_cells", "sensor", "cell_sites_operator_a.csv", cells,
             {"sensor_id": "CELL_ID", "kind": {"constant": "cell_sector"}, "lat": "LAT",
              "lon": "LON", "azimuth_deg": "AZIMUTH", "beamwidth_deg": "BEAMWIDTH",
              "range_m": "RANGE_M", "site_id": "SITE_ID"}, csv={"delimiter": ";"}),
        Feed("operator_b_cells", "sensor", "cell_sites_operator_b.csv", cells_b,
             {"sensor_id": "cell_id", "kind": {"constant": "cell_sector"}, "lat": "lat",
              "lon": "lon", "azimuth_deg": "azimuth"}),
        Feed("anpr_cameras", "sensor", "anpr_cameras.csv", cams,
             {"sensor_id": "camera_ref", "kind": {"constant": "plate_camera"},
              "lat": "latitude", "lon": "longitude", "name": "description"}),
    ]  # fmt: skip


def _write_feeds(out: Path, feeds: list[Feed]) -> None:
    names = [f.name for f in feeds]
    if len(set(names)) != len(names):
        raise SimulationError(f"two feeds share a name: {sorted(names)}")
    for feed in feeds:
        write_feed(out, feed)


def write_feed(out: Path, feed: Feed) -> Path:
    """Write ``feed`` to ``out/sources`` and its mapping to ``out/mappings``; return the
    mapping's path."""
    write_table(out / "sources" / feed.file, feed.table, feed.csv)
    return _write_mapping(out, feed.mapping())


def _write_mapping(out: Path, body: dict[str, Any]) -> Path:
    import yaml

    path = out / "mappings" / f"{body['source']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def _records(feeds: list[Feed]) -> pa.Table:
    import pyarrow as pa

    tables = [f.records for f in feeds if f.records is not None]
    schema = pa.schema(
        [
            ("source", pa.string()),
            ("record_id", pa.string()),
            ("entity", pa.string()),
            ("entity_id", pa.int32()),
        ]
    )
    return (
        pa.concat_tables([t.select(schema.names).cast(schema) for t in tables])
        if tables
        else (schema.empty_table())
    )


def _planted(feeds: list[Feed]) -> pa.Table:
    import pyarrow as pa

    rows = [(f.name, f.file, row, reason) for f in feeds for row, reason in f.planted]
    return pa.table(
        {
            "source": pa.array([r[0] for r in rows], pa.string()),
            "file": pa.array([r[1] for r in rows], pa.string()),
            "row_no": pa.array([r[2] for r in rows], pa.int64()),
            "reason": pa.array([r[3] for r in rows], pa.string()),
        }
    )


def _absences(planner: Any) -> pa.Table:
    import pyarrow as pa

    away = planner.away
    mid = planner.midnights
    person: list[int] = []
    start: list[int] = []
    end: list[int] = []
    kind: list[str] = []
    for p, d in zip(*np.nonzero(away != ""), strict=True):
        k = str(away[p, d])
        if person and person[-1] == p and kind[-1] == k and end[-1] == mid[d]:
            end[-1] = mid[d + 1]
            continue
        person.append(int(p))
        start.append(mid[d])
        end.append(mid[d + 1])
        kind.append(k)
    return pa.table(
        {
            "person_id": pa.array(person, pa.int32()),
            "start": pa.array(np.array(start, dtype=np.int64) * 1000, pa.timestamp("ms", tz="UTC")),
            "end": pa.array(np.array(end, dtype=np.int64) * 1000, pa.timestamp("ms", tz="UTC")),
            "kind": pa.array(kind, pa.string()),
        }
    )


def _devices(assets: Any, visitors: list[dict[str, str]]) -> pa.Table:
    import pyarrow as pa

    table = assets.devices_table()
    if not visitors:
        return table
    n0, n = len(assets.device_person), len(visitors)
    extra = pa.table(
        {
            "device_id": pa.array(np.arange(n0, n0 + n), pa.int32()),
            "person_id": pa.array(np.full(n, -1), pa.int32()),
            "role": ["visitor"] * n,
            "msisdn": [v["msisdn"] for v in visitors],
            "imsi": [v["imsi"] for v in visitors],
            "imei": [v["imei"] for v in visitors],
            "active_from": pa.array(
                np.full(n, assets.period_start * 1000), pa.timestamp("ms", tz="UTC")
            ),
            "active_to": pa.array(
                np.full(n, assets.period_end * 1000), pa.timestamp("ms", tz="UTC")
            ),
            "contract": ["roaming"] * n,
            "organisation_id": pa.array(np.full(n, -1), pa.int32()),
            "gps_app": np.zeros(n, dtype=bool),
            "second_policy": pa.array([None] * n, pa.string()),
        }
    )
    return pa.concat_tables([table, extra.cast(table.schema)])


def _rows(path: Path) -> int | None:
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    if path.suffix == ".csv":
        with open(path, "rb") as fh:
            return sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) - 1
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for buf in iter(lambda: fh.read(1 << 20), b""):
            digest.update(buf)
    return digest.hexdigest()
