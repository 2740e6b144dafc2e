"""Phones and vehicles, and how each person travels.

Phones: nearly everyone has a primary phone; a share of people (more among diplomats
and attachés, and the embassy side of every discreet pair) carry a second phone that
talks to a few contacts only and is on only at certain times; some people swap
devices mid-period (a new handset keeps the number; a new number keeps the handset).
A device row is one (MSISDN, IMSI, IMEI) combination over an interval, so a swap ends
one row and starts another.

Vehicles: household cars (shared by the household's drivers), private cars with
diplomatic plates for foreign embassy people, chauffeured official cars (diplomatic
plates for embassies, official plates for ministries), company cars registered to
their company, and a taxi fleet that carries many riders.

Each person gets a main travel mode: car, chauffeur, taxi, metro, bicycle or foot;
the movement model may still walk short trips or hail a taxi now and then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.simulate.population import EMBASSY_ROLES, Population
from tessera.simulate.routine import Schedule, local_midnights
from tessera.simulate.world import World
from tessera.types.identifiers import luhn_check_digit

if TYPE_CHECKING:
    import pyarrow as pa

MODES = ("car", "chauffeur", "taxi", "metro", "bicycle", "foot")

# role -> shares of main modes (car, chauffeur, taxi, metro, bicycle, foot)
_MODE_SHARES: dict[str, tuple[float, ...]] = {
    "diplomat": (0.30, 0.55, 0.10, 0.05, 0.0, 0.0),
    "attache": (0.45, 0.35, 0.10, 0.10, 0.0, 0.0),
    "embassy_staff": (0.40, 0.0, 0.05, 0.40, 0.10, 0.05),
    "driver": (0.50, 0.0, 0.0, 0.40, 0.10, 0.0),
    "ministry_official": (0.35, 0.10, 0.05, 0.35, 0.15, 0.0),
    "journalist": (0.20, 0.0, 0.15, 0.40, 0.25, 0.0),
    "business": (0.50, 0.0, 0.10, 0.30, 0.10, 0.0),
    "student": (0.0, 0.0, 0.0, 0.50, 0.30, 0.20),
    "service_worker": (0.10, 0.0, 0.0, 0.50, 0.20, 0.20),
    "local_resident": (0.40, 0.0, 0.02, 0.30, 0.13, 0.15),
}
_SECOND_PHONE = {"diplomat": 0.30, "attache": 0.40, "business": 0.10, "journalist": 0.15}
_SECOND_PHONE_OTHER = 0.03
_SWAP_SHARE = 0.04
_NO_PHONE_SHARE = 0.01
_GPS_SHARE = 0.08  # primary handsets whose app reports GPS-grade fixes
_NIGHT_OFF_SHARE = 0.10
NIGHT_OFF_HOURS = (1, 6)  # local hours [from, to) when night_off phones are off

_MAKES = {
    "Volkswagen": ("Golf", "Passat", "Polo", "Tiguan"),
    "BMW": ("3er", "5er", "X3"),
    "Mercedes-Benz": ("C-Klasse", "E-Klasse", "S-Klasse", "V-Klasse"),
    "Audi": ("A4", "A6", "Q5"),
    "Toyota": ("Corolla", "Prius", "RAV4"),
    "Skoda": ("Octavia", "Superb"),
    "Opel": ("Astra", "Corsa"),
}
_COLOURS = ("black", "silver", "white", "grey", "blue", "red", "dark blue")
_PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
# German diplomatic plates start with 0 and a code for the mission's country.
_DIPLO_CODE = {"CN": 17, "RU": 40, "US": 18, "GB": 11, "FR": 13, "IR": 53, "SA": 91,
               "EG": 63, "TR": 15, "JP": 19, "IN": 65, "BR": 84, "PL": 33, "IT": 12,
               "ES": 14, "UA": 99, "KR": 81, "AE": 97, "PK": 72, "NG": 70}  # fmt: skip
_TACS = ("35332510", "35391110", "35693803", "86891204", "35467810", "35209900", "86920603")


@dataclass(frozen=True)
class Assets:
    """Devices, vehicles and travel modes; arrays aligned by their ids."""

    period_start: int  # UTC epoch seconds
    period_end: int
    # devices: one row per (MSISDN, IMSI, IMEI) over [device_from, device_to)
    device_person: np.ndarray
    device_role: np.ndarray  # primary | second
    device_msisdn: list[str]  # E.164
    device_imsi: list[str]
    device_imei: list[str]
    device_from: np.ndarray
    device_to: np.ndarray
    device_contract: np.ndarray  # prepaid | postpaid | corporate
    device_org: np.ndarray  # subscribing organisation of corporate lines, else -1
    device_gps: np.ndarray  # bool: an app on it reports GPS-grade fixes
    device_night_off: np.ndarray  # bool: switched off at night
    second_policy: dict[int, str]  # second device -> work_hours | evenings | meetings
    second_contacts: dict[int, list[int]]  # second device -> the people it talks to
    swap_person: np.ndarray
    swap_old: np.ndarray
    swap_new: np.ndarray
    swap_time: np.ndarray
    swap_kind: np.ndarray  # handset | number
    # vehicles
    vehicle_plate: list[str]  # as registered, e.g. "B-KM 4821", "0 17-123"
    vehicle_kind: np.ndarray  # private | diplomatic | official | company | taxi
    vehicle_owner_person: np.ndarray  # registered keeper, -1 when an organisation
    vehicle_owner_org: np.ndarray  # -1 when a person (taxis: -1 and -1, a taxi firm)
    vehicle_household: np.ndarray  # household that shares it, -1
    vehicle_make: list[str]
    vehicle_model: list[str]
    vehicle_colour: list[str]
    vehicle_vin: list[str]
    # travel
    person_mode: np.ndarray  # one of MODES
    person_vehicle: np.ndarray  # the car a person drives or is driven in, -1
    taxis: np.ndarray  # the taxi fleet's vehicle ids

    def devices_of(self, person: int) -> np.ndarray:
        return np.flatnonzero(self.device_person == person)

    def devices_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "device_id": np.arange(len(self.device_person), dtype=np.int32),
                "person_id": self.device_person.astype(np.int32),
                "role": self.device_role.tolist(),
                "msisdn": self.device_msisdn,
                "imsi": self.device_imsi,
                "imei": self.device_imei,
                "active_from": pa.array(self.device_from * 1000, pa.timestamp("ms", tz="UTC")),
                "active_to": pa.array(self.device_to * 1000, pa.timestamp("ms", tz="UTC")),
                "contract": self.device_contract.tolist(),
                "organisation_id": self.device_org.astype(np.int32),
                "gps_app": self.device_gps,
                "second_policy": [self.second_policy.get(d) for d in range(len(self.device_role))],
            }
        )

    def swaps_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "person_id": self.swap_person.astype(np.int32),
                "old_device_id": self.swap_old.astype(np.int32),
                "new_device_id": self.swap_new.astype(np.int32),
                "time": pa.array(self.swap_time * 1000, pa.timestamp("ms", tz="UTC")),
                "kind": self.swap_kind.tolist(),
            }
        )

    def vehicles_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "vehicle_id": np.arange(len(self.vehicle_kind), dtype=np.int32),
                "plate": self.vehicle_plate,
                "kind": self.vehicle_kind.tolist(),
                "owner_person_id": self.vehicle_owner_person.astype(np.int32),
                "owner_organisation_id": self.vehicle_owner_org.astype(np.int32),
                "household_id": self.vehicle_household.astype(np.int32),
                "make": self.vehicle_make,
                "model": self.vehicle_model,
                "colour": self.vehicle_colour,
                "vin": self.vehicle_vin,
            }
        )


def build_assets(
    world: World, pop: Population, schedule: Schedule, start: dt.date, days: int, seed: int
) -> Assets:
    """Phones, vehicles and modes; the discreet meetings in ``schedule`` decide who
    carries a second phone for them."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 3]).spawn(3)]
    midnights = local_midnights(start, days)
    t0, t1 = midnights[0], midnights[-1]
    modes = _modes(pop, streams[0])
    vehicles = _vehicles(pop, modes, streams[1])
    devices = _devices(pop, schedule, t0, t1, streams[2])
    return Assets(t0, t1, *devices, *vehicles[:-2], modes, vehicles[-2], vehicles[-1])


