"""Known-answer tests of the realism report's computations (benchmarks/_realism_data.py).

Each test builds a tiny input whose answer is worked out in its docstring. The tests at
the end read the real datasets from ../shared/data and skip, naming the folder, when it
is absent.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SHARED_DATA

sys.path.insert(0, str(ROOT / "benchmarks"))

import _realism_data as rd
import realism

M_PER_DEG_LAT = math.pi * rd.EARTH_RADIUS_M / 180.0
LAT0, LON0 = 39.98, 116.32


def _track(points: list[tuple[float, float]]) -> rd.Track:
    """A track from (t seconds, metres north of LAT0) pairs."""
    t = np.array([p[0] for p in points], np.float64)
    lat = LAT0 + np.array([p[1] for p in points], np.float64) / M_PER_DEG_LAT
    return rd.Track(t, lat, np.full(t.size, LON0))


def _walk(
    t0: float, t1: float, y0: float, y1: float, step: float = 10.0
) -> list[tuple[float, float]]:
    ts = np.arange(t0, t1 + 0.5, step)
    return [(float(t), y0 + (y1 - y0) * (t - t0) / max(t1 - t0, 1.0)) for t in ts]


# -- stay points -----------------------------------------------------------------------


def test_one_ten_minute_stop_gives_one_ten_minute_stay() -> None:
    """Moving at 20 m/s (200 m between fixes), stopping at y=2200 m from t=120 to t=710,
    then leaving at t=720 (200 m on): one stay from 120 s to the first fix outside, 720 s,
    that is 600 s, centred on the stop."""
    pts = _walk(0, 110, 0, 2200 - 200) + [(float(t), 2200.0) for t in range(120, 711, 10)]
    pts += _walk(720, 800, 2400, 4000)
    sp = rd.staypoints(_track(pts))
    assert len(sp.start) == 1
    assert sp.start[0] == 120.0
    assert sp.end[0] == 720.0
    assert sp.dwell_s[0] == 600.0
    assert (sp.lat[0] - LAT0) * M_PER_DEG_LAT == pytest.approx(2200.0, abs=0.01)


def test_a_four_minute_stop_is_not_a_stay() -> None:
    """A stop of 240 s (under the 5 min threshold) gives no stay."""
    pts = _walk(0, 110, 0, 1800) + [(float(t), 2000.0) for t in range(120, 351, 10)]
    pts += _walk(360, 400, 2200, 3000)
    assert len(rd.staypoints(_track(pts)).start) == 0


def test_logger_gap_breaks_the_stay_unless_bridged() -> None:
    """At y=0 from t=0 to 600, logger off for two hours, back at the same spot at 7800,
    leaving at 8100. Unbridged (as trackintel): the gap drops what came before it, leaving
    one stay 7800-8100 (300 s). Bridged: one stay 0-8100."""
    pts = [(float(t), 0.0) for t in range(0, 601, 60)]
    pts += [(float(t), 5.0) for t in range(7800, 8041, 60)] + [(8100.0, 500.0)]
    plain = rd.staypoints(_track(pts))
    assert plain.start.tolist() == [7800.0]
    assert plain.end.tolist() == [8100.0]
    bridged = rd.staypoints(_track(pts), bridge_gaps=True)
    assert bridged.start.tolist() == [0.0]
    assert bridged.end.tolist() == [8100.0]


def test_a_stay_never_left_is_not_kept() -> None:
    """Ten minutes at one spot with no fix outside it: no stay (include_last=False)."""
    assert len(rd.staypoints(_track([(float(t), 0.0) for t in range(0, 601, 30)])).start) == 0


def test_trip_between_two_stays() -> None:
    """Stay at y=0 (0-600 s), walk 1 km north in 300 s at 10 s steps, stay at y=1000
    (900-1500 s), leave. The stay ends at the first fix outside (the first walking fix
    100 m on, t=630); the trip runs from the stay's last fix (t=600, y=0) to the next
    stay's first fix (t=900, y=1000): 1000 m long, lasting 900 - 630 = 270 s."""
    pts = [(float(t), 0.0) for t in range(0, 601, 30)]
    pts += _walk(630, 890, 100, 1000 - 1000 / 30)
    pts += [(float(t), 1000.0) for t in range(900, 1501, 30)]
    pts += _walk(1530, 1600, 1200, 2000)
    track = _track(pts)
    sp = rd.staypoints(track)
    assert sp.start.tolist() == [0.0, 900.0]
    trips = rd.trips_between(track, sp)
    assert trips.distance_m.tolist() == pytest.approx([1000.0], abs=0.5)
    assert trips.duration_s.tolist() == [270.0]
    assert trips.straight_m.tolist() == pytest.approx([1000.0], abs=0.5)


