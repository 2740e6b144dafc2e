"""How realistic is the synthetic city? Its distributions beside real data and published figures.

    python3 -m uv run --group docs python benchmarks/realism.py OUT          # table + plots
    python3 -m uv run --group docs python benchmarks/realism.py OUT --json realism.json
    python benchmarks/realism.py --plots ''      # real data only (no OUT), no plots
    python3 -m uv run --group docs python benchmarks/realism.py OUT --update-doc docs/simulation.md

``--update-doc DOC`` rewrites the block between ``<!-- realism:begin -->`` and
``<!-- realism:end -->`` in DOC with the tables and plot links (``--markdown FILE`` writes
the same block to FILE, ``-`` for stdout); the prose around the block is hand-written.

OUT is a ``tessera simulate`` output folder (see docs/simulation.md, "What is written").
Without OUT only the real-data side is computed and the simulator column reads TODO-SIM.

Real data is read from ``--data`` (default ``../shared/data`` from the repository root):
GeoLife GPS traces (dwell times, trips), the Copenhagen Networks Study (calls and SMS per
tie, inter-event times) and the SocioPatterns InVS15 workplace (face-to-face contact
durations). The simulator side reads ``truth/*.parquet`` and, for the communications and
device-event feeds, ingests OUT's own mappings into a temporary Tessera workspace.

Plots (SVG, deterministic bytes) go to ``--plots`` (default ``docs/img/simulation``);
matplotlib is only imported there (it is in the ``docs`` dependency group).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _realism_data as rd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_PLOTS = ROOT / "docs" / "img" / "simulation"
DATASETS = ("geolife_dev", "copenhagen_cns", "sociopatterns_workplace")
MIN_PLACE_S = 3600.0  # a "significant place": at least one hour in total over the period
BEGIN, END = "<!-- realism:begin -->", "<!-- realism:end -->"
# The generated block: per Row.section, a heading and its plots (file, alt text).
GROUPS = (
    (
        "GeoLife",
        "GeoLife: dwell times and trips",
        (
            ("dwell_times.svg", "Dwell times, GeoLife vs simulator"),
            ("trips.svg", "Trips, GeoLife vs simulator"),
        ),
    ),
    (
        "CNS",
        "Copenhagen Networks Study: calls, SMS and inter-event times",
        (
            ("ties.svg", "Calls and SMS per tie, CNS vs simulator"),
            ("inter_event_times.svg", "Inter-event times of phone activity"),
        ),
    ),
    (
        "SocioPatterns",
        "SocioPatterns workplace: face-to-face contacts",
        (("contacts.svg", "Contact durations, SocioPatterns vs simulator"),),
    ),
    (
        "Published",
        "Mobility against published figures",
        (("mobility.svg", "Mobility vs published figures"),),
    ),
)

FloatArray = rd.FloatArray


class RealismError(Exception):
    """A missing or unreadable input; main() prints it and exits with status 2."""


# -- the two sides ---------------------------------------------------------------------


@dataclass
class Real:
    geolife: rd.GeoLife
    cns: rd.Communications
    contacts: rd.Contacts


@dataclass
class Sim:
    dwell_s: FloatArray
    dwell_by_activity: dict[str, FloatArray]
    trip_distance_m: FloatArray
    trip_duration_s: FloatArray
    trip_inside: npt.NDArray[np.bool_]
    meetings_s: FloatArray
    copresence_s: FloatArray
    mobility: rd.PersonMobility
    comms: rd.Communications | None
    device_gaps_s: FloatArray | None
    device_events_by_type: dict[str, int] = field(default_factory=dict)
    places_t: FloatArray = field(default_factory=lambda: np.zeros(0))
    places_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    places_mu: float = math.nan
    persons: int = 0
    days: float = 0.0
    manifest: dict[str, Any] = field(default_factory=dict)


def load_real(data: Path) -> Real:
    """Every real-data figure, or RealismError naming the folder that is missing."""
    if not data.is_dir():
        raise RealismError(
            f"real data folder {data} not found; pass --data (the shared datasets live in "
            f"../shared/data next to the repository)"
        )
    for name in DATASETS:
        if not (data / name).is_dir():
            raise RealismError(f"{data / name} not found: the realism report needs {name}")
    return Real(
        geolife=rd.geolife_stays(data / "geolife_dev"),
        cns=rd.cns_pair_rates(data / "copenhagen_cns"),
        contacts=rd.sociopatterns_contacts(data / "sociopatterns_workplace"),
    )


def _seconds(table: Any, column: str) -> FloatArray:
    """A time column (Arrow timestamp, or integer milliseconds) as float seconds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.column(column)
    if pa.types.is_timestamp(col.type):
        unit = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[col.type.unit]
        ints = pc.cast(col, pa.int64()).to_numpy(zero_copy_only=False)
        return np.asarray(ints, np.float64) / unit
    return np.asarray(col.to_numpy(zero_copy_only=False), np.float64) / 1e3