def _modes(pop: Population, rng: np.random.Generator) -> np.ndarray:
    modes = np.empty(pop.size, dtype=object)
    for role, shares in _MODE_SHARES.items():
        who = np.flatnonzero(pop.person_role == role)
        p = np.array(shares) / sum(shares)
        modes[who] = rng.choice(MODES, size=len(who), p=p)
    # nobody is chauffeured without an organisation that runs cars
    modes[(modes == "chauffeur") & (pop.person_org < 0)] = "taxi"
    return modes.astype(str)


def _plate(kind: str, rng: np.random.Generator, country: str = "DE") -> str:
    if kind == "diplomatic":
        return f"0 {_DIPLO_CODE.get(country, 50)}-{int(rng.integers(1, 10_000))}"
    if kind == "official":
        return f"BD {int(rng.integers(10, 99))}-{int(rng.integers(100, 999))}"
    letters = "".join(rng.choice(list(_PLATE_LETTERS), size=int(rng.integers(1, 3))))
    return f"B-{letters} {int(rng.integers(1, 9999))}"


def _vehicles(
    pop: Population, modes: np.ndarray, rng: np.random.Generator
) -> tuple[
    list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray,
    list[str], list[str], list[str], list[str], np.ndarray, np.ndarray,
]:  # fmt: skip
    plates: list[str] = []
    kind: list[str] = []
    owner_p: list[int] = []
    owner_o: list[int] = []
    household: list[int] = []
    person_vehicle = np.full(pop.size, -1, dtype=np.int64)
    seen: set[str] = set()

    def new(k: str, person: int, org: int, hh: int, country: str = "DE") -> int:
        plate = _plate(k, rng, country)
        while plate in seen:
            plate = _plate(k, rng, country)
        seen.add(plate)
        plates.append(plate)
        kind.append(k)
        owner_p.append(person)
        owner_o.append(org)
        household.append(hh)
        return len(plates) - 1

    org_kind = pop.org_kind
    drivers = np.flatnonzero(modes == "car")
    # household cars: one per household with drivers, a second for some
    by_hh: dict[int, list[int]] = {}
    for p in drivers.tolist():
        by_hh.setdefault(int(pop.person_household[p]), []).append(p)
    for hh, members in sorted(by_hh.items()):
        first = members[0]
        role, country = str(pop.person_role[first]), str(pop.person_nationality[first])
        foreign_mission = role in EMBASSY_ROLES and country != "DE"
        business = role == "business" and rng.random() < 0.5
        if business:  # a company car, registered to the company
            v = new("company", -1, int(pop.person_org[first]), -1)
        else:
            k = "diplomatic" if foreign_mission else "private"
            v = new(k, first, -1, hh if len(members) > 1 else -1, country)
        person_vehicle[first] = v
        shared = v
        for other in members[1:]:
            if rng.random() < 0.5:
                person_vehicle[other] = new("private", other, -1, -1)
            else:
                person_vehicle[other] = shared  # its household was set when it was made
    # chauffeured official cars, one per chauffeured person, registered to the mission
    for p in np.flatnonzero(modes == "chauffeur").tolist():
        org = int(pop.person_org[p])
        k = "diplomatic" if org_kind[org] == "embassy" else "official"
        person_vehicle[p] = new(k, -1, org, -1, str(pop.org_country[org]))
    # a taxi fleet: about one cab per 150 people, at least 10
    taxis = [new("taxi", -1, -1, -1) for _ in range(max(10, pop.size // 150))]
    n = len(plates)
    makes = list(_MAKES)
    make = [makes[int(i)] for i in rng.integers(0, len(makes), n)]
    model = [_MAKES[m][int(rng.integers(len(_MAKES[m])))] for m in make]
    for i, k in enumerate(kind):  # missions and taxis favour some makes
        if k in ("diplomatic", "official"):
            make[i], model[i] = "Mercedes-Benz", ("E-Klasse", "S-Klasse", "V-Klasse")[i % 3]
        elif k == "taxi":
            make[i], model[i] = ("Mercedes-Benz", "E-Klasse") if i % 2 else ("Toyota", "Prius")
    colour = [_COLOURS[int(i)] for i in rng.integers(0, len(_COLOURS), n)]
    vin = [_vin(rng) for _ in range(n)]
    return (
        plates, np.array(kind), np.array(owner_p, dtype=np.int64),
        np.array(owner_o, dtype=np.int64), np.array(household, dtype=np.int64),
        make, model, colour, vin, person_vehicle, np.array(taxis, dtype=np.int64),
    )  # fmt: skip


def _vin(rng: np.random.Generator) -> str:
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    return "W" + "".join(chars[int(i)] for i in rng.integers(0, len(chars), 16))


class _Numbers:
    """Unique MSISDNs, IMSIs and IMEIs drawn from one stream."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def _unique(self, make: object) -> str:
        while True:
            value = make()  # type: ignore[operator]
            if value not in self.seen:
                self.seen.add(value)
                return str(value)

    def msisdn(self) -> str:
        prefixes = ("151", "152", "157", "160", "162", "170", "171", "172", "176", "177")
        return self._unique(
            lambda: (
                f"+49{prefixes[int(self.rng.integers(len(prefixes)))]}"
                f"{int(self.rng.integers(1_000_000, 99_999_999)):08d}"
            )
        )

    def imsi(self) -> str:
        mnc = ("01", "02", "03")[int(self.rng.integers(3))]
        return self._unique(lambda: f"262{mnc}{int(self.rng.integers(0, 10**10)):010d}")

    def imei(self) -> str:
        def make() -> str:
            body = _TACS[int(self.rng.integers(len(_TACS)))] + (
                f"{int(self.rng.integers(0, 10**6)):06d}"
            )
            return body + luhn_check_digit(body)

        return self._unique(make)


def _devices(
    pop: Population, schedule: Schedule, t0: int, t1: int, rng: np.random.Generator
) -> tuple[
    np.ndarray, np.ndarray, list[str], list[str], list[str], np.ndarray, np.ndarray,
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[int, str], dict[int, list[int]],
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
]:  # fmt: skip
    numbers = _Numbers(rng)
    rows: list[dict[str, object]] = []
    policy: dict[int, str] = {}
    contacts: dict[int, list[int]] = {}
    swaps: list[tuple[int, int, int, int, str]] = []
    corporate_roles = (*EMBASSY_ROLES, "ministry_official", "business", "journalist")
    # the embassy side of each discreet pair coordinates by a second phone
    discreet_partner: dict[int, set[int]] = {}
    for m in np.flatnonzero(schedule.meeting_discreet).tolist():
        a, b = schedule.meeting_people[m][:2]
        discreet_partner.setdefault(a, set()).add(b)
        discreet_partner.setdefault(b, set()).add(a)
    ties = pop.tie_index()

    def add(person: int, role: str, contract: str, org: int, frm: int, to: int,
            msisdn: str, imsi: str, imei: str) -> int:  # fmt: skip
        rows.append(
            {"person": person, "role": role, "msisdn": msisdn, "imsi": imsi, "imei": imei,
             "from": frm, "to": to, "contract": contract, "org": org,
             "gps": role == "primary" and rng.random() < _GPS_SHARE,
             "night_off": rng.random() < _NIGHT_OFF_SHARE}
        )  # fmt: skip
        return len(rows) - 1

    for p in range(pop.size):
        role = str(pop.person_role[p])
        org = int(pop.person_org[p])
        if rng.random() >= _NO_PHONE_SHARE:
            corporate = role in corporate_roles and org >= 0 and rng.random() < 0.4
            contract = (
                "corporate"
                if corporate
                else str(rng.choice(["postpaid", "prepaid"], p=[0.65, 0.35]))
            )
            d = add(p, "primary", contract, org if corporate else -1, t0, t1,
                    numbers.msisdn(), numbers.imsi(), numbers.imei())  # fmt: skip
            if rng.random() < _SWAP_SHARE:
                when = int(t0 + (t1 - t0) * rng.uniform(0.2, 0.8))
                kind = "handset" if rng.random() < 0.5 else "number"
                old = rows[d]
                old["to"] = when
                if kind == "handset":
                    msisdn, imsi, imei = str(old["msisdn"]), str(old["imsi"]), numbers.imei()
                else:
                    msisdn, imsi, imei = numbers.msisdn(), numbers.imsi(), str(old["imei"])
                new = add(p, "primary", str(old["contract"]), int(str(old["org"])), when, t1,
                          msisdn, imsi, imei)  # fmt: skip
                rows[new]["gps"] = old["gps"]
                rows[new]["night_off"] = old["night_off"]
                swaps.append((p, d, new, when, kind))
        partners = discreet_partner.get(p, set())
        p_second = _SECOND_PHONE.get(role, _SECOND_PHONE_OTHER)
        embassy_side = role in ("diplomat", "attache") and bool(partners)
        if embassy_side or (partners and rng.random() < 0.5) or rng.random() < p_second:
            d2 = add(p, "second", "prepaid", -1, t0, t1,
                     numbers.msisdn(), numbers.imsi(), numbers.imei())  # fmt: skip
            mine = ties.other[ties.of(p)]
            weights = ties.strength[ties.of(p)]
            k = min(len(mine), int(rng.integers(1, 4)))
            chosen = (
                rng.choice(mine, size=k, replace=False, p=weights / weights.sum()).tolist()
                if k
                else []
            )
            contacts[d2] = sorted({*map(int, chosen), *partners})
            policy[d2] = (
                "meetings"
                if partners
                else str(rng.choice(["work_hours", "evenings"], p=[0.5, 0.5]))
            )

    def col(key: str) -> list[Any]:
        return [r[key] for r in rows]

    return (
        np.array(col("person"), dtype=np.int64), np.array(col("role")),
        [str(v) for v in col("msisdn")], [str(v) for v in col("imsi")],
        [str(v) for v in col("imei")], np.array(col("from"), dtype=np.int64),
        np.array(col("to"), dtype=np.int64), np.array(col("contract")),
        np.array(col("org"), dtype=np.int64), np.array(col("gps"), dtype=bool),
        np.array(col("night_off"), dtype=bool), policy, contacts,
        np.array([s[0] for s in swaps], dtype=np.int64),
        np.array([s[1] for s in swaps], dtype=np.int64),
        np.array([s[2] for s in swaps], dtype=np.int64),
        np.array([s[3] for s in swaps], dtype=np.int64),
        np.array([s[4] for s in swaps], dtype=str),
    )  # fmt: skip
