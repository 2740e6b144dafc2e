"""Communications and contact lists: determinism, phones in use, second phones and hidden
pairs, ties and rhythms, burstiness, and feeds that ingest cleanly into a workspace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import phonenumbers
import pyarrow as pa
import pytest

from tessera.simulate import Population, Schedule, build_population, build_schedule, build_world
from tessera.simulate.assets import NIGHT_OFF_HOURS, Assets, build_assets
from tessera.simulate.comms import (
    NUMBER_PLANS,
    Communications,
    build_communications,
    build_contact_lists,
    communication_feed,
    contact_feed,
    draw_numbers,
    typed_number,
)
from tessera.simulate.feeds import Feed
from tessera.simulate.output import write_feed
from tessera.simulate.routine import LOCAL
from tessera.types.base import CleanOptions
from tessera.types.phone import PhoneType
from tessera.workspace import Workspace

START = dt.date(2026, 10, 5)
DAYS = 7
SEED = 11
PHONE = PhoneType()
DE = CleanOptions(phone_region="DE")


@pytest.fixture(scope="module")
def city() -> tuple[Population, Schedule, Assets]:
    world = build_world(SEED)
    pop = build_population(world, 600, SEED)
    schedule = build_schedule(world, pop, START, DAYS, SEED)
    return pop, schedule, build_assets(world, pop, schedule, START, DAYS, SEED)


@pytest.fixture(scope="module")
def comms(city: tuple[Population, Schedule, Assets]) -> Communications:
    pop, schedule, assets = city
    return build_communications(pop, assets, schedule, SEED)


def _people(assets: Assets, device: np.ndarray) -> np.ndarray:
    return np.where(device >= 0, assets.device_person[np.maximum(device, 0)], -1)


def _local_hours(t: np.ndarray) -> np.ndarray:
    return np.array([dt.datetime.fromtimestamp(int(x), LOCAL).hour for x in t])


def test_same_seed_same_rows_other_seed_other_rows(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    pop, schedule, assets = city
    again = build_communications(pop, assets, schedule, SEED)
    assert comms.table().equals(again.table())
    other = build_communications(pop, assets, schedule, SEED + 1)
    assert not np.array_equal(comms.time[:100], other.time[:100])
    lists = build_contact_lists(pop, assets, schedule, SEED)
    assert lists.equals(build_contact_lists(pop, assets, schedule, SEED))


def test_rows_sorted_in_period_with_consistent_numbers(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    _, _, assets = city
    assert len(comms) > 0
    assert (np.diff(comms.time) >= 0).all()
    assert comms.time.min() >= assets.period_start
    assert comms.time.max() < assets.period_end
    msisdn = np.array(assets.device_msisdn, dtype=object)
    inside = comms.from_device >= 0
    assert (comms.from_number[inside] == msisdn[comms.from_device[inside]]).all()
    inside = comms.to_device >= 0
    assert (comms.to_number[inside] == msisdn[comms.to_device[inside]]).all()
    # never outside on both ends, never a phone talking to itself
    assert ((comms.from_device >= 0) | (comms.to_device >= 0)).all()
    assert (comms.from_number != comms.to_number).all()
    assert set(comms.channel.tolist()) == {"call", "sms"}
    assert (comms.duration_s[~comms.is_call] == 0).all()


def test_outside_parties_have_fixed_valid_numbers(comms: Communications) -> None:
    outside = np.concatenate(
        [comms.from_number[comms.from_device < 0], comms.to_number[comms.to_device < 0]]
    )
    share = len(outside) / (len(outside) + 2 * int(((comms.from_device >= 0)
                                                     & (comms.to_device >= 0)).sum()))  # fmt: skip
    assert 0.12 < share < 0.3  # about a fifth of what people send or receive
    kinds = {n[:5] for n in outside}
    assert "+4930" in kinds  # Berlin landlines
    assert any(not n.startswith("+49") for n in outside)  # and some abroad


def test_every_number_plan_gives_valid_distinct_numbers() -> None:
    rng = np.random.default_rng(1)
    for plan in sorted(NUMBER_PLANS):
        numbers = draw_numbers(plan, 200, rng)
        assert len(set(numbers)) == 200
        assert all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in numbers), plan
        for n in numbers[:3]:
            for style in range(13):  # every typed form cleans back to the same number
                assert PHONE.clean(typed_number(n, style), DE).value == n


def test_devices_in_use_were_active(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    _, _, assets = city
    for device in (comms.from_device, comms.to_device):
        used = device >= 0
        d, t = device[used], comms.time[used]
        assert ((assets.device_from[d] <= t) & (t < assets.device_to[d])).all()


def test_swapped_phones_hand_over_at_the_swap(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    _, _, assets = city
    assert len(assets.swap_person) > 0
    for old, new, when in zip(assets.swap_old, assets.swap_new, assets.swap_time, strict=True):
        on_old = (comms.from_device == old) | (comms.to_device == old)
        on_new = (comms.from_device == new) | (comms.to_device == new)
        assert (comms.time[on_old] < when).all()
        assert (comms.time[on_new] >= when).all()


def test_second_phones_talk_only_to_their_contacts_at_their_times(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    _, schedule, assets = city
    policy_rows = {"work_hours": 0, "evenings": 0, "meetings": 0}
    for mine, other in ((comms.from_device, comms.to_device), (comms.to_device, comms.from_device)):
        rows = np.flatnonzero((mine >= 0) & (assets.device_role[np.maximum(mine, 0)] == "second"))
        for i in rows.tolist():
            d = int(mine[i])
            assert other[i] >= 0, "a second phone called outside"
            assert int(assets.device_person[other[i]]) in assets.second_contacts[d]
            policy = assets.second_policy[d]
            policy_rows[policy] += 1
            local = dt.datetime.fromtimestamp(int(comms.time[i]), LOCAL)
            if policy == "work_hours":
                assert local.weekday() < 5
                assert 9 <= local.hour < 18
            elif policy == "evenings":
                assert 18 <= local.hour < 23
            else:  # SMS in the 48 h before one of the pair's discreet meetings
                assert not comms.is_call[i]
                pair = sorted((int(assets.device_person[d]), int(assets.device_person[other[i]])))
                starts = [
                    int(schedule.meeting_start[m])
                    for m in np.flatnonzero(schedule.meeting_discreet).tolist()
                    if sorted(schedule.meeting_people[m]) == pair
                ]
                assert any(0 < s - comms.time[i] <= 48 * 3600 for s in starts)
    assert all(policy_rows.values()), policy_rows


def test_discreet_pairs_never_talk_primary_to_primary(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    pop, schedule, assets = city
    pairs = {
        tuple(sorted(schedule.meeting_people[m]))
        for m in np.flatnonzero(schedule.meeting_discreet).tolist()
    }
    assert pairs
    a, b = _people(assets, comms.from_device), _people(assets, comms.to_device)
    both_primary = (
        (comms.from_device >= 0)
        & (comms.to_device >= 0)
        & (assets.device_role[np.maximum(comms.from_device, 0)] == "primary")
        & (assets.device_role[np.maximum(comms.to_device, 0)] == "primary")
    )
    key = np.minimum(a, b) * pop.size + np.maximum(a, b)
    hidden = np.array([x * pop.size + y for x, y in pairs])
    assert not np.isin(key[both_primary], hidden).any()
    # ... yet they do talk, on second phones
    assert np.isin(key[~both_primary & (a >= 0) & (b >= 0)], hidden).any()
    # and their primary phones rest during their discreet meetings
    for m in np.flatnonzero(schedule.meeting_discreet).tolist():
        s, e = schedule.meeting_start[m], schedule.meeting_end[m]
        for p in schedule.meeting_people[m]:
            mine = (a == p) | (b == p)
            assert not ((comms.time[mine] >= s) & (comms.time[mine] < e)).any()


def test_people_away_keep_communicating(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    pop, schedule, assets = city
    away = np.flatnonzero(schedule.stay_activity == "away")
    assert len(away) > 0
    who = _people(assets, np.concatenate([comms.from_device, comms.to_device]))
    when = np.concatenate([comms.time, comms.time])
    hours_away = (schedule.stay_end[away] - schedule.stay_start[away]).sum() / 3600
    during = sum(
        int(((who == p) & (when >= s) & (when < e)).sum())
        for p, s, e in zip(
            schedule.stay_person[away],
            schedule.stay_start[away],
            schedule.stay_end[away],
            strict=True,
        )
    )
    overall = (who >= 0).sum() / (pop.size * DAYS * 24)
    assert during / hours_away > 0.5 * overall


def test_stronger_ties_communicate_more(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    pop, _, assets = city
    a, b = _people(assets, comms.from_device), _people(assets, comms.to_device)
    inside = (a >= 0) & (b >= 0)
    key = np.minimum(a, b)[inside] * pop.size + np.maximum(a, b)[inside]
    tie_key = pop.tie_a * pop.size + pop.tie_b
    order = np.argsort(tie_key)
    pos = np.searchsorted(tie_key[order], key)
    on_tie = (pos < len(order)) & (tie_key[order][np.minimum(pos, len(order) - 1)] == key)
    counts = np.bincount(order[pos[on_tie]], minlength=len(tie_key))
    assert on_tie.mean() > 0.9  # nearly everything inside runs along a tie

    def ranks(x: np.ndarray) -> np.ndarray:  # average ranks, as Spearman's rho wants
        _, inverse, count = np.unique(x, return_inverse=True, return_counts=True)
        return np.asarray((np.cumsum(count) - (count - 1) / 2)[inverse])

    rho = np.corrcoef(ranks(pop.tie_strength), ranks(counts))[0, 1]
    assert rho > 0.3
    by_type = {t: counts[pop.tie_type == t].mean() for t in np.unique(pop.tie_type)}
    assert by_type["family"] > by_type["friend"] > by_type["acquaintance"]
    assert by_type["colleague"] > by_type["acquaintance"]


def test_volume_reciprocity_and_channel_mix(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    pop, _, assets = city
    a, b = _people(assets, comms.from_device), _people(assets, comms.to_device)
    per_person = (np.bincount(a[a >= 0], minlength=pop.size)
                  + np.bincount(b[b >= 0], minlength=pop.size)) / DAYS  # fmt: skip
    assert 3 <= per_person.mean() <= 7  # sent or received, per person and day
    assert np.percentile(per_person, 90) > 2 * np.median(per_person)  # heavy-tailed
    inside = (a >= 0) & (b >= 0)
    sent = np.bincount(a[inside], minlength=pop.size)
    got = np.bincount(b[inside], minlength=pop.size)
    both = (sent + got) >= 20
    assert 0.2 < (sent[both] / (sent[both] + got[both])).mean() < 0.8
    assert 0.25 < comms.is_call.mean() < 0.65
    calls = comms.duration_s[comms.is_call & (comms.duration_s > 0)]
    assert 50 < np.median(calls) < 110
    assert calls.max() > 10 * np.median(calls)  # heavy-tailed lengths


def test_quiet_nights_and_colleagues_by_day(
    city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    pop, _, assets = city
    hours = _local_hours(comms.time)
    assert (hours < 6).mean() < 0.04
    by_hour = np.bincount(hours, minlength=24)
    assert by_hour[10:13].sum() > 3 * by_hour[0:6].sum()
    assert by_hour[18:22].sum() > 3 * by_hour[0:6].sum()
    # phones off at night stay silent then
    lo, hi = NIGHT_OFF_HOURS
    night = (hours >= lo) & (hours < hi)
    for device in (comms.from_device, comms.to_device):
        off = (device >= 0) & assets.device_night_off[np.maximum(device, 0)]
        assert not (off & night).any()
    # colleagues talk on working days
    a, b = _people(assets, comms.from_device), _people(assets, comms.to_device)
    colleague = (
        pop.tie_a[pop.tie_type == "colleague"] * pop.size + pop.tie_b[pop.tie_type == "colleague"]
    )
    key = np.minimum(a, b) * pop.size + np.maximum(a, b)
    mine = np.isin(key, colleague) & (a >= 0) & (b >= 0)
    weekday = np.array(
        [dt.datetime.fromtimestamp(int(x), LOCAL).weekday() for x in comms.time[mine]]
    )
    assert (weekday < 5).mean() > 0.9


def test_bursty_timing(city: tuple[Population, Schedule, Assets], comms: Communications) -> None:
    _, _, assets = city
    a, b = _people(assets, comms.from_device), _people(assets, comms.to_device)
    person = np.concatenate([a[a >= 0], b[b >= 0]])
    t = np.concatenate([comms.time[a >= 0], comms.time[b >= 0]])
    order = np.lexsort((t, person))
    person, t = person[order], t[order]
    same = person[1:] == person[:-1]
    gaps = np.diff(t)[same].astype(float)
    assert gaps.std() / gaps.mean() > 1  # Poisson timing would give 1
    assert np.median(gaps) < 20 * 60  # minutes apart within an exchange ...
    assert np.percentile(gaps, 90) > 3 * 3600  # ... hours between exchanges


def test_dst_change_keeps_local_rhythm() -> None:
    """Across the switch to winter time (2026-10-25) the quiet hours stay local."""
    world = build_world(3)
    pop = build_population(world, 300, 3)
    start = dt.date(2026, 10, 23)
    schedule = build_schedule(world, pop, start, 4, 3)
    assets = build_assets(world, pop, schedule, start, 4, 3)
    comms = build_communications(pop, assets, schedule, 3)
    assert assets.period_end - assets.period_start == (4 * 24 + 1) * 3600
    hours = _local_hours(comms.time)
    assert (hours < 6).mean() < 0.04


def test_clock_follows_the_switch_to_winter_time() -> None:
    """Known answer: 2026-10-25 has 25 local hours and 02:00 twice; the days around it
    have 24. (A fixed UTC offset would pass the rhythm test above but not this.)"""
    from tessera.simulate.comms import _Clock

    t0 = int(dt.datetime(2026, 10, 24, tzinfo=LOCAL).timestamp())
    t1 = int(dt.datetime(2026, 10, 27, tzinfo=LOCAL).timestamp())
    clock = _Clock.of(t0, t1)
    assert np.diff(clock.day_first).tolist() == [24, 25, 24]
    on_25th = clock.slot_hour[clock.day_first[1] : clock.day_first[2]].tolist()
    assert on_25th == [0, 1, 2, 2, *range(3, 24)]


def test_contact_lists(city: tuple[Population, Schedule, Assets]) -> None:
    pop, schedule, assets = city
    lists = build_contact_lists(pop, assets, schedule, SEED)
    assert lists.column_names == ["owner_number", "owner_imei", "listed_number", "listed_name"]
    owners = set(lists.column("owner_number").to_pylist())
    phones = int((assets.device_role == "primary").sum())
    assert 0.05 * phones < len(owners) < 0.16 * phones
    primary = {n for n, r in zip(assets.device_msisdn, assets.device_role, strict=True)
               if r == "primary"}  # fmt: skip
    assert owners <= primary
    rows = lists.to_pylist()
    assert all(r["listed_name"] and r["listed_number"].startswith("+") for r in rows)
    assert len({(r["owner_number"], r["listed_number"]) for r in rows}) == len(rows)
    # most entries are the owner's ties
    person_of = {n: int(p) for n, p in zip(assets.device_msisdn, assets.device_person,
                                           strict=True)}  # fmt: skip
    ties = {(int(a), int(b)) for a, b in zip(pop.tie_a, pop.tie_b, strict=True)}
    on_tie = [
        tuple(sorted((person_of[r["owner_number"]], person_of[r["listed_number"]]))) in ties
        for r in rows
        if r["listed_number"] in person_of
    ]
    assert np.mean(on_tie) > 0.95
    names = {r["listed_name"] for r in rows}
    assert names & {"Mama", "Papa", "妈妈", "爸爸", "Mum", "Dad", "Мама", "Папа"}


def _ingest(tmp_path: Path, feed: Feed) -> Workspace:
    mapping = write_feed(tmp_path, feed)
    ws = Workspace.init(tmp_path / f"ws_{feed.name}")
    [result] = ws.ingest(mapping)
    assert result.quarantined == len(feed.planted) == 0
    assert result.loaded == feed.table.num_rows
    return ws


def test_feeds_ingest_to_the_true_numbers(
    tmp_path: Path, city: tuple[Population, Schedule, Assets], comms: Communications
) -> None:
    pop, schedule, assets = city
    ws = _ingest(tmp_path, communication_feed(comms))
    try:
        got = ws.engine.fetch_rows(
            "SELECT from_number, to_number, time, channel, duration_s FROM obs_communication"
            " ORDER BY row_no"
        )
    finally:
        ws.close()
    assert [r[0] for r in got] == comms.from_number.tolist()
    assert [r[1] for r in got] == comms.to_number.tolist()
    assert [int(r[2].timestamp()) for r in got] == comms.time.tolist()
    assert [r[3] for r in got] == comms.channel.tolist()
    assert [r[4] for r in got] == comms.duration_s.tolist()

    lists = build_contact_lists(pop, assets, schedule, SEED)
    feed = contact_feed(lists)
    typed = feed.table.column("number").to_pylist()
    assert sum(not n.startswith("+") for n in typed) > len(typed) / 3  # national forms
    assert any(n.startswith("00") for n in typed)
    ws = _ingest(tmp_path, feed)
    try:
        got = ws.engine.fetch_rows(
            "SELECT owner_number, owner_imei, listed_number, listed_name FROM obs_contact"
            " ORDER BY row_no"
        )
    finally:
        ws.close()
    assert [r[2] for r in got] == lists.column("listed_number").to_pylist()
    assert [r[0] for r in got] == lists.column("owner_number").to_pylist()
    assert [r[1] for r in got] == lists.column("owner_imei").to_pylist()
    assert all(r[3] for r in got)


def test_table_columns(comms: Communications) -> None:
    table = comms.table()
    assert table.num_rows == len(comms)
    assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    assert table.column("from_number").to_pylist()[:50] == comms.from_number[:50].tolist()
    assert table.column("channel").to_pylist()[:50] == comms.channel[:50].tolist()
