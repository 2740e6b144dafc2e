"""The district's people: organisations, households, roles, homes, workplaces, social ties.

Who lives and works in the district follows the brief: diplomats, attachés, embassy
staff and drivers working at embassies; journalists and business people in offices;
students at schools; service workers in restaurants, cafes, hotels and gyms; local
residents, many of whom work outside the district. People live in households; the
social graph joins family (same household), colleagues (same organisation), friends
(by nationality and role, with a few bridges across) and acquaintances, each tie with a
strength in (0, 1].

Names are the truth: registries write them with their own dirt later. Each person has
a name in their own script (Hanzi for Chinese nationals) and its Latin form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tessera.simulate.world import World, WorldError

if TYPE_CHECKING:
    import pyarrow as pa

# role -> (share of people, workplace building kinds or "outside"/"home")
ROLES: dict[str, tuple[float, tuple[str, ...]]] = {
    "diplomat": (0.03, ("embassy",)),
    "attache": (0.01, ("embassy",)),
    "embassy_staff": (0.04, ("embassy",)),
    "driver": (0.015, ("embassy",)),
    "ministry_official": (0.03, ("ministry",)),
    "journalist": (0.02, ("office",)),
    "business": (0.12, ("office",)),
    "student": (0.10, ("school",)),
    "service_worker": (0.155, ("restaurant", "cafe", "hotel", "gym")),
    "local_resident": (0.48, ("outside", "home")),
}
EMBASSY_ROLES = ("diplomat", "attache", "embassy_staff", "driver")

# Countries with embassies here, and the name pools by naming tradition.
EMBASSY_COUNTRIES = (
    "CN", "RU", "US", "GB", "FR", "IR", "SA", "EG", "TR", "JP", "IN", "BR", "PL", "IT",
    "ES", "UA", "KR", "AE", "PK", "NG",
)  # fmt: skip
TRADITION = {"CN": "chinese", "RU": "russian", "UA": "russian", "IR": "arabic",
             "SA": "arabic", "EG": "arabic", "AE": "arabic", "PK": "arabic"}  # fmt: skip

_CN_FAMILY = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
              ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("周", "Zhou"),
              ("吴", "Wu")]  # fmt: skip
_CN_GIVEN = [("小明", "Xiaoming"), ("伟", "Wei"), ("芳", "Fang"), ("静", "Jing"),
             ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("艳", "Yan"),
             ("建华", "Jianhua"), ("丽娟", "Lijuan"), ("志强", "Zhiqiang")]  # fmt: skip
_RU_FAMILY = ["Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov",
              "Mikhailov", "Novikov", "Fedorov", "Morozov", "Volkov"]  # fmt: skip
_RU_GIVEN = ["Sergei", "Aleksandr", "Dmitri", "Andrei", "Aleksei", "Olga", "Natalia",
             "Elena", "Tatiana", "Irina", "Yuri", "Mikhail"]  # fmt: skip
_AR_FAMILY = ["Al-Sayed", "Haddad", "Hussein", "Abdullah", "Rahman", "Khalil", "Nasser",
              "Mansour", "Farouk", "Hashemi", "Karimi", "Tehrani"]  # fmt: skip
_AR_GIVEN = ["Mohammed", "Ahmed", "Omar", "Youssef", "Khaled", "Fatima", "Aisha", "Layla",
             "Mariam", "Hassan", "Ali", "Reza"]  # fmt: skip
# Other nationalities: (given names, family names) in Latin script.
_LATIN_NAMES: dict[str, tuple[list[str], list[str]]] = {
    "DE": (["Anna", "Thomas", "Michael", "Julia", "Stefan", "Katrin", "Peter", "Laura",
            "Jürgen", "Sabine", "Lukas", "Lena"],
           ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
            "Becker", "Schulz", "Hoffmann", "Koch", "Richter"]),
    "GB": (["James", "Emily", "Oliver", "Charlotte", "William", "Sophie", "Harry", "Grace"],
           ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans"]),
    "US": (["Michael", "Jennifer", "David", "Jessica", "Robert", "Ashley", "John", "Sarah"],
           ["Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson",
            "Thomas"]),
    "FR": (["Pierre", "Marie", "Jean", "Camille", "Louis", "Chloé", "Antoine", "Léa"],
           ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit",
            "Durand"]),
    "IT": (["Marco", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Matteo",
            "Sara"],
           ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
            "Ricci"]),
    "ES": (["Javier", "Lucía", "Carlos", "María", "Alejandro", "Carmen", "Pablo", "Elena"],
           ["García", "Fernández", "González", "Rodríguez", "López", "Martínez",
            "Sánchez", "Pérez"]),
    "PL": (["Jan", "Ewa", "Piotr", "Anna", "Krzysztof", "Katarzyna", "Tomasz", "Agnieszka"],
           ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński",
            "Lewandowski", "Zieliński"]),
    "JP": (["Hiroshi", "Yuki", "Takashi", "Akiko", "Kenji", "Naoko", "Satoshi", "Emi"],
           ["Tanaka", "Sato", "Suzuki", "Takahashi", "Watanabe", "Ito", "Yamamoto",
            "Nakamura"]),
    "KR": (["Minho", "Jiwoo", "Seojun", "Hana", "Dongwook", "Yuna", "Jihoon", "Soyeon"],
           ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"]),
    "IN": (["Priya", "Rahul", "Anjali", "Vikram", "Sunita", "Arjun", "Kavita", "Rohan"],
           ["Sharma", "Singh", "Patel", "Gupta", "Kumar", "Reddy", "Iyer", "Nair"]),
    "BR": (["João", "Ana", "Pedro", "Juliana", "Lucas", "Fernanda", "Gabriel", "Beatriz"],
           ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa",
            "Ferreira"]),
    "TR": (["Mehmet", "Ayşe", "Mustafa", "Fatma", "Ahmet", "Zeynep", "Emre", "Elif"],
           ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Aydın", "Öztürk"]),  # noqa: RUF001 - Turkish dotless i is intended
    "NG": (["Chidi", "Ngozi", "Emeka", "Amaka", "Tunde", "Funmi", "Ibrahim", "Aisha"],
           ["Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Bello", "Nwosu",
            "Abubakar"]),
}  # fmt: skip

TIE_TYPES = ("family", "colleague", "friend", "acquaintance")


@dataclass(frozen=True)
class TieIndex:
    """Ties grouped by person (see :meth:`Population.tie_index`)."""

    other: np.ndarray
    kind: np.ndarray
    strength: np.ndarray
    bounds: np.ndarray

    def of(self, person: int) -> slice:
        return slice(int(self.bounds[person]), int(self.bounds[person + 1]))


@dataclass(frozen=True)
class Population:
    """People and organisations; arrays aligned by id."""

    person_role: np.ndarray  # (n,) str
    person_org: np.ndarray  # (n,) organisation id or -1
    person_household: np.ndarray  # (n,)
    person_home: np.ndarray  # (n,) building id
    person_work: np.ndarray  # (n,) building id, -1 outside the district, -2 none
    person_nationality: np.ndarray  # (n,) ISO alpha-2
    person_name: list[str]  # in the person's own script
    person_name_latin: list[str]
    person_birth: np.ndarray  # (n,) datetime64[D]
    org_kind: np.ndarray  # (o,) embassy, ministry, company, media, school, venue
    org_name: list[str]
    org_country: np.ndarray  # (o,)
    org_building: np.ndarray  # (o,)
    tie_a: np.ndarray  # (t,) a < b
    tie_b: np.ndarray
    tie_type: np.ndarray  # (t,) str
    tie_strength: np.ndarray  # (t,) (0, 1]

    @property
    def size(self) -> int:
        return len(self.person_role)

    def tie_index(self) -> TieIndex:
        """Each person's ties: ``other[bounds[p]:bounds[p + 1]]`` are p's contacts, in
        the order of the tie table, with the tie's ``kind`` and ``strength`` alongside."""
        ends = np.concatenate([self.tie_a, self.tie_b])
        order = np.argsort(ends, kind="stable")
        return TieIndex(
            other=np.concatenate([self.tie_b, self.tie_a])[order],
            kind=np.concatenate([self.tie_type, self.tie_type])[order],
            strength=np.concatenate([self.tie_strength, self.tie_strength])[order],
            bounds=np.searchsorted(ends[order], np.arange(self.size + 1)),
        )

    def persons_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "person_id": np.arange(self.size, dtype=np.int32),
                "name": self.person_name,
                "name_latin": self.person_name_latin,
                "nationality": self.person_nationality.tolist(),
                "birth_date": pa.array(self.person_birth, pa.date32()),
                "role": self.person_role.tolist(),
                "organisation_id": self.person_org.astype(np.int32),
                "household_id": self.person_household.astype(np.int32),
                "home_building": self.person_home.astype(np.int32),
                "work_building": self.person_work.astype(np.int32),
            }
        )

    def organisations_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "organisation_id": np.arange(len(self.org_kind), dtype=np.int32),
                "kind": self.org_kind.tolist(),
                "name": self.org_name,
                "country": self.org_country.tolist(),
                "building_id": self.org_building.astype(np.int32),
            }
        )

    def ties_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.table(
            {
                "person_a": self.tie_a.astype(np.int32),
                "person_b": self.tie_b.astype(np.int32),
                "tie": self.tie_type.tolist(),
                "strength": self.tie_strength,
            }
        )