def test_trip_across_a_logger_gap_is_dropped() -> None:
    """Stay A at y=0 (0-630 s, left by a fix 200 m on), then the logger is off for 20 min
    mid-trip, then stay B at y=1000 (1860-2490 s). Both stays are found, but the trip
    between them is not fully observed and is dropped."""
    pts = [(float(t), 0.0) for t in range(0, 601, 30)] + [(630.0, 200.0), (1830.0, 800.0)]
    pts += [(float(t), 1000.0) for t in range(1860, 2461, 30)] + [(2490.0, 2000.0)]
    track = _track(pts)
    sp = rd.staypoints(track)
    assert sp.start.tolist() == [0.0, 1860.0]
    assert sp.end.tolist() == [630.0, 2490.0]
    assert rd.trips_between(track, sp).distance_m.size == 0


def test_merge_stays_joins_a_split_visit() -> None:
    """Stays 150 m apart with a 60 s hop between them are one visit (merge within 200 m,
    gaps up to 300 s); a third stay 2 km away stays separate."""
    pts = [(float(t), 0.0) for t in range(0, 601, 30)]
    pts += [(float(t), 150.0) for t in range(660, 1261, 30)]
    pts += _walk(1290, 1400, 400, 1900) + [(float(t), 2000.0) for t in range(1410, 2011, 30)]
    pts += [(2040.0, 2500.0)]
    track = _track(pts)
    sp = rd.staypoints(track)
    assert len(sp.start) == 3
    merged = rd.merge_stays(track, sp, dist_m=200.0, max_gap_s=300.0)
    assert merged.start.tolist() == [0.0, 1410.0]
    assert merged.end.tolist() == [sp.end[1], 2040.0]


def test_read_plt_converts_day_numbers_to_utc(tmp_path: Path) -> None:
    """GeoLife day 39744.1201851852 is 2008-10-23 02:53:04 UTC = 1224730384 s."""
    header = "Geolife trajectory\nWGS 84\nAltitude is in Feet\nReserved 3\n0,2,255\n0\n"
    rows = (
        "39.984702,116.318417,0,492,39744.1201851852,2008-10-23,02:53:04\n"
        "39.984683,116.31845,0,492,39744.1202546296,2008-10-23,02:53:10\n"
    )
    path = tmp_path / "x.plt"
    path.write_text(header + rows, encoding="utf-8")
    track = rd.read_plt(path)
    assert track.t.tolist() == [1224730384.0, 1224730390.0]
    assert track.lat.tolist() == [39.984702, 39.984683]


