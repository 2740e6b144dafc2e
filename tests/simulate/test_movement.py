"""Assets, trips and sensors of a small district: consistent with each other and with
the street network, and flawed the way real sensors are."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tessera.simulate import World, build_population, build_world
from tessera.simulate.assets import Assets, build_assets
from tessera.simulate.movement import Movement, MovementModel
from tessera.simulate.routine import LOCAL, OUTSIDE, Planner, Schedule
from tessera.simulate.sensors import EVENT_CODES, OCR_CONFUSIONS, SensorModel
from tessera.types.plate import confusion_distance

START = dt.date(2026, 10, 19)  # spans the end of summer time on 2026-10-25
DAYS = 8
PEOPLE = 900


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(11)


@pytest.fixture(scope="module")
def setup(world: World) -> tuple[Planner, Schedule, Assets, MovementModel, Movement]:
    pop = build_population(world, PEOPLE, seed=11)
    planner = Planner(world, pop, START, DAYS, seed=11)
    stays = planner.schedule()
    assets = build_assets(world, pop, stays, START, DAYS, seed=11)
    model = MovementModel(world, assets, START, DAYS, seed=11)
    return planner, stays, assets, model, model.block(stays)


@pytest.fixture(scope="module")
def sensors(
    world: World, setup: tuple[Planner, Schedule, Assets, MovementModel, Movement]
) -> SensorModel:
    planner, _, assets, _, _ = setup
    return SensorModel(world, assets, planner.pop.person_home, seed=11)


def _luhn_valid(number: str) -> bool:
    """Luhn's rule, checked from the whole number (every second digit from the right
    doubled, digit sums added): the total is a multiple of ten."""
    digits = [int(c) for c in reversed(number)]
    doubled = [sum(divmod(2 * d, 10)) for d in digits[1::2]]
    return (sum(digits[0::2]) + sum(doubled)) % 10 == 0


def test_identifiers_are_unique_and_well_formed(setup: tuple) -> None:  # type: ignore[type-arg]
    assets: Assets = setup[2]
    primary = assets.device_role == "primary"
    # a handset swap keeps the number, a number swap keeps the handset: otherwise unique
    assert (
        len(set(assets.device_imsi))
        == len(assets.device_imsi) - (assets.swap_kind == "handset").sum()
    )
    assert all(m.startswith("+49") and 13 <= len(m) <= 14 for m in assets.device_msisdn)
    assert all(len(i) == 15 and _luhn_valid(i) for i in assets.device_imei)
    assert (primary.sum() / PEOPLE) > 0.95
    assert len(set(assets.vehicle_plate)) == len(assets.vehicle_plate)
    # swaps: the old device ends when the new one starts
    for old, new, when in zip(assets.swap_old, assets.swap_new, assets.swap_time, strict=True):
        assert assets.device_to[old] == when == assets.device_from[new]


def test_trips_join_consecutive_stays(setup: tuple) -> None:  # type: ignore[type-arg]
    movement: Movement = setup[4]
    stays = movement.stays
    assert len(movement.trip_person) > PEOPLE * DAYS
    same = stays.stay_person[1:] == stays.stay_person[:-1]
    assert (stays.stay_end > stays.stay_start).all()
    assert (stays.stay_start[1:][same] >= stays.stay_end[:-1][same]).all()
    ends = set(zip(stays.stay_person.tolist(), stays.stay_end.tolist(), strict=True))
    starts = set(zip(stays.stay_person.tolist(), stays.stay_start.tolist(), strict=True))
    for p, s, e in zip(movement.trip_person, movement.trip_start, movement.trip_end, strict=True):
        assert (p, s) in ends
        assert (p, e) in starts
    # no person is on two trips at once
    order = np.lexsort((movement.trip_start, movement.trip_person))
    p, s, e = (x[order] for x in (movement.trip_person, movement.trip_start, movement.trip_end))
    assert (s[1:][p[1:] == p[:-1]] >= e[:-1][p[1:] == p[:-1]]).all()


def test_routes_follow_streets_at_plausible_speeds(world: World, setup: tuple) -> None:  # type: ignore[type-arg]
    movement: Movement = setup[4]
    edges = {tuple(sorted(e)) for e in world.edges.tolist()}
    road = ~np.isin(movement.trip_mode, ("metro",))[movement.route_trip]
    a, b = movement.route_node[:-1], movement.route_node[1:]
    step = (movement.route_trip[1:] == movement.route_trip[:-1]) & road[1:] & (a != b)
    assert all(
        tuple(sorted(x)) in edges for x in zip(a[step].tolist(), b[step].tolist(), strict=True)
    )
    hours = (movement.trip_end - movement.trip_start) / 3600
    kmh = movement.trip_distance_m / 1000 / np.maximum(hours, 1e-9)
    long = movement.trip_distance_m > 1500
    for mode, lo, hi in (
        ("foot", 2.5, 6.0),
        ("bicycle", 8, 17),
        ("car", 8, 45),
        ("metro", 6, 30),
        ("bus", 6, 30),
    ):
        pick = (movement.trip_mode == mode) & long
        assert pick.sum() > 10, mode
        assert lo < np.median(kmh[pick]) < hi, (mode, np.median(kmh[pick]))
    # short hops are walked whatever the mode
    short = movement.trip_distance_m < 300
    assert (movement.trip_mode[short] == "foot").mean() > 0.9


def test_a_vehicle_is_never_in_two_places(setup: tuple) -> None:  # type: ignore[type-arg]
    movement: Movement = setup[4]
    assets: Assets = setup[2]
    v = movement.trip_vehicle
    driven = v >= 0
    assert set(movement.trip_mode[driven]) <= {"car", "chauffeur", "taxi"}
    assert (v[movement.trip_mode == "car"] >= 0).all()
    order = np.lexsort((movement.trip_start[driven], v[driven]))
    veh, s, e = (
        v[driven][order],
        movement.trip_start[driven][order],
        movement.trip_end[driven][order],
    )
    same = veh[1:] == veh[:-1]
    assert (s[1:][same] >= e[:-1][same]).all()
    # taxis carry many riders; a household car only its household
    taxi_riders = {int(x): set() for x in assets.taxis}
    for vehicle, person in zip(
        v[driven].tolist(), movement.trip_person[driven].tolist(), strict=True
    ):
        if vehicle in taxi_riders:
            taxi_riders[vehicle].add(person)
    assert max(len(r) for r in taxi_riders.values()) >= 5


def test_positions_follow_stays_and_trips(world: World, setup: tuple) -> None:  # type: ignore[type-arg]
    movement: Movement = setup[4]
    stays = movement.stays
    pick = np.arange(0, len(stays.stay_person), 97)
    mid = (stays.stay_start[pick] + stays.stay_end[pick]) // 2
    xy = movement.positions(stays.stay_person[pick], mid)
    inside = stays.stay_building[pick] != OUTSIDE
    assert np.allclose(xy[inside], world.building_xy[stays.stay_building[pick][inside]])
    assert np.isnan(xy[~inside]).all()
    # mid-trip, people are somewhere along the streets, between the two ends
    t = (movement.trip_start + movement.trip_end) // 2
    moving = movement.moving(movement.trip_person, t)
    assert moving.all()
    assert not movement.moving(stays.stay_person[pick], mid).any()


def test_device_events_respect_devices_and_phones(
    world: World,
    setup: tuple,  # type: ignore[type-arg]
    sensors: SensorModel,
) -> None:
    _, _, assets, _, movement = setup
    empty = np.zeros(0, dtype=np.int64)
    ev = sensors.device_events(movement, range(PEOPLE), empty, empty, empty.astype(np.int8), 0)
    assert len(ev.time) / len(assets.device_person) / DAYS > 20
    assert (
        (ev.time >= assets.device_from[ev.device]) & (ev.time < assets.device_to[ev.device])
    ).all()
    # without calls passed in: location updates, data sessions and updates on the move
    assert {EVENT_CODES[c] for c in np.unique(ev.code).tolist()} == {"LU", "DATA", "HO"}
    # heavy-tailed gaps: far more variable than a Poisson process
    gaps = np.diff(ev.time)[ev.device[1:] == ev.device[:-1]]
    assert gaps.std() / gaps.mean() > 1.5
    # a second phone with a working-hours policy is silent at night and at weekends
    hours = sensors._local_hour(ev.time)
    work = [d for d, pol in assets.second_policy.items() if pol == "work_hours"]
    mine = np.isin(ev.device, work)
    assert mine.any()
    assert ((hours[mine] >= 9) & (hours[mine] < 18)).all()
    weekdays = {dt.datetime.fromtimestamp(int(t), LOCAL).weekday() for t in ev.time[mine]}
    assert weekdays <= {0, 1, 2, 3, 4}
    # phones switched off at night say nothing between one and six
    off = assets.device_night_off[ev.device]
    assert not (off & (hours >= 1) & (hours < 6)).any()
    # ping-pong: a device at home is seen on more than one sector over a week
    homebound = np.flatnonzero(assets.device_role == "primary")[:50]
    sectors_seen = [len(set(ev.sector[ev.device == d].tolist())) for d in homebound]
    assert np.median(sectors_seen) >= 2


def test_phone_left_at_home_stays_at_home(
    world: World,
    setup: tuple,  # type: ignore[type-arg]
    sensors: SensorModel,
) -> None:
    planner, stays, assets, _, movement = setup
    assert stays.phone_left
    empty = np.zeros(0, dtype=np.int64)
    ev = sensors.device_events(movement, range(PEOPLE), empty, empty, empty.astype(np.int8), 0)
    checked = 0
    for person, m in sorted(stays.phone_left):
        home = planner.pop.person_home[person]
        place = stays.meeting_building[m]
        during = (ev.time >= stays.meeting_start[m]) & (ev.time < stays.meeting_end[m])
        mine = (
            during
            & np.isin(ev.device, assets.devices_of(person))
            & (assets.device_role[ev.device] == "primary")
        )
        if not mine.any():
            continue
        sec_xy = world.site_xy[world.sector_site[ev.sector[mine]]]
        to_home = np.hypot(*(sec_xy - world.building_xy[home]).T)
        to_meeting = np.hypot(*(sec_xy - world.building_xy[place]).T)
        assert np.median(to_home) < np.median(to_meeting)
        checked += 1
    assert checked > 0


def test_plate_reads_have_ocr_flaws(setup: tuple, sensors: SensorModel) -> None:  # type: ignore[type-arg]
    movement: Movement = setup[4]
    reads = sensors.plate_reads(movement, 0)
    assert len(reads.time) > 1000
    wrong = np.array([r != t for r, t in zip(reads.read, reads.true_plate, strict=True)])
    assert 0.02 < wrong.mean() < 0.15
    for r, t in zip(
        np.array(reads.read)[wrong][:200], np.array(reads.true_plate)[wrong][:200], strict=True
    ):
        # a confusable substitution (cheap) or a dropped character
        assert confusion_distance(r, t) <= 1.0
        assert len(r) == len(t) - 1 or any(
            a != b and b in OCR_CONFUSIONS for a, b in zip(r, t, strict=True)
        )
    assert reads.confidence[wrong].mean() < reads.confidence[~wrong].mean()
    # every read happens during one of its vehicle's trips (duplicates: a second later)
    driven = np.flatnonzero(movement.trip_vehicle >= 0)
    order = driven[np.lexsort((movement.trip_start[driven], movement.trip_vehicle[driven]))]
    key = movement.trip_vehicle[order] * 10**10 + movement.trip_start[order]
    i = np.searchsorted(key, reads.vehicle * 10**10 + reads.time, side="right") - 1
    assert (movement.trip_vehicle[order][i] == reads.vehicle).all()
    assert (reads.time <= movement.trip_end[order][i] + 2).all()


def test_same_seed_same_everything(world: World, setup: tuple) -> None:  # type: ignore[type-arg]
    planner, stays, assets, _, movement = setup
    again = build_assets(world, planner.pop, stays, START, DAYS, seed=11)
    assert assets.devices_table().equals(again.devices_table())
    assert assets.vehicles_table().equals(again.vehicles_table())
    other = MovementModel(world, again, START, DAYS, seed=11).block(stays)
    assert movement.trips_table().equals(other.trips_table())