def build_population(world: World, persons: int, seed: int) -> Population:
    """People for ``world``: the same world, size and seed give the same population."""
    if persons < 20:
        raise WorldError(f"a population needs at least 20 people, got {persons}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(5)]
    orgs = _organisations(world, streams[0])
    roles = _roles(persons, streams[1])
    nat, org, work = _jobs(world, orgs, roles, streams[1])
    household, home = _households(world, roles, nat, org, streams[2])
    names, latin = _names(nat, household, streams[3])
    birth = _birth_dates(roles, streams[3])
    tie_a, tie_b, tie_type, strength = _ties(roles, org, household, nat, streams[4])
    return Population(
        roles, org, household, home, work, nat, names, latin, birth,
        orgs[0], orgs[1], orgs[2], orgs[3], tie_a, tie_b, tie_type, strength,
    )  # fmt: skip


def _organisations(
    world: World, rng: np.random.Generator
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    kind_of_building = world.building_kind
    kinds: list[str] = []
    names: list[str] = []
    countries: list[str] = []
    buildings: list[int] = []
    embassies = np.flatnonzero(kind_of_building == "embassy")
    for i, b in enumerate(embassies.tolist()):
        country = EMBASSY_COUNTRIES[i % len(EMBASSY_COUNTRIES)]
        suffix = "" if i < len(EMBASSY_COUNTRIES) else f" (annex {i // len(EMBASSY_COUNTRIES)})"
        kinds.append("embassy")
        names.append(f"Embassy of {country}{suffix}")
        countries.append(country)
        buildings.append(b)
    for i, b in enumerate(np.flatnonzero(kind_of_building == "ministry").tolist()):
        kinds.append("ministry")
        names.append(f"Federal Ministry {i + 1}")
        countries.append("DE")
        buildings.append(b)
    for i, b in enumerate(np.flatnonzero(kind_of_building == "office").tolist()):
        media = rng.random() < 0.08
        kinds.append("media" if media else "company")
        names.append(f"{'Press Agency' if media else 'Company'} {i + 1:03d}")
        countries.append("DE")
        buildings.append(b)
    for kind in ("school", "restaurant", "cafe", "hotel", "gym"):
        for i, b in enumerate(np.flatnonzero(kind_of_building == kind).tolist()):
            kinds.append("school" if kind == "school" else "venue")
            names.append(f"{kind.title()} {i + 1:03d}")
            countries.append("DE")
            buildings.append(b)
    return np.array(kinds), names, np.array(countries), np.array(buildings)


def _roles(persons: int, rng: np.random.Generator) -> np.ndarray:
    names = list(ROLES)
    shares = np.array([ROLES[r][0] for r in names])
    counts = np.floor(shares / shares.sum() * persons).astype(int)
    counts[names.index("local_resident")] += persons - counts.sum()
    roles = np.repeat(np.array(names), counts)
    return np.asarray(rng.permutation(roles))


def _jobs(
    world: World,
    orgs: tuple[np.ndarray, list[str], np.ndarray, np.ndarray],
    roles: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    org_kind, _, org_country, org_building = orgs
    n = len(roles)
    nationality = np.full(n, "DE", dtype=object)
    org = np.full(n, -1, dtype=np.int64)
    work = np.full(n, -2, dtype=np.int64)
    by_building_kind = world.building_kind[org_building]
    for role, (_, places) in ROLES.items():
        who = np.flatnonzero(roles == role)
        if len(who) == 0:
            continue
        if places == ("outside", "home"):
            outside = rng.random(len(who)) < 0.6
            work[who[outside]] = -1
            continue
        if role in EMBASSY_ROLES:
            pool = np.flatnonzero(org_kind == "embassy")
        elif role == "journalist":
            pool = np.flatnonzero(org_kind == "media")
        elif role == "business":
            pool = np.flatnonzero(org_kind == "company")
        else:
            pool = np.flatnonzero(np.isin(by_building_kind, places))
        if len(pool) == 0:
            raise WorldError(f"no workplace for role {role!r} in this world")
        # Organisation sizes are heavy-tailed: a few large, many small.
        weight = rng.pareto(1.5, len(pool)) + 1
        chosen = rng.choice(pool, size=len(who), p=weight / weight.sum())
        org[who] = chosen
        work[who] = org_building[chosen]
        if role in EMBASSY_ROLES:
            foreign = role != "driver" or rng.random() < 0.3
            nationality[who] = np.where(foreign, org_country[chosen], "DE")
        elif role in ("student", "journalist", "business"):
            # some foreigners among them
            mixed = rng.random(len(who)) < 0.15
            nationality[who[mixed]] = rng.choice(EMBASSY_COUNTRIES, size=int(mixed.sum()))
    return nationality.astype(str), org, work


def _households(
    world: World,
    roles: np.ndarray,
    nationality: np.ndarray,
    org: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Group people into households of 1-5 and give each a home with room for it."""
    n = len(roles)
    household = np.empty(n, dtype=np.int64)
    h = 0
    # Households share a nationality; within one, members are shuffled so roles mix.
    for country in np.unique(nationality):
        members = rng.permutation(np.flatnonzero(nationality == country))
        pos = 0
        while pos < len(members):
            size = int(rng.choice([1, 2, 3, 4, 5], p=[0.38, 0.33, 0.14, 0.11, 0.04]))
            household[members[pos : pos + size]] = h
            pos += size
            h += 1
    homes = np.flatnonzero(world.building_kind == "residential")
    if len(homes) == 0:
        raise WorldError("this world has no residential buildings")
    capacity = world.building_capacity[homes].astype(float)
    # Embassy households prefer homes near the centre (compounds by the quarter).
    r = np.hypot(*(world.building_xy[homes] - world.centre).T)
    near = capacity * np.exp(-r / (world.params.size_m / 3))
    home_of = np.empty(h, dtype=np.int64)
    embassy_hh = np.zeros(h, dtype=bool)
    embassy_hh[np.unique(household[np.isin(roles, EMBASSY_ROLES)])] = True
    home_of[embassy_hh] = rng.choice(homes, size=int(embassy_hh.sum()), p=near / near.sum())
    home_of[~embassy_hh] = rng.choice(
        homes, size=int((~embassy_hh).sum()), p=capacity / capacity.sum()
    )
    return household, home_of[household]


def _names(
    nationality: np.ndarray, household: np.ndarray, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    n = len(nationality)
    # A household shares a family name.
    family_seed = rng.integers(0, 1 << 30, size=int(household.max()) + 1)
    names: list[str] = []
    latin: list[str] = []
    for i in range(n):
        tradition = TRADITION.get(str(nationality[i]), "latin")
        f = int(family_seed[household[i]])
        if tradition == "chinese":
            fam = _CN_FAMILY[f % len(_CN_FAMILY)]
            giv = _CN_GIVEN[int(rng.integers(len(_CN_GIVEN)))]
            names.append(fam[0] + giv[0])
            latin.append(f"{fam[1]} {giv[1]}")
            continue
        if tradition == "russian":
            family, given = _RU_FAMILY[f % len(_RU_FAMILY)], _RU_GIVEN
        elif tradition == "arabic":
            family, given = _AR_FAMILY[f % len(_AR_FAMILY)], _AR_GIVEN
        else:
            given, families = _LATIN_NAMES.get(str(nationality[i]), _LATIN_NAMES["DE"])
            family = families[f % len(families)]
        full = f"{given[int(rng.integers(len(given)))]} {family}"
        names.append(full)
        latin.append(full)
    return names, latin


def _birth_dates(roles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    age = np.where(
        roles == "student", rng.uniform(15, 28, len(roles)), rng.uniform(23, 72, len(roles))
    )
    days = np.floor(age * 365.25).astype("timedelta64[D]")
    return np.datetime64("2026-06-01", "D") - days


def _ties(
    roles: np.ndarray,
    org: np.ndarray,
    household: np.ndarray,
    nationality: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = len(roles)
    pairs: dict[tuple[int, int], tuple[str, float]] = {}

    def add(a: int, b: int, kind: str, strength: float) -> None:
        if a == b:
            return
        key = (a, b) if a < b else (b, a)
        old = pairs.get(key)
        # a pair keeps its closest tie type (family over colleague over friend ...)
        if old is None or TIE_TYPES.index(kind) < TIE_TYPES.index(old[0]):
            pairs[key] = (kind, round(float(strength), 3))

    # family: everyone in a household
    order = np.argsort(household, kind="stable")
    bounds = np.flatnonzero(np.diff(household[order])) + 1
    for members in np.split(order, bounds):
        for i, a in enumerate(members.tolist()):
            for b in members[i + 1 :].tolist():
                add(a, b, "family", rng.uniform(0.7, 1.0))
    # colleagues: a few per person within the organisation
    with_org = np.flatnonzero(org >= 0)
    order = with_org[np.argsort(org[with_org], kind="stable")]
    bounds = np.flatnonzero(np.diff(org[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        for a in members.tolist():
            k = min(len(members) - 1, int(rng.integers(2, 7)))
            for b in rng.choice(members, size=k, replace=False).tolist():
                add(a, b, "colleague", rng.uniform(0.2, 0.6))
    # friends: mostly within nationality, some bridges
    by_nat: dict[str, np.ndarray] = {
        str(c): np.flatnonzero(nationality == c) for c in np.unique(nationality)
    }
    friends_per = rng.poisson(3.0, n)
    for a in range(n):
        same = by_nat[str(nationality[a])]
        for _ in range(int(friends_per[a])):
            pool = same if (rng.random() < 0.8 and len(same) > 1) else None
            b = int(rng.choice(pool)) if pool is not None else int(rng.integers(n))
            add(a, b, "friend", rng.uniform(0.3, 0.8))
    # acquaintances: weak, many, heavy-tailed per person
    counts = np.minimum(rng.zipf(2.2, n) + 2, 60)
    for a in range(n):
        for b in rng.integers(0, n, size=int(counts[a])).tolist():
            add(a, b, "acquaintance", rng.uniform(0.02, 0.25))
    keys = sorted(pairs)
    tie_a = np.array([k[0] for k in keys], dtype=np.int64)
    tie_b = np.array([k[1] for k in keys], dtype=np.int64)
    tie_type = np.array([pairs[k][0] for k in keys])
    strength = np.array([pairs[k][1] for k in keys])
    return tie_a, tie_b, tie_type, strength