def _read_truth(out: Path, name: str) -> Any:
    import pyarrow.parquet as pq

    path = out / "truth" / f"{name}.parquet"
    if not path.exists():
        raise RealismError(f"{path} not found: is {out} a complete simulator output folder?")
    return pq.read_table(path)


def _mappings_of_kind(out: Path, kind: str) -> list[Path]:
    import yaml

    found = []
    for path in sorted((out / "mappings").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("kind") == kind:
            found.append(path)
    return found


def _feeds(out: Path) -> tuple[Any | None, Any | None, dict[str, int]]:
    """Communications and device events of OUT, through Tessera's own ingest."""
    from tessera.errors import TesseraError
    from tessera.workspace import Workspace

    comm_maps = _mappings_of_kind(out, "communication")
    dev_maps = _mappings_of_kind(out, "device_event")
    if not comm_maps and not dev_maps:
        return None, None, {}
    comms = devices = None
    by_type: dict[str, int] = {}
    with (
        tempfile.TemporaryDirectory(prefix="tessera-realism-") as tmp,
        Workspace.init(Path(tmp) / "ws") as ws,
    ):
        for m in comm_maps + dev_maps:
            try:
                ws.ingest(m)
            except TesseraError as exc:
                raise RealismError(f"ingesting {m} failed: {exc}") from exc
        if comm_maps:
            comms = ws.engine.fetch_arrow(
                "SELECT from_number, to_number, epoch_ms(time) AS t_ms, channel "
                "FROM obs_communication"
            )
        if dev_maps:
            devices = ws.engine.fetch_arrow(
                "SELECT msisdn, epoch_ms(time) AS t_ms FROM obs_device_event "
                "WHERE msisdn IS NOT NULL AND event_type <> 'gps'"
            )
            by_type = {
                str(k): int(v)
                for k, v in ws.engine.fetch_rows(
                    "SELECT event_type, count(*) FROM obs_device_event GROUP BY 1 ORDER BY 1"
                )
            }
    return comms, devices, by_type


def _codes(*columns: Any) -> list[npt.NDArray[np.int64]]:
    """Integer codes for string columns sharing one vocabulary."""
    values = [np.asarray(c.to_numpy(zero_copy_only=False)).astype(str) for c in columns]
    _, inv = np.unique(np.concatenate(values), return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    out, at = [], 0
    for v in values:
        out.append(inv[at : at + v.size])
        at += v.size
    return out


def _both_ends_inside(trips: Any) -> npt.NDArray[np.bool_]:
    """Trips whose two ends are district buildings (all, when the ends are not given)."""
    names = set(trips.column_names)
    if not {"from_building", "to_building"} <= names:
        return np.ones(trips.num_rows, dtype=bool)
    a = np.asarray(trips.column("from_building").to_numpy(), np.int64)
    b = np.asarray(trips.column("to_building").to_numpy(), np.int64)
    return np.asarray((a >= 0) & (b >= 0), dtype=bool)


def _away(sim: Sim) -> FloatArray:
    """Dwell times of stays other than at home or at work."""
    parts = [v for k, v in sim.dwell_by_activity.items() if k not in ("home", "work")]
    return np.concatenate(parts) if parts else np.zeros(0, np.float64)


def load_sim(out: Path, *, with_feeds: bool = True) -> Sim:
    """Every simulator-side figure of the output folder ``out``."""
    if not (out / "manifest.json").exists():
        raise RealismError(f"{out}/manifest.json not found: not a simulator output folder")
    stays = _read_truth(out, "stays")
    trips = _read_truth(out, "trips")
    meetings = _read_truth(out, "meetings")
    buildings = _read_truth(out, "buildings")
    persons = _read_truth(out, "persons")

    person = np.asarray(stays.column("person_id").to_numpy(), np.int64)
    bld = np.asarray(stays.column("building_id").to_numpy(), np.int64)
    s, e = _seconds(stays, "start"), _seconds(stays, "end")
    activity = np.asarray(stays.column("activity").to_numpy(zero_copy_only=False)).astype(str)
    inside = bld >= 0
    dwell = (e - s)[inside]
    by_activity = {
        str(a): dwell[activity[inside] == a] for a in sorted(set(activity[inside].tolist()))
    }

    bid = np.asarray(buildings.column("building_id").to_numpy(), np.int64)
    size = int(bid.max()) + 1 if bid.size else 0
    b_lat = np.full(size, np.nan)
    b_lon = np.full(size, np.nan)
    b_lat[bid] = np.asarray(buildings.column("lat").to_numpy(), np.float64)
    b_lon[bid] = np.asarray(buildings.column("lon").to_numpy(), np.float64)
    pid = np.asarray(persons.column("person_id").to_numpy(), np.int64)
    home = np.full(int(pid.max()) + 1 if pid.size else 0, -1, np.int64)
    home[pid] = np.asarray(persons.column("home_building").to_numpy(), np.int64)
    mobility = rd.person_mobility(person, bld, s, e, b_lat, b_lon, home, min_total_s=MIN_PLACE_S)

    places_t, places_s, places_mu = rd.distinct_places_growth(person, bld, s)
    comms_fig = None
    device_gaps = None
    by_type: dict[str, int] = {}
    if with_feeds:
        comms, devices, by_type = _feeds(out)
        if comms is not None and comms.num_rows:
            a, b = _codes(comms.column("from_number"), comms.column("to_number"))
            t = np.asarray(comms.column("t_ms").to_numpy(), np.float64) / 1e3
            ch = np.asarray(comms.column("channel").to_numpy(zero_copy_only=False)).astype(str)
            comms_fig = rd.communications(t, a, b, ch == "call")
        if devices is not None and devices.num_rows:
            (who,) = _codes(devices.column("msisdn"))
            t = np.asarray(devices.column("t_ms").to_numpy(), np.float64) / 1e3
            device_gaps, _ = rd.inter_event_times(t, who)

    return Sim(
        dwell_s=dwell,
        dwell_by_activity=by_activity,
        trip_distance_m=np.asarray(trips.column("distance_m").to_numpy(), np.float64),
        trip_duration_s=_seconds(trips, "end") - _seconds(trips, "start"),
        trip_inside=_both_ends_inside(trips),
        meetings_s=_seconds(meetings, "end") - _seconds(meetings, "start"),
        copresence_s=rd.copresence_durations(person[inside], bld[inside], s[inside], e[inside]),
        mobility=mobility,
        comms=comms_fig,
        device_gaps_s=device_gaps,
        device_events_by_type=by_type,
        places_t=places_t,
        places_s=places_s,
        places_mu=places_mu,
        persons=int(pid.size),
        days=(float(e.max()) - float(s.min())) / rd.DAY_S if s.size else 0.0,
        manifest=json.loads((out / "manifest.json").read_text(encoding="utf-8")),
    )


# -- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One comparison: a figure, its unit, the real values and the simulator's."""

    section: str
    name: str
    unit: str
    real: dict[str, float] | str
    sim: dict[str, float] | str | None
    note: str = ""


def _scaled(values: npt.ArrayLike | None, scale: float) -> dict[str, float] | None:
    if values is None:
        return None
    return rd.summarise(np.asarray(values, np.float64) / scale)


def _point(value: float) -> dict[str, float]:
    return {"n": 1.0, "mean": value, "p10": math.nan, "median": value, "p90": math.nan}


def rows(real: Real, sim: Sim | None) -> list[Row]:
    """The comparison table; ``sim`` None leaves the simulator side empty (TODO-SIM)."""
    g, c, f2f = real.geolife, real.cns, real.contacts
    sc = sim.comms if sim is not None else None

    def s(get: Callable[[Sim], npt.ArrayLike | None], scale: float) -> dict[str, float] | None:
        return _scaled(get(sim), scale) if sim is not None else None

    def sc_(get: Callable[[rd.Communications], npt.ArrayLike], scale: float = 1.0) -> Any:
        return _scaled(get(sc), scale) if sc is not None else None

    def sc_point(get: Callable[[rd.Communications], float]) -> dict[str, float] | None:
        return _point(get(sc)) if sc is not None else None

    out = [
        Row(
            "GeoLife",
            "dwell time (stays inside recordings)",
            "min",
            rd.summarise(g.dwell_s / 60),
            s(lambda x: x.dwell_s, 60),
            "sim: every stay in a district building",
        ),
        Row(
            "GeoLife",
            "dwell time (logger-off gaps bridged)",
            "min",
            rd.summarise(g.dwell_bridged_s / 60),
            s(lambda x: x.dwell_s, 60),
        ),
        Row(
            "GeoLife",
            "dwell time, stays other than home and work",
            "min",
            rd.summarise(g.dwell_s / 60),
            s(_away, 60),
            "real: stays inside recordings (mostly away from home)",
        ),
        Row(
            "GeoLife",
            "trip length (path)",
            "km",
            rd.summarise(g.trip_distance_m / 1e3),
            s(lambda x: x.trip_distance_m, 1e3),
            "Beijing vs a 6 x 6 km district",
        ),
        Row(
            "GeoLife",
            "trip duration",
            "min",
            rd.summarise(g.trip_duration_s / 60),
            s(lambda x: x.trip_duration_s, 60),
        ),
        Row(
            "GeoLife",
            "trip length, both ends in the district",
            "km",
            rd.summarise(g.trip_distance_m / 1e3),
            s(lambda x: x.trip_distance_m[x.trip_inside], 1e3),
        ),
        Row(
            "GeoLife",
            "trip duration, both ends in the district",
            "min",
            rd.summarise(g.trip_duration_s / 60),
            s(lambda x: x.trip_duration_s[x.trip_inside], 60),
        ),
        Row(
            "CNS",
            "calls per tie per day",
            "1/day",
            rd.summarise(c.rates.calls_per_day),
            sc_(lambda x: x.rates.calls_per_day),
        ),
        Row(
            "CNS",
            "SMS per tie per day",
            "1/day",
            rd.summarise(c.rates.sms_per_day),
            sc_(lambda x: x.rates.sms_per_day),
        ),
        Row(
            "CNS",
            "calls + SMS per tie per day",
            "1/day",
            rd.summarise(c.rates.calls_per_day + c.rates.sms_per_day),
            sc_(lambda x: x.rates.calls_per_day + x.rates.sms_per_day),
        ),
        Row(
            "CNS",
            "ties with calls only",
            "share",
            _point(c.rates.share_calls_only),
            sc_point(lambda x: x.rates.share_calls_only),
        ),
        Row(
            "CNS",
            "ties with SMS only",
            "share",
            _point(c.rates.share_sms_only),
            sc_point(lambda x: x.rates.share_sms_only),
        ),
        Row(
            "CNS",
            "ties with both",
            "share",
            _point(c.rates.share_both),
            sc_point(lambda x: x.rates.share_both),
        ),
        Row(
            "CNS",
            "partners per person (whole period)",
            "count",
            rd.summarise(c.daily.partners),
            sc_(lambda x: x.daily.partners),
            "CNS: partners inside the study only",
        ),
        Row(
            "CNS",
            "partners contacted per person-day",
            "count",
            rd.summarise(c.daily.per_day),
            sc_(lambda x: x.daily.per_day),
        ),
        Row(
            "CNS",
            "share of partners contacted per day",
            "share",
            rd.summarise(c.daily.share_per_day),
            sc_(lambda x: x.daily.share_per_day),
        ),
        Row(
            "CNS",
            "inter-event time (calls + SMS)",
            "min",
            rd.summarise(c.gaps_s / 60),
            sc_(lambda x: x.gaps_s, 60),
        ),
        Row(
            "CNS",
            "burstiness B per person",
            "B",
            rd.summarise(c.burstiness),
            sc_(lambda x: x.burstiness),
        ),
        Row(
            "SocioPatterns",
            "contact duration",
            "s",
            rd.summarise(f2f.duration_s),
            s(lambda x: x.meetings_s, 1),
            "sim: meeting durations",
        ),
        Row(
            "SocioPatterns",
            "contact duration vs co-presence",
            "s",
            rd.summarise(f2f.duration_s),
            s(lambda x: x.copresence_s, 1),
            "sim: overlap of two people in one building",
        ),
        Row(
            "SocioPatterns",
            "contact time per pair-day (days met)",
            "s",
            rd.summarise(f2f.time_per_pair_day_s),
            "n/a" if sim is not None else None,
            "not computed on the simulator side",
        ),
        Row(
            "Published",
            "significant places per person",
            "count",
            "2-3 important; ~25 regular",
            s(lambda x: x.mobility.places, 1),
            "Isaacman 2011: 2-3 important; Alessandretti 2018: ~25 regular",
        ),
        Row(
            "Published",
            "distinct places per week",
            "count",
            "-",
            s(lambda x: x.mobility.places_per_week, 1),
            "district buildings visited in a week, any duration",
        ),
        Row(
            "Published",
            "growth of distinct places S(t) ~ t^mu",
            "mu",
            "0.6",
            _point(sim.places_mu) if sim is not None else None,
            "Song et al. 2010: mu = 0.6 +- 0.02",
        ),
        Row(
            "Published",
            "radius of gyration",
            "km",
            "heavy tail, (r + 5.8)^-1.65",
            s(lambda x: x.mobility.radius_m, 1e3),
            "Gonzalez 2008, country scale; compare the shape",
        ),
        Row(
            "Published",
            "share of time at home",
            "share",
            "0.69 (mean)",
            s(lambda x: x.mobility.home_share, 1),
            "NHAPS (Klepeis 2001): 68.7% in a residence",
        ),
    ]
    if sim is not None and sim.device_gaps_s is not None:
        out.append(
            Row(
                "Published",
                "device event inter-event time",
                "min",
                rd.summarise(c.gaps_s / 60),
                _scaled(sim.device_gaps_s, 60),
                "real: CNS calls + SMS (heavy tail)",
            )
        )
    return out


def _fmt(v: float) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _cell(stats: dict[str, float] | str | None) -> str:
    if stats is None:
        return "TODO-SIM"
    if isinstance(stats, str):
        return stats
    if not math.isfinite(stats.get("p10", math.nan)) and not math.isfinite(
        stats.get("p90", math.nan)
    ):
        return _fmt(stats["median"])
    return (
        f"{_fmt(stats['median'])} ({_fmt(stats['p10'])} - {_fmt(stats['p90'])}); "
        f"mean {_fmt(stats['mean'])}"
    )


def markdown_table(table: list[Row]) -> str:
    """Median (p10 - p90) and mean per side, as a Markdown table."""
    lines = [
        "| source | figure | unit | real: median (p10 - p90); mean "
        "| simulator: median (p10 - p90); mean | note |",
        "|---|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(
            f"| {r.section} | {r.name} | {r.unit} | {_cell(r.real)} | {_cell(r.sim)} | {r.note} |"
        )
    return "\n".join(lines)


def detail_table(sim: Sim) -> str:
    """Simulated dwell time per activity, the figures to calibrate first."""
    lines = ["| activity | stays | median (p10 - p90); mean, min |", "|---|---|---|"]
    for act, v in sim.dwell_by_activity.items():
        lines.append(f"| {act} | {v.size:,} | {_cell(rd.summarise(v / 60))} |")
    return "\n".join(lines)


def doc_block(table: list[Row], sim: Sim | None, plots: str) -> str:
    """The generated part of docs/simulation.md: the run, then per source its table and
    plots (``plots``: the plot folder as the document links it)."""
    if sim is None:
        run = "Simulator: TODO-SIM (no output folder given)."
    else:
        m = sim.manifest
        flags = [f"--{k} {m[k]}" for k in ("tier", "seed") if k in m]
        cmd = " ".join(["tessera simulate OUT", *flags])
        people, days = m.get("persons", sim.persons), m.get("days", round(sim.days, 1))
        run = f"Simulator: `{cmd}` ({people:,} people, {days:g} days)."
    parts = [run + " Each cell gives the median, p10 to p90 in brackets, and the mean."]
    for section, title, images in GROUPS:
        parts += [f"#### {title}", markdown_table([r for r in table if r.section == section])]
        if section == "GeoLife" and sim is not None:
            parts += ["Simulated dwell time by activity:", detail_table(sim)]
        parts += [f"![{alt}]({plots}/{name})" for name, alt in images]
    return "\n\n".join(parts) + "\n"


def update_doc(path: Path, block: str) -> None:
    """Replace what lies between the BEGIN and END markers of ``path`` with ``block``."""
    text = path.read_text(encoding="utf-8")
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise RealismError(f"{path} needs one {BEGIN} line followed by one {END} line")
    head, rest = text.split(BEGIN)
    tail = rest.split(END)[1]
    path.write_text(f"{head}{BEGIN}\n\n{block}\n{END}{tail}", encoding="utf-8")


# -- plots -----------------------------------------------------------------------------


def plot_all(real: Real, sim: Sim | None, folder: Path) -> list[Path]:
    """One SVG per comparison into ``folder``; identical inputs give identical bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update(
        {
            "svg.hashsalt": "tessera-realism",
            "svg.fonttype": "none",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    real_c, sim_c = "#1f77b4", "#d62728"

    def ccdf(ax: Any, values: npt.ArrayLike | None, label: str, color: str, ls: str = "-") -> None:
        if values is None:
            return
        x, y = rd.ccdf(values)
        keep = x > 0
        if keep.any():
            ax.step(x[keep], y[keep], where="post", label=label, color=color, ls=ls, lw=1.3)

    def finish(fig: Any, name: str) -> None:
        path = folder / name
        fig.tight_layout()
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)
        written.append(path)

    sim_label = "simulator" if sim is not None else "simulator (TODO-SIM)"

    # 1. dwell times
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ccdf(ax, real.geolife.dwell_s / 60, "GeoLife, inside recordings", real_c)
    ccdf(ax, real.geolife.dwell_bridged_s / 60, "GeoLife, logger-off gaps bridged", real_c, "--")
    if sim is not None:
        ccdf(ax, sim.dwell_s / 60, "simulator, all stays", sim_c)
        ccdf(ax, _away(sim) / 60, "simulator, not home or work", sim_c, "--")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="dwell time (min)",
        ylabel="P(dwell >= x)",
        title=f"Dwell times: GeoLife vs {sim_label}",
    )
    ax.legend(frameon=False, loc="lower left")
    finish(fig, "dwell_times.svg")

    # 2. trips
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.4))
    ccdf(ax1, real.geolife.trip_distance_m / 1e3, "GeoLife", real_c)
    ccdf(ax2, real.geolife.trip_duration_s / 60, "GeoLife", real_c)
    if sim is not None:
        ccdf(ax1, sim.trip_distance_m / 1e3, "simulator", sim_c)
        ccdf(ax2, sim.trip_duration_s / 60, "simulator", sim_c)
        inside = sim.trip_inside
        ccdf(ax1, sim.trip_distance_m[inside] / 1e3, "simulator, in the district", sim_c, "--")
        ccdf(ax2, sim.trip_duration_s[inside] / 60, "simulator, in the district", sim_c, "--")
    ax1.set(xscale="log", yscale="log", xlabel="trip length (km)", ylabel="P(X >= x)")
    ax2.set(xscale="log", yscale="log", xlabel="trip duration (min)")
    ax1.legend(frameon=False, loc="lower left")
    fig.suptitle(f"Trips between stays: GeoLife vs {sim_label}")
    finish(fig, "trips.svg")

    # 3. per-tie rates and the channel mix
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(10, 3.4))
    r = real.cns.rates
    ccdf(ax1, r.calls_per_day, "CNS", real_c)
    ccdf(ax2, r.sms_per_day, "CNS", real_c)
    mixes = [("CNS", r, real_c)]
    if sim is not None and sim.comms is not None:
        ccdf(ax1, sim.comms.rates.calls_per_day, "simulator", sim_c)
        ccdf(ax2, sim.comms.rates.sms_per_day, "simulator", sim_c)
        mixes.append(("simulator", sim.comms.rates, sim_c))
    ax1.set(xscale="log", yscale="log", xlabel="calls per tie per day", ylabel="P(X >= x)")
    ax2.set(xscale="log", yscale="log", xlabel="SMS per tie per day")
    cats = ["calls only", "SMS only", "both"]
    width = 0.8 / len(mixes)
    for k, (label, pr, color) in enumerate(mixes):
        vals = [pr.share_calls_only, pr.share_sms_only, pr.share_both]
        ax3.bar(np.arange(3) + k * width, vals, width, label=label, color=color)
    ax3.set_xticks(np.arange(3) + width * (len(mixes) - 1) / 2, cats)
    ax3.set(ylabel="share of ties")
    ax1.legend(frameon=False, loc="lower left")
    ax3.legend(frameon=False, loc="upper left")
    fig.suptitle(f"Calls and SMS per tie: Copenhagen Networks Study vs {sim_label}")
    finish(fig, "ties.svg")

    # 4. inter-event times
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ccdf(ax, real.cns.gaps_s / 60, "CNS calls + SMS per person", real_c)
    if sim is not None and sim.comms is not None:
        ccdf(ax, sim.comms.gaps_s / 60, "simulator calls + SMS per number", sim_c)
    if sim is not None and sim.device_gaps_s is not None:
        ccdf(ax, sim.device_gaps_s / 60, "simulator device events per number", sim_c, "--")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="inter-event time (min)",
        ylabel="P(X >= x)",
        title="Inter-event times of phone activity",
    )
    ax.legend(frameon=False, loc="lower left")
    finish(fig, "inter_event_times.svg")

    # 5. contact durations
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ccdf(ax, real.contacts.duration_s / 60, "SocioPatterns face-to-face contacts", real_c)
    ccdf(
        ax,
        real.contacts.time_per_pair_day_s / 60,
        "SocioPatterns contact time per pair-day",
        real_c,
        "--",
    )
    if sim is not None:
        ccdf(ax, sim.meetings_s / 60, "simulator meetings", sim_c)
        ccdf(ax, sim.copresence_s / 60, "simulator co-presence in a building", sim_c, "--")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="duration (min)",
        ylabel="P(X >= x)",
        title=f"Contact durations: SocioPatterns InVS15 vs {sim_label}",
    )
    ax.legend(frameon=False, loc="lower left")
    finish(fig, "contacts.svg")

    # 6. mobility figures against published values
    fig, axes = plt.subplots(2, 2, figsize=(8, 6))
    ax1, ax2, ax3, ax4 = axes.ravel()
    if sim is not None:
        m = sim.mobility
        top = max(30.0, float(np.nanmax(m.places)) + 2) if m.places.size else 30.0
        ax1.hist(m.places, bins=np.arange(0, top), color=sim_c, alpha=0.7, label="simulator")
        ccdf(ax2, m.radius_m / 1e3, "simulator", sim_c)
        shares = m.home_share[np.isfinite(m.home_share)]
        ax3.hist(shares, bins=np.linspace(0, 1, 21), color=sim_c, alpha=0.7, label="simulator")
        if sim.places_t.size:
            ax4.plot(
                sim.places_t,
                sim.places_s,
                "o-",
                ms=3,
                color=sim_c,
                label=f"simulator, mu = {sim.places_mu:.2f}",
            )
            ref = sim.places_s[0] * sim.places_t**0.6
            ax4.plot(sim.places_t, ref, ls="--", color=real_c, label="Song 2010: t^0.6")
    ax1.axvspan(2, 3, color=real_c, alpha=0.2, label="Isaacman 2011: 2-3 important")
    ax1.axvline(25, color=real_c, ls="--", label="Alessandretti 2018: ~25")
    ax1.set(xlabel=f"places with >= {MIN_PLACE_S / 3600:.0f} h in total", ylabel="people")
    # Gonzalez et al.'s fitted density, truncated to the district's scale (<= 6 km).
    rg = np.linspace(0.05, 6.0, 400)
    dens = (rg + 5.8) ** -1.65 * np.exp(-rg / 350.0)
    tail = np.cumsum(dens[::-1])[::-1]
    ax2.plot(rg, tail / tail[0], color=real_c, ls="--", label="Gonzalez 2008, cut at 6 km")
    ax2.set(xscale="log", yscale="log", xlabel="radius of gyration (km)", ylabel="P(X >= x)")
    ax3.axvline(0.687, color=real_c, ls="--", label="NHAPS: 68.7% at home")
    ax3.set(xlabel="share of time at home", ylabel="people")
    ax4.set(xscale="log", yscale="log", xlabel="day t", ylabel="mean distinct places S(t)")
    corners = ("upper right", "lower left", "upper left", "lower right")
    for ax, corner in zip((ax1, ax2, ax3, ax4), corners, strict=True):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False, fontsize=7, loc=corner)
    fig.suptitle(f"Mobility: {sim_label} vs published figures")
    finish(fig, "mobility.svg")
    return written


# -- main ------------------------------------------------------------------------------


def as_json(table: list[Row], real: Real, sim: Sim | None) -> dict[str, Any]:
    def clean(d: dict[str, float] | str | None) -> dict[str, float | None] | str | None:
        if d is None or isinstance(d, str):
            return d
        return {k: (v if math.isfinite(v) else None) for k, v in d.items()}

    doc: dict[str, Any] = {
        "rows": [
            {
                "section": r.section,
                "figure": r.name,
                "unit": r.unit,
                "real": clean(r.real),
                "sim": clean(r.sim),
                "note": r.note,
            }
            for r in table
        ],
        "real": {
            "geolife_users": real.geolife.users,
            "geolife_fixes": real.geolife.fixes,
            "cns_events": real.cns.events,
            "cns_people": real.cns.people,
            "cns_ties": real.cns.rates.pairs,
            "sociopatterns_pairs": real.contacts.pairs,
        },
    }
    if sim is not None:
        doc["sim"] = {
            "persons": sim.persons,
            "days": sim.days,
            "dwell_by_activity_min": {
                k: clean(rd.summarise(v / 60)) for k, v in sim.dwell_by_activity.items()
            },
            "device_events_by_type": sim.device_events_by_type,
        }
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compare a simulator output folder with real data and published figures."
    )
    parser.add_argument("out", nargs="?", type=Path, help="simulator output folder (OUT)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="real data folder")
    parser.add_argument(
        "--plots", default=str(DEFAULT_PLOTS), help="folder for the SVG plots ('' for none)"
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="also write the figures as JSON (to FILE, or stdout)",
    )
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        help="write the doc's tables and plot links to FILE ('-' for stdout)",
    )
    parser.add_argument(
        "--update-doc",
        type=Path,
        metavar="DOC",
        help=f"rewrite the block between {BEGIN} and {END} in DOC",
    )
    parser.add_argument(
        "--no-feeds",
        action="store_true",
        help="skip ingesting the communications and device-event feeds",
    )
    args = parser.parse_args(argv)
    try:
        real = load_real(args.data)
        sim = load_sim(args.out, with_feeds=not args.no_feeds) if args.out else None
    except RealismError as exc:
        print(f"realism: {exc}", file=sys.stderr)
        return 2
    table = rows(real, sim)
    print(markdown_table(table))
    if sim is not None:
        print()
        print(detail_table(sim))
        if sim.device_events_by_type:
            print()
            print("device events by type:", json.dumps(sim.device_events_by_type))
    if args.plots:
        for path in plot_all(real, sim, Path(args.plots)):
            print(f"wrote {path}", file=sys.stderr)

    def block_for(doc: Path) -> str:
        """The doc block with plot links relative to the folder of ``doc``."""
        plots = Path(args.plots or DEFAULT_PLOTS).resolve()
        rel = Path(os.path.relpath(plots, doc.resolve().parent)).as_posix()
        return doc_block(table, sim, rel)

    if args.markdown == "-":
        print(block_for(ROOT / "docs" / "simulation.md"), end="")
    elif args.markdown:
        Path(args.markdown).write_text(block_for(Path(args.markdown)), encoding="utf-8")
    if args.update_doc:
        try:
            update_doc(args.update_doc, block_for(args.update_doc))
        except (RealismError, OSError) as exc:
            print(f"realism: {exc}", file=sys.stderr)
            return 2
    if args.json:
        text = json.dumps(as_json(table, real, sim), indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