def test_merge_tracks_sorts_and_drops_repeated_times() -> None:
    a = rd.Track(np.array([10.0, 20.0]), np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    b = rd.Track(np.array([5.0, 20.0]), np.array([0.5, 9.0]), np.array([0.5, 9.0]))
    m = rd.merge_tracks([a, b])
    assert m.t.tolist() == [5.0, 10.0, 20.0]
    assert m.lat.tolist() == [0.5, 1.0, 2.0]


# -- communications --------------------------------------------------------------------


def test_pair_rates_per_unordered_tie() -> None:
    """Over 2 days: {1,2} one call and one SMS (both), {1,3} two SMS (SMS only), {4,5}
    one call (calls only); a self-call is dropped. Calls/day 0.5, 0, 0.5; SMS/day 0.5, 1, 0."""
    a = [1, 2, 1, 3, 4, 6]
    b = [2, 1, 3, 1, 5, 6]
    call = [True, False, False, False, True, True]
    r = rd.pair_rates(a, b, call, days=2.0)
    assert r.pairs == 3
    assert r.calls_per_day.tolist() == [0.5, 0.0, 0.5]
    assert r.sms_per_day.tolist() == [0.5, 1.0, 0.0]
    assert (r.share_calls_only, r.share_sms_only, r.share_both) == pytest.approx((1 / 3,) * 3)


def test_daily_partners() -> None:
    """Person 1 texts 2 on day 0, and 2 and 3 on day 1. Person 1: 2 partners, contacts 1
    then 2 of them (shares 0.5, 1). Person 2: 1 partner, 1 and 1. Person 3: 0 then 1."""
    t = [100.0, rd.DAY_S + 5, rd.DAY_S + 50]
    d = rd.daily_partners(t, [1, 1, 3], [2, 2, 1], origin_s=0.0, days=2)
    assert d.partners.tolist() == [2.0, 1.0, 1.0]
    assert d.per_day.tolist() == [1.0, 2.0, 1.0, 1.0, 0.0, 1.0]
    assert d.share_per_day.tolist() == [0.5, 1.0, 1.0, 1.0, 0.0, 1.0]


def test_inter_event_times_and_burstiness() -> None:
    """Person 1 at 0, 10, 30 s: gaps 10 and 20, mean 15, sd 5, B = (5-15)/(5+15) = -0.5.
    Person 2 at 5 and 5: one zero gap, too few for a burstiness."""
    gaps, b = rd.inter_event_times([30.0, 0.0, 5.0, 10.0, 5.0], [1, 1, 2, 1, 2])
    assert gaps.tolist() == [10.0, 20.0, 0.0]
    assert b.tolist() == [-0.5]
    assert rd.burstiness([60.0] * 10) == -1.0


def test_communications_bundles_everything() -> None:
    """Four events over exactly one day among three people."""
    c = rd.communications(
        [0.0, 60.0, 120.0, rd.DAY_S], [1, 2, 1, 3], [2, 1, 3, 1], [True, False, False, False]
    )
    assert c.events == 4
    assert c.people == 3
    assert c.rates.pairs == 2
    assert c.rates.days == 1.0
    assert c.rates.share_both == 0.5


# -- face-to-face contacts -------------------------------------------------------------


def test_contact_durations_from_a_tij_list() -> None:
    """Rows (t, i, j): 1-2 at 20, 40, 60 is one contact over [0, 60] = 60 s; 1-2 at 100
    is another, 20 s; 3-2 at 40 (the pair {2,3}) is 20 s. Pair {1,2} on day 0: 2 contacts,
    80 s; pair {2,3}: 1 contact, 20 s."""
    t = [20, 40, 60, 100, 40]
    i = [1, 1, 2, 1, 3]
    j = [2, 2, 1, 2, 2]
    c = rd.contact_durations(t, i, j)
    assert c.pairs == 2
    assert sorted(c.duration_s.tolist()) == [20.0, 20.0, 60.0]
    assert c.per_pair_day.tolist() == [2.0, 1.0]
    assert c.time_per_pair_day_s.tolist() == [80.0, 20.0]
    assert c.day.tolist() == [0, 0, 0]


def test_read_tij_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x_tij.dat.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("28840 574 1362\n28860 574 1362\n")
    t, i, j = rd.read_tij(path)
    assert t.tolist() == [28840.0, 28860.0]
    assert rd.contact_durations(t, i, j).duration_s.tolist() == [40.0]


# -- simulator side --------------------------------------------------------------------


def test_copresence_durations() -> None:
    """Building 7: person 1 0-100, person 2 50-200, person 1 again 150-300. Overlaps of
    different people: 50 and 50 (person 1 with itself does not count). Building 8 has
    one stay only."""
    ov = rd.copresence_durations(
        [1, 2, 1, 3], [7, 7, 7, 8], [0.0, 50.0, 150.0, 0.0], [100.0, 200.0, 300.0, 1000.0]
    )
    assert sorted(ov.tolist()) == [50.0, 50.0]


def test_copresence_sampling_is_deterministic_and_bounded() -> None:
    rng = np.random.default_rng(1)
    n = 50
    s = rng.uniform(0, 1000, n)
    args = (np.arange(n), np.zeros(n, np.int64), s, s + 100)
    a = rd.copresence_durations(*args, max_stays_per_building=10, seed=3)
    b = rd.copresence_durations(*args, max_stays_per_building=10, seed=3)
    assert a.tolist() == b.tolist()
    assert a.size <= 45


def test_person_mobility() -> None:
    """Person 0 lives in building 0 and works in building 1, 1 km north: 16 h at home,
    8 h at work, 30 min in a cafe (building 2) and 8 h outside the district. Places with
    >= 1 h: 2. Home share 16 / 32.5. Radius of gyration of two points 1 km apart weighted
    16 and 8 (the cafe has weight 0.5 at the home spot): computed below."""
    h = 3600.0
    person = [0, 0, 0, 0]
    building = [0, 1, 2, -1]
    start = [0.0, 16 * h, 24 * h, 24.5 * h]
    end = [16 * h, 24 * h, 24.5 * h, 32.5 * h]
    b_lat = [LAT0, LAT0 + 1000 / M_PER_DEG_LAT, LAT0]
    b_lon = [LON0, LON0, LON0]
    m = rd.person_mobility(person, building, start, end, b_lat, b_lon, [0])
    assert m.places.tolist() == [2.0]
    assert m.home_share.tolist() == pytest.approx([16 / 32.5])
    w_home, w_work = 16.5, 8.0
    expected = 1000 * math.sqrt(w_home * w_work) / (w_home + w_work)
    assert m.radius_m.tolist() == pytest.approx([expected], rel=1e-6)
    assert m.places_per_week.tolist() == [3.0]


def test_distinct_places_growth() -> None:
    """Person 0: building 0 on day 0, building 1 on day 1, building 0 again on day 2;
    person 1: building 5 on day 0 only. Mean S(t) = (1+1)/2, (2+1)/2, (2+1)/2."""
    d = rd.DAY_S
    t, s, mu = rd.distinct_places_growth(
        [0, 0, 0, 1], [0, 1, 0, 5], [0.0, d + 10, 2 * d + 10, 20.0]
    )
    assert t.tolist() == [1.0, 2.0, 3.0]
    assert s.tolist() == [1.0, 1.5, 1.5]
    assert 0 < mu < 1


def test_summarise_and_ccdf() -> None:
    s = rd.summarise([1.0, 2.0, 3.0, 4.0, 5.0, float("nan")])
    assert (s["n"], s["median"], s["mean"]) == (5.0, 3.0, 3.0)
    x, p = rd.ccdf([3.0, 1.0, 2.0])
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert p.tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert math.isnan(rd.summarise([])["median"])


# -- the script ------------------------------------------------------------------------


def test_missing_data_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = realism.main(["--data", str(tmp_path / "absent"), "--plots", ""])
    assert code == 2
    err = capsys.readouterr().err
    assert "absent" in err
    assert "not found" in err
    assert "Traceback" not in err


def _ms(values: list[float]) -> pa.Array:
    return pa.array([int(v * 1000) for v in values], pa.timestamp("ms", tz="UTC"))


def _fake_sim(out: Path) -> None:
    """A minimal simulator folder: two people, two buildings, a day of stays, one trip,
    one meeting, and a four-event communications feed with its mapping."""
    (out / "truth").mkdir(parents=True)
    (out / "sources").mkdir()
    (out / "mappings").mkdir()
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    h = 3600.0
    tables = {
        "buildings": pa.table(
            {
                "building_id": [0, 1],
                "kind": ["house", "office"],
                "lat": [LAT0, LAT0 + 0.01],
                "lon": [LON0, LON0],
            }
        ),
        "persons": pa.table({"person_id": [0, 1], "home_building": [0, 0]}),
        "stays": pa.table(
            {
                "person_id": [0, 0, 1, 1],
                "building_id": [0, 1, 0, -1],
                "start": _ms([0, 9 * h, 0, 10 * h]),
                "end": _ms([8 * h, 17 * h, 10 * h, 20 * h]),
                "activity": ["home", "work", "home", "away"],
            }
        ),
        "trips": pa.table({"distance_m": [1100.0], "start": _ms([8 * h]), "end": _ms([9 * h])}),
        "meetings": pa.table({"start": _ms([10 * h]), "end": _ms([11 * h])}),
    }
    for name, table in tables.items():
        pq.write_table(table, out / "truth" / f"{name}.parquet")
    (out / "sources" / "cdr.csv").write_text(
        "A,B,T,C\n"
        "+4520123401,+4520123402,1000,VOICE\n"
        "+4520123402,+4520123401,61000,SMS\n"
        "+4520123401,+4520123403,121000,SMS\n"
        "+4520123403,+4520123401,86401000,SMS\n",
        encoding="utf-8",
    )
    mapping = {
        "source": "sim_cdr",
        "kind": "communication",
        "files": ["../sources/cdr.csv"],
        "properties": {
            "from_number": "A",
            "to_number": "B",
            "time": {"column": "T", "format": "epoch_ms"},
            "channel": {"column": "C", "values": {"VOICE": "call", "SMS": "sms"}},
        },
    }
    (out / "mappings" / "cdr.yaml").write_text(json.dumps(mapping), encoding="utf-8")


def test_load_sim_on_a_tiny_folder(tmp_path: Path) -> None:
    """The fake folder's figures: stays inside the district 8, 8 and 10 h; one 1.1 km
    trip of 60 min; the feed (ingested through Tessera) has two ties over one day, one of
    them with both channels."""
    out = tmp_path / "sim"
    _fake_sim(out)
    sim = realism.load_sim(out)
    assert sorted((sim.dwell_s / 3600).tolist()) == [8.0, 8.0, 10.0]
    assert sim.trip_distance_m.tolist() == [1100.0]
    assert sim.trip_duration_s.tolist() == [3600.0]
    assert sim.meetings_s.tolist() == [3600.0]
    assert sim.copresence_s.tolist() == [8 * 3600.0]
    assert sim.comms is not None
    assert sim.comms.rates.pairs == 2
    assert sim.comms.rates.share_both == 0.5
    assert sim.device_gaps_s is None
    table = realism.markdown_table(realism.rows(_real_stub(), sim))
    assert "TODO-SIM" not in table


def test_update_doc_rewrites_only_the_block(tmp_path: Path) -> None:
    """The text between the markers is replaced, the text around them kept byte for byte,
    and a second run with the same block changes nothing."""
    doc = tmp_path / "doc.md"
    head = "# Title\n\nProse, hand-written.\n\n"
    tail = "\n\n### References\n\n- one\n"
    doc.write_text(f"{head}{realism.BEGIN}\nold table\n{realism.END}{tail}", encoding="utf-8")
    out = tmp_path / "sim"
    _fake_sim(out)
    sim = realism.load_sim(out)
    block = realism.doc_block(realism.rows(_real_stub(), sim), sim, "img")
    realism.update_doc(doc, block)
    text = doc.read_text(encoding="utf-8")
    assert text == f"{head}{realism.BEGIN}\n\n{block}\n{realism.END}{tail}"
    assert "old table" not in text
    assert "![Mobility vs published figures](img/mobility.svg)" in text
    realism.update_doc(doc, block)
    assert doc.read_text(encoding="utf-8") == text


def test_update_doc_needs_one_pair_of_markers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    for body in ("no markers", f"{realism.END}\n{realism.BEGIN}", f"{realism.BEGIN}" * 2):
        doc.write_text(body, encoding="utf-8")
        with pytest.raises(realism.RealismError, match="realism:begin"):
            realism.update_doc(doc, "x\n")
        assert doc.read_text(encoding="utf-8") == body


def test_doc_block_has_every_table_and_plot(tmp_path: Path) -> None:
    """One heading, table and set of plots per source; the activity table under GeoLife."""
    out = tmp_path / "sim"
    _fake_sim(out)
    sim = realism.load_sim(out)
    block = realism.doc_block(realism.rows(_real_stub(), sim), sim, "img/simulation")
    assert block.startswith("Simulator: `tessera simulate OUT` (2 people, 0.8 days).")
    assert block.count("| source | figure |") == len(realism.GROUPS)
    assert block.index("| activity | stays |") < block.index("#### Copenhagen")
    for _, _, images in realism.GROUPS:
        for name, _ in images:
            assert f"(img/simulation/{name})" in block
    assert "TODO-SIM" not in block


def test_simulation_doc_has_one_generated_block() -> None:
    text = (ROOT / "docs" / "simulation.md").read_text(encoding="utf-8")
    assert text.count(realism.BEGIN) == text.count(realism.END) == 1


def _real_stub() -> realism.Real:
    """A real side made of the tiny inputs above, to exercise the table code."""
    comms = rd.communications([0.0, 60.0], [1, 2], [2, 1], [True, False])
    contacts = rd.contact_durations([20, 40], [1, 1], [2, 2])
    g = rd.GeoLife(users=1, fixes=0)
    return realism.Real(geolife=g, cns=comms, contacts=contacts)


# -- real data -------------------------------------------------------------------------


def _dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"../shared/data/{name} not present")
    return path


def test_geolife_reference_figures() -> None:
    """Six users: ~170 stays with a median dwell of ~13 min, ~76 observed trips."""
    g = rd.geolife_stays(_dataset("geolife_dev"))
    assert g.users == 6
    assert 100 < g.dwell_s.size < 400
    assert 5 < float(np.median(g.dwell_s)) / 60 < 60
    assert float(np.median(g.dwell_bridged_s)) >= float(np.median(g.dwell_s))
    assert g.trip_distance_m.size > 30


def test_cns_reference_figures() -> None:
    """880 call/SMS ties (SOURCE.txt) over 28 days; the three channel shares sum to 1."""
    c = rd.cns_pair_rates(_dataset("copenhagen_cns"))
    assert c.rates.pairs == 880
    assert c.rates.days == pytest.approx(28.0, abs=0.1)
    total = c.rates.share_calls_only + c.rates.share_sms_only + c.rates.share_both
    assert total == pytest.approx(1.0)
    assert 0.0 < float(np.median(c.burstiness)) < 1.0


def test_sociopatterns_reference_figures() -> None:
    """Most face-to-face contacts last one 20 s window; durations are multiples of 20 s."""
    c = rd.sociopatterns_contacts(_dataset("sociopatterns_workplace"))
    assert float(np.median(c.duration_s)) == 20.0
    assert np.all(c.duration_s % 20 == 0)
    assert c.pairs > 1000


def test_modules_do_not_import_matplotlib() -> None:
    """Plotting is the only use of matplotlib, and it is imported there, lazily: importing
    both modules in a fresh interpreter loads no matplotlib."""
    import subprocess

    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import _realism_data, realism; "
        "print('matplotlib' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
