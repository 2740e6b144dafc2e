"""The registries an operator receives, each in its own format and with real dirt.

Seven feeds, one per registry (see :func:`build_registries`):

=====================  ========================  ===========================================
feed                   kind                      file and format
=====================  ========================  ===========================================
residents_registry     registry.person           CSV ``;`` latin-1, German columns, dd.mm.yyyy
accreditation_list     registry.person           Parquet, "FAMILY, Given", ISO dates (text)
employer_list          registry.person           CSV ``,`` UTF-8, staff lists, mm/dd/yyyy or ISO
company_register       registry.organisation     CSV tab UTF-8, HRB numbers, legal forms
vehicle_register       registry.vehicle          CSV ``;`` UTF-8, keepers, dd.mm.yyyy or ISO
subscriber_register    registry.subscription     Parquet, national or E.164 numbers, dates
address_register       registry.address          CSV ``;`` UTF-8, decimal commas
=====================  ========================  ===========================================

The dirt is that of real registries and keeps identity recoverable: each record keeps
enough of its name, birth date, document number or phone to be linked. Names are
written differently by each registry: Chinese names in Hanzi or pinyin, family name
first or last, given names joined or split by syllable ("Xiaoming", "Xiao Ming");
Russian and Arabic names in the transliteration each registry prefers (a German clerk
writes Iwanow and Sergej, a passport Ivanov and Sergey); Western names with nicknames
and one-character typos; latin-1 registers fold what latin-1 cannot hold. A few
birth dates are wrong in one registry (day and month swapped, a year or a day off),
some fields are missing, prepaid phones often have no subscriber or a false one, and
cars are registered to organisations and taxi firms.

Two registers keep history: about 10% of vehicles also have an earlier, ended
registration (same VIN, the same or a previous plate, the same or a previous keeper)
and about 8% of phone lines an earlier row of a replaced SIM card (same number, an old
IMSI); each such entity has two records. These rows are drawn after everything else
and appended after the planted rows' indices, so the other rows stay as they are.

A few rows in each feed are planted to be quarantined by the loader (an impossible
date, an unknown country, a missing required value, a number that is no phone number,
a rule broken); each feed lists them in ``Feed.planted``. ``Feed.records`` names the
entity behind every row (persons, organisations, vehicles, devices; buildings for the
address register), so that entity resolution can be scored.

All randomness comes from ``SeedSequence([seed, 4])``, one child stream per registry
and one for the identities they share (document and registration numbers).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.simulate.assets import Assets
from tessera.simulate.feeds import Feed
from tessera.simulate.population import EMBASSY_ROLES, TRADITION, Population
from tessera.simulate.routine import LOCAL
from tessera.simulate.world import World
from tessera.types.enum import alpha3

if TYPE_CHECKING:
    import pyarrow as pa

REGISTRIES = (
    "residents_registry",
    "accreditation_list",
    "employer_list",
    "company_register",
    "vehicle_register",
    "subscriber_register",
    "address_register",
)

# -- name variants ---------------------------------------------------------------------
# Transliterations a passport or another registry may use for the same name.
_VARIANTS: dict[str, tuple[str, ...]] = {
    # Russian given and family names
    "Sergei": ("Sergey", "Serguei"), "Aleksandr": ("Alexander", "Aleksander", "Alexandr"),
    "Dmitri": ("Dmitry", "Dmitriy"), "Andrei": ("Andrey",), "Aleksei": ("Alexey", "Aleksey"),
    "Natalia": ("Natalya", "Nataliya"), "Elena": ("Yelena", "Helena"),
    "Tatiana": ("Tatyana", "Tatjana"), "Yuri": ("Yury", "Yuriy", "Iurii"),
    "Mikhail": ("Michail", "Mikhael"), "Irina": ("Iryna",), "Olga": ("Olha",),
    "Vasiliev": ("Vasilyev", "Vassiliev"), "Fedorov": ("Fyodorov", "Feodorov"),
    "Mikhailov": ("Mikhaylov", "Michailov"), "Kuznetsov": ("Kuznetzov",),
    "Ivanov": ("Ivanoff",), "Smirnov": ("Smirnoff",), "Sokolov": ("Sokoloff",),
    "Novikov": ("Novikoff",), "Morozov": ("Morosov",),
    # Arabic and Persian given and family names
    "Mohammed": ("Muhammad", "Mohamed", "Mohammad", "Muhammed"), "Ahmed": ("Ahmad",),
    "Omar": ("Umar",), "Youssef": ("Yusuf", "Yousef", "Youssif"), "Khaled": ("Khalid",),
    "Fatima": ("Fatma", "Fatemeh"), "Aisha": ("Aysha", "Ayesha"),
    "Layla": ("Laila", "Leila"), "Mariam": ("Maryam",), "Hassan": ("Hasan",),
    "Reza": ("Riza",),
    "Al-Sayed": ("El-Sayed", "Alsayed", "Al Sayed", "El Sayed"), "Haddad": ("Al-Haddad",),
    "Hussein": ("Husain", "Hussain", "Husein"), "Abdullah": ("Abdallah", "Abdalla"),
    "Rahman": ("Rehman",), "Khalil": ("Khaleel",), "Nasser": ("Nasir", "Naser"),
    "Mansour": ("Mansur", "Mansoor"), "Farouk": ("Faruk", "Farooq"),
    "Hashemi": ("Hashimi",),
}  # fmt: skip
# How a German registry writes Russian and Arabic names (German spelling, Duden).
_GERMAN: dict[str, str] = {
    "Sergei": "Sergej", "Aleksandr": "Alexander", "Dmitri": "Dmitrij", "Andrei": "Andrej",
    "Aleksei": "Alexej", "Natalia": "Natalja", "Elena": "Jelena", "Tatiana": "Tatjana",
    "Yuri": "Juri", "Mikhail": "Michail",
    "Ivanov": "Iwanow", "Smirnov": "Smirnow", "Kuznetsov": "Kusnezow", "Popov": "Popow",
    "Vasiliev": "Wassiljew", "Petrov": "Petrow", "Sokolov": "Sokolow",
    "Mikhailov": "Michailow", "Novikov": "Nowikow", "Fedorov": "Fjodorow",
    "Morozov": "Morosow", "Volkov": "Wolkow",
    "Youssef": "Jussuf", "Khaled": "Chaled", "Aisha": "Aischa", "Khalil": "Chalil",
}  # fmt: skip
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "Thomas": ("Tom", "Tommy"), "Michael": ("Mike", "Micha"), "Katharina": ("Kathi",),
    "Alexander": ("Alex",), "Peter": ("Pete",), "Lukas": ("Luke",), "Julia": ("Jule",),
    "Katrin": ("Kati",), "Sabine": ("Bine",), "Stefan": ("Steff",),
    "James": ("Jim", "Jamie"), "William": ("Will", "Bill"), "Oliver": ("Ollie",),
    "Charlotte": ("Lottie",), "Emily": ("Em",), "Robert": ("Rob", "Bob"),
    "David": ("Dave",), "Jennifer": ("Jen", "Jenny"), "Jessica": ("Jess",),
    "Ashley": ("Ash",), "John": ("Johnny", "Jack"), "Alessandro": ("Sandro",),
    "Francesca": ("Franca",), "Javier": ("Javi",), "Alejandro": ("Alex",),
    "Krzysztof": ("Krzysiek",), "Katarzyna": ("Kasia",), "Tomasz": ("Tomek",),
    "Piotr": ("Piotrek",), "Agnieszka": ("Aga",), "Gabriel": ("Gabi",),
    "Aleksandr": ("Sasha",), "Dmitri": ("Dima",), "Mikhail": ("Misha",),
    "Natalia": ("Natasha",), "Tatiana": ("Tanya",), "Yuri": ("Yura",),
}  # fmt: skip
# Names that prepaid subscribers give when they give a false one.
_FAKE_NAMES = ("Max Mustermann", "Erika Mustermann", "Otto Normalverbraucher",
               "Hans Meier", "John Smith", "Test Kunde", "Peter Pan", "Maria Schmidt",
               "Donald Duck", "Anna Nymous")  # fmt: skip
# Keys next to each key on a QWERTZ keyboard, for typos.
_KEYBOARD = ("qwertzuiopü", "asdfghjklöä", "yxcvbnm")

# -- places and organisations ----------------------------------------------------------
_EW_STREETS = (
    "Tiergartenstraße", "Hiroshimastraße", "Rauchstraße", "Corneliusstraße", "Lützowufer",
    "Kurfürstenstraße", "Schillstraße", "Wichmannstraße", "Budapester Straße", "Keithstraße",
    "Landgrafenstraße", "Derfflingerstraße", "Pohlstraße", "Bülowstraße", "Potsdamer Straße",
    "Genthiner Straße", "Lützowstraße", "Reichpietschufer", "Schöneberger Ufer",
    "Flottwellstraße", "Kluckstraße", "Von-der-Heydt-Straße", "Maienstraße",
    "Nollendorfstraße", "Winterfeldtstraße", "Goltzstraße", "Motzstraße", "Fuggerstraße",
    "Eisenacher Straße", "Kalckreuthstraße", "Courbièrestraße", "Ahornstraße", "Einemstraße",
    "Frobenstraße", "Zietenstraße", "Gleditschstraße", "Mansteinstraße", "Yorckstraße",
    "Kleiststraße", "Tauentzienstraße",
)  # fmt: skip
_NS_STREETS = (
    "Stauffenbergstraße", "Klingelhöferstraße", "Hildebrandstraße", "Tiergartenufer",
    "Drakestraße", "Hitzigallee", "Sigismundstraße", "Köthener Straße", "Bernburger Straße",
    "Dessauer Straße", "Linkstraße", "Eichhornstraße", "Ben-Gurion-Straße", "Ebertstraße",
    "Wilhelmstraße", "Luisenstraße", "Friedrichstraße", "Lindenstraße", "Alte Jakobstraße",
    "Kochstraße", "Martin-Luther-Straße", "Kalckreuthweg", "Else-Lasker-Schüler-Straße",
    "Bayreuther Straße", "Ansbacher Straße", "Passauer Straße", "Nürnberger Straße",
    "Würzburger Straße", "Marburger Straße", "Rankestraße", "Fasanenstraße", "Uhlandstraße",
    "Knesebeckstraße", "Grolmanstraße", "Schlüterstraße", "Leibnizstraße", "Wielandstraße",
    "Giesebrechtstraße", "Joachimstaler Straße", "Meinekestraße",
)  # fmt: skip
_PLZ_CELL_M = 1_500.0
# formal English names, as a foreign ministry writes them (the country type reads each)
_ENGLISH = {
    "AE": "United Arab Emirates", "BR": "Brazil", "CN": "China", "DE": "Germany",
    "EG": "Egypt", "ES": "Spain", "FR": "France", "GB": "United Kingdom", "IN": "India",
    "IR": "Iran", "IT": "Italy", "JP": "Japan", "KR": "Republic of Korea", "NG": "Nigeria",
    "PK": "Pakistan", "PL": "Poland", "RU": "Russian Federation", "SA": "Saudi Arabia",
    "TR": "Turkey", "UA": "Ukraine", "US": "United States of America",
}  # fmt: skip
_COMPANY_FORMS = (("GmbH", 0.7), ("AG", 0.15), ("UG (haftungsbeschränkt)", 0.1),
                  ("GmbH & Co. KG", 0.05))  # fmt: skip
_TAXI_FIRMS = ("Taxi Ruf GmbH", "Funktaxi Berlin GmbH", "City-Taxi GmbH", "Würfelfunk e.K.")
_COLOURS_DE = {"black": "schwarz", "silver": "silber", "white": "weiß", "grey": "grau",
               "blue": "blau", "red": "rot", "dark blue": "dunkelblau"}  # fmt: skip
_USE_DE = {"residential": "Wohngebäude", "office": "Bürogebäude", "embassy": "Botschaft",
           "ministry": "Ministerium", "hotel": "Hotel", "restaurant": "Gaststätte",
           "cafe": "Café", "gym": "Fitnessstudio", "school": "Schule",
           "park": "Grünanlage"}  # fmt: skip
_ROLE_TITLES: dict[str, tuple[str, ...]] = {
    "diplomat": ("Diplomat", "First Secretary", "Counsellor"),
    "attache": ("Attaché",),
    "embassy_staff": ("Verwaltung", "Administrative Staff"),
    "driver": ("Fahrer", "Driver"),
    "ministry_official": ("Referent", "Referatsleiter", "Sachbearbeiter", "Ministerialrat"),
    "journalist": ("Correspondent", "Editor", "Reporter"),
    "business": ("Consultant", "Senior Consultant", "Manager", "Analyst", "Assistant"),
}
_ACCREDITATION_TITLES: dict[str, tuple[str, ...]] = {
    "diplomat": ("Counsellor", "First Secretary", "Second Secretary", "Third Secretary",
                 "Minister-Counsellor"),
    "attache": ("Attaché", "Defence Attaché", "Cultural Attaché"),
    "embassy_staff": ("Administrative and technical staff",),
    "driver": ("Service staff",),
}  # fmt: skip


# -- identities shared by the registries -----------------------------------------------
@dataclass(frozen=True)
class _Identities:
    """What several registries write of the same person, organisation or building."""

    tradition: np.ndarray  # (n,) chinese | russian | arabic | latin
    given: list[str]  # Latin script (pinyin for Chinese), with diacritics
    family: list[str]
    han_given: list[str]  # Hanzi for Chinese, "" for others
    han_family: list[str]
    given_split: list[str]  # pinyin given name by syllable ("Xiao Ming"); else given
    document: list[str]  # identity card (Germans) or passport number
    org_form: list[str]  # legal form or kind, as the company register writes it
    org_registered: list[str]  # registered name (with legal form)
    org_number: list[str | None]  # HRB/HRA/VR number, None for public bodies
    street: list[str]  # per building
    house: list[str]
    plz: list[str]

    def address(self, building: int, sep: str = ", ") -> str:
        return f"{self.street[building]} {self.house[building]}{sep}{self.plz[building]} Berlin"


def build_registries(world: World, pop: Population, assets: Assets, seed: int) -> list[Feed]:
    """The registries an operator receives (see the module docstring), for ``seed``."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 4]).spawn(8)]
    ids = _identities(world, pop, streams[0])
    start = dt.datetime.fromtimestamp(assets.period_start, LOCAL).date()
    return [
        _residents(pop, ids, streams[1]),
        _accreditation(pop, ids, streams[2]),
        _employers(pop, assets, ids, streams[3]),
        _companies(pop, ids, streams[4]),
        _vehicles(pop, assets, ids, start, streams[5]),
        _subscribers(pop, assets, ids, start, streams[6]),
        _addresses(world, pop, ids, streams[7]),
    ]


def _identities(world: World, pop: Population, rng: np.random.Generator) -> _Identities:
    tradition = np.array([TRADITION.get(str(c), "latin") for c in pop.person_nationality])
    given: list[str] = []
    family: list[str] = []
    han_given: list[str] = []
    han_family: list[str] = []
    for i, trad in enumerate(tradition.tolist()):
        latin = pop.person_name_latin[i]
        if trad == "chinese":
            fam, _, giv = latin.partition(" ")
            han = pop.person_name[i]
            han_family.append(han[:1])
            han_given.append(han[1:])
        else:
            giv, _, fam = latin.partition(" ")
            han_family.append("")
            han_given.append("")
        given.append(giv)
        family.append(fam)
    split = [_syllables(h) if h else g for g, h in zip(given, han_given, strict=True)]
    document = _documents(pop.person_nationality, rng)
    form, registered, number = _org_registration(pop, rng)
    street, house, plz = _building_addresses(world)
    return _Identities(
        tradition, given, family, han_given, han_family, split, document,
        form, registered, number, street, house, plz,
    )  # fmt: skip


@functools.lru_cache(maxsize=256)
def _syllables(han: str) -> str:
    from pypinyin import lazy_pinyin

    return " ".join(s.capitalize() for s in lazy_pinyin(han))


_ID_LETTERS = "CFGHJKLMNPRTVWXYZ"
_ID_CHARS = _ID_LETTERS + "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _documents(nationality: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Identity card numbers for Germans, passport numbers in each country's style."""
    n = len(nationality)
    digits = _random_strings(rng, "0123456789", n, 9)
    alnum = _random_strings(rng, _ID_CHARS, n, 8)
    first = _random_strings(rng, _ID_LETTERS, n, 1)
    pair = _random_strings(rng, _UPPER, n, 2)
    seen: set[str] = set()
    out: list[str] = []
    for i, c in enumerate(nationality.tolist()):
        d = digits[i]
        if c == "DE":
            doc = first[i] + alnum[i]
        elif c == "CN":
            doc = "E" + d[:8]
        elif c in ("RU", "UA"):
            doc = "7" + d[:8]
        elif c in ("US", "GB"):
            doc = d
        elif c == "FR":
            doc = d[:2] + pair[i] + d[2:7]
        else:
            doc = pair[i] + d[:7]
        while doc in seen:  # rare: draw again from the same stream
            doc = doc[:-3] + f"{int(rng.integers(0, 1000)):03d}"
        seen.add(doc)
        out.append(doc)
    return out


def _random_strings(rng: np.random.Generator, alphabet: str, n: int, width: int) -> list[str]:
    """``n`` strings of ``width`` characters drawn from ``alphabet`` (ASCII)."""
    codes = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    drawn = np.ascontiguousarray(codes[rng.integers(0, len(alphabet), size=(n, width))])
    return [b.decode("ascii") for b in drawn.view(f"S{width}").ravel().tolist()]


def _org_registration(
    pop: Population, rng: np.random.Generator
) -> tuple[list[str], list[str], list[str | None]]:
    forms: list[str] = []
    registered: list[str] = []
    numbers: list[str | None] = []
    drawn = rng.choice(np.arange(10_000, 240_000), size=len(pop.org_kind), replace=False)
    u = rng.random(len(pop.org_kind))
    company_forms = [f for f, _ in _COMPANY_FORMS]
    cum = np.cumsum([p for _, p in _COMPANY_FORMS])
    for o, kind in enumerate(pop.org_kind.tolist()):
        name = pop.org_name[o]
        number: str | None = f"HRB {int(drawn[o])} B"
        if kind in ("company", "media"):
            form = company_forms[int(np.searchsorted(cum, u[o] * cum[-1]))]
        elif kind == "venue":
            form = "GmbH" if u[o] < 0.6 else "e.K."
            if form == "e.K.":
                number = f"HRA {int(drawn[o]) % 90_000 + 10_000} B"
        elif kind == "school":
            form = "e.V." if u[o] < 0.5 else "Öffentliche Schule"
            number = f"VR {int(drawn[o]) % 40_000 + 1_000} B" if form == "e.V." else None
        elif kind == "ministry":
            form, number = "Oberste Bundesbehörde", None
        else:
            form, number = "Diplomatische Vertretung", None
        forms.append(form)
        numbers.append(number)
        with_form = kind in ("company", "media", "venue") and form != "Öffentliche Schule"
        registered.append(f"{name} {form}" if with_form else name)
    return forms, registered, numbers


def _building_addresses(world: World) -> tuple[list[str], list[str], list[str]]:
    """Street, house number and postcode of each building, derived from the layout: the
    street is the grid line of the building's street segment, the number its position
    along the line (odd and even sides), the postcode a coarse grid cell."""
    xy, nodes, edges = world.building_xy, world.node_xy, world.edges
    a, b = nodes[edges[:, 0]], nodes[edges[:, 1]]
    horizontal = np.abs(b[:, 0] - a[:, 0]) >= np.abs(b[:, 1] - a[:, 1])
    coord = np.where(horizontal, (a[:, 1] + b[:, 1]) / 2, (a[:, 0] + b[:, 0]) / 2)
    line = np.zeros(len(edges), dtype=np.int64)
    for orient in (True, False):
        sel = np.flatnonzero(horizontal == orient)
        order = sel[np.argsort(coord[sel], kind="stable")]
        breaks = np.diff(coord[order]) > 50.0
        line[order] = np.concatenate([[0], np.cumsum(breaks)])
    ends = np.concatenate([edges[:, 0], edges[:, 1]])
    edge_of_end = np.concatenate([np.arange(len(edges)), np.arange(len(edges))])
    by_node = np.argsort(ends, kind="stable")
    bounds = np.searchsorted(ends[by_node], np.arange(len(nodes) + 1))
    streets: list[str] = []
    houses: list[str] = []
    plz: list[str] = []
    taken: set[tuple[str, str, str]] = set()
    for i in range(len(xy)):
        v = int(world.building_node[i])
        cand = edge_of_end[by_node[bounds[v] : bounds[v + 1]]]
        pa_, pb_ = nodes[edges[cand, 0]], nodes[edges[cand, 1]]
        seg = pb_ - pa_
        t = np.clip(((xy[i] - pa_) * seg).sum(1) / np.maximum((seg**2).sum(1), 1e-9), 0, 1)
        dist = np.hypot(*(pa_ + t[:, None] * seg - xy[i]).T)
        e = int(cand[int(np.argmin(dist))])
        k = int(line[e])
        if horizontal[e]:
            name = _EW_STREETS[k % len(_EW_STREETS)]
            along, side = xy[i, 0], xy[i, 1] > coord[e]
        else:
            name = _NS_STREETS[k % len(_NS_STREETS)]
            along, side = xy[i, 1], xy[i, 0] > coord[e]
        number = 2 * int(along // 24) + 1 + int(side)
        cx, cy = int(xy[i, 0] // _PLZ_CELL_M), int(xy[i, 1] // _PLZ_CELL_M)
        code = f"{10115 + ((cx * 13 + cy * 7) % 97) * 43}"
        house = str(number)
        suffix = 0
        while (name, house, code) in taken:
            house = f"{number}{'abcdefghijklmnopqrstuvwxyz'[suffix % 26]}"
            suffix += 1
        taken.add((name, house, code))
        streets.append(name)
        houses.append(house)
        plz.append(code)
    return streets, houses, plz


# -- dirt --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dirt:
    """Shares of a registry's person names that carry each kind of dirt."""

    german: float = 0.0  # Russian and Arabic names in German transliteration
    variant: float = 0.0  # Russian and Arabic names in another transliteration
    nickname: float = 0.0
    typo: float = 0.0
    split: float = 0.0  # Chinese given names written by syllable


def _written_names(
    ids: _Identities, who: np.ndarray, dirt: _Dirt, rng: np.random.Generator
) -> tuple[list[str], list[str]]:
    """Given and family names of ``who`` as a registry writes them (Latin script)."""
    given = [ids.given[p] for p in who.tolist()]
    family = [ids.family[p] for p in who.tolist()]
    trad = ids.tradition[who]
    u = rng.random((len(who), 5))
    german = np.isin(trad, ("russian", "arabic")) & (u[:, 0] < dirt.german)
    for i in np.flatnonzero(german).tolist():
        given[i] = _GERMAN.get(given[i], given[i])
        family[i] = _GERMAN.get(family[i], family[i])
    variant = np.isin(trad, ("russian", "arabic")) & ~german & (u[:, 1] < dirt.variant)
    for i in np.flatnonzero(variant).tolist():
        which = int(rng.integers(3))  # given, family or both
        if which != 1:
            given[i] = _pick(_VARIANTS.get(given[i]), given[i], rng.random())
        if which != 0:
            family[i] = _pick(_VARIANTS.get(family[i]), family[i], rng.random())
    for i in np.flatnonzero(u[:, 2] < dirt.nickname).tolist():
        given[i] = _pick(_NICKNAMES.get(given[i]), given[i], rng.random())
    for i in np.flatnonzero((trad == "chinese") & (u[:, 3] < dirt.split)).tolist():
        given[i] = ids.given_split[int(who[i])]
    for i in np.flatnonzero(u[:, 4] < dirt.typo).tolist():
        if rng.random() < 0.5:
            given[i] = _typo(given[i], rng)
        else:
            family[i] = _typo(family[i], rng)
    return given, family


def _pick(options: Sequence[str] | None, default: str, x: float) -> str:
    """One of ``options`` by the uniform draw ``x`` in [0, 1), or ``default``."""
    if not options:
        return default
    return options[int(x * len(options))]


def _typo(word: str, rng: np.random.Generator) -> str:
    """One character edit: a neighbouring key, a dropped, doubled or swapped letter."""
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if len(letters) < 2:
        return word + word[-1:] if word else word
    for _ in range(8):
        op = int(rng.integers(4))
        i = letters[int(rng.integers(1, len(letters)))]  # keep the first letter
        c = word[i]
        if op == 0:
            row = next((r for r in _KEYBOARD if c.lower() in r), None)
            if row is None:
                continue
            j = row.index(c.lower())
            new = row[j - 1] if j > 0 and (j == len(row) - 1 or rng.random() < 0.5) else row[j + 1]
            out = word[:i] + (new.upper() if c.isupper() else new) + word[i + 1 :]
        elif op == 1:
            out = word[:i] + word[i + 1 :]
        elif op == 2:
            out = word[:i] + c + word[i:]
        else:
            out = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
        if out != word:
            return out
    return word + word[-1]


def _latin1(text: str) -> str:
    """What a latin-1 register can hold: other characters transliterated (anyascii)."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        from anyascii import anyascii

        return "".join(c if ord(c) < 256 else anyascii(c) for c in text)
    return text


@functools.lru_cache(maxsize=65536)
def _ascii_fold(text: str) -> str:
    """For e-mail addresses: German umlauts spelled out, the rest by anyascii."""
    from anyascii import anyascii

    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("Ä", "Ae"),
                 ("Ö", "Oe"), ("Ü", "Ue")):  # fmt: skip
        text = text.replace(a, b)
    return anyascii(text)


@functools.lru_cache(maxsize=65536)
def _slug(text: str) -> str:
    """``Embassy of CN (annex 1)`` -> ``embassy-of-cn-annex-1`` (a mail domain label)."""
    words = "".join(c if c.isalnum() else " " for c in _ascii_fold(text).lower()).split()
    return "-".join(words)


def _dirty_dates(
    days: np.ndarray, wrong: float, missing: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Dates with a share wrong (day and month swapped, a year or some days off) and a
    mask of those left out."""
    out = days.astype("datetime64[D]").copy()
    u = rng.random((len(out), 2))
    for i in np.flatnonzero(u[:, 0] < wrong).tolist():
        d = out[i].astype(dt.date)
        kind = int(rng.integers(3))
        if kind == 0 and d.day <= 12 and d.day != d.month:
            new = d.replace(month=d.day, day=d.month)
        elif kind == 1 and not (d.month == 2 and d.day == 29):
            new = d.replace(year=d.year + int(rng.choice([-10, -1, 1, 10])))
        else:
            new = d + dt.timedelta(days=int(rng.choice([-3, -2, -1, 1, 2, 3])))
        out[i] = np.datetime64(new, "D")
    return out, u[:, 1] < missing


def _iso(days: np.ndarray) -> list[str]:
    return [str(s) for s in np.datetime_as_string(days.astype("datetime64[D]"), unit="D")]


def _german_date(iso: str) -> str:
    return f"{iso[8:10]}.{iso[5:7]}.{iso[:4]}"


def _us_date(iso: str) -> str:
    return f"{iso[5:7]}/{iso[8:10]}/{iso[:4]}"


def _national(msisdn: str, style: int) -> str:
    """A German E.164 number as people write it."""
    ndc, sub = msisdn[3:6], msisdn[6:]
    return (
        f"0{ndc} {sub}",
        f"0{ndc}/{sub}",
        f"+49 {ndc} {sub}",
        msisdn,
        f"0049 {ndc} {sub}",
        f"0{ndc}-{sub}",
    )[style % 6]


def _record_ids(rng: np.random.Generator, n: int, prefix: str, width: int) -> list[str]:
    """Unique, unordered record numbers: the registries' own keys."""
    span = max(10 * n, 10**width // 10)
    drawn = rng.choice(span, size=n, replace=False) if n else np.zeros(0, dtype=np.int64)
    return [f"{prefix}{int(v):0{width}d}" for v in drawn]


def _more_record_ids(
    rng: np.random.Generator, taken: Sequence[str], count: int, prefix: str, width: int
) -> list[str]:
    """``count`` more record numbers in the style of :func:`_record_ids` for ``taken``
    (as many rows as ``taken`` has), none of them taken."""
    span = max(10 * len(taken), 10**width // 10)
    seen = set(taken)
    out: list[str] = []
    while len(out) < count:
        key = f"{prefix}{int(rng.integers(span)):0{width}d}"
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def _planted_rows(rng: np.random.Generator, n_rows: int, kinds: int) -> list[int]:
    """A few rows to plant errors in: one per kind of error at least, about one in
    2,500 rows, at most 40."""
    count = min(n_rows, max(kinds, min(40, n_rows // 2500)))
    return sorted(int(i) for i in rng.choice(n_rows, size=count, replace=False))


def _feed(
    name: str,
    kind: str,
    file: str,
    columns: dict[str, list[Any]],
    properties: dict[str, Any],
    entity: str,
    entity_id: np.ndarray,
    record_column: str,
    planted: list[tuple[int, str]],
    *,
    types: dict[str, pa.DataType] | None = None,
    csv: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> Feed:
    """Rows sorted by record id (registries list by their own key); planted rows given by
    index before sorting."""
    import pyarrow as pa

    keys = columns[record_column]
    order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    types = types or {}
    take = pa.array(order)
    table = pa.table(
        {
            col: pa.array(values, types.get(col, pa.string())).take(take)
            for col, values in columns.items()
        }
    )
    records = pa.table(
        {
            "source": pa.array([name] * len(order), pa.string()),
            "record_id": table.column(record_column),
            "entity": pa.array([entity] * len(order), pa.string()),
            "entity_id": pa.array(entity_id[order], pa.int32()),
        }
    )
    marked = sorted((int(position[i]) + 1, reason) for i, reason in planted)
    return Feed(
        name, kind, file, table, properties, csv or {}, options or {}, records, marked
    )  # fmt: skip


def _plant(
    rng: np.random.Generator, n_rows: int, kinds: Sequence[tuple[str, Callable[[int], None]]]
) -> list[tuple[int, str]]:
    """Plant the errors ``kinds`` in turn in a few rows; return (row index, reason)."""
    planted = []
    for j, i in enumerate(_planted_rows(rng, n_rows, len(kinds))):
        reason, spoil = kinds[j % len(kinds)]
        spoil(i)
        planted.append((i, reason))
    return planted


# -- 1. the residents' register -----------------------------------------------------------
def _residents(pop: Population, ids: _Identities, rng: np.random.Generator) -> Feed:
    """Everyone living in the district but most foreign diplomats (exempt, with their
    households); written by a German clerk in latin-1."""
    foreign_dipl = np.isin(pop.person_role, ("diplomat", "attache")) & (
        pop.person_nationality != "DE"
    )
    exempt_hh = np.unique(pop.person_household[foreign_dipl & (rng.random(pop.size) < 0.8)])
    who = np.flatnonzero(~np.isin(pop.person_household, exempt_hh))
    n = len(who)
    dirt = _Dirt(german=0.6, variant=0.2, nickname=0.0, typo=0.02, split=0.1)
    given, family = _written_names(ids, who, dirt, rng)
    u = rng.random((n, 4))
    chinese = ids.tradition[who] == "chinese"
    for i in np.flatnonzero(chinese & (u[:, 0] < 0.15)).tolist():  # order swapped
        given[i], family[i] = family[i], given[i]
    for i in np.flatnonzero(u[:, 1] < 0.05).tolist():
        family[i] = family[i].upper()
    birth, no_birth = _dirty_dates(pop.person_birth[who], 0.015, 0.005, rng)
    births: list[str | None] = [
        None if m else _german_date(s) for s, m in zip(_iso(birth), no_birth, strict=True)
    ]
    nat = pop.person_nationality[who]
    nationality = [
        "Deutschland" if c == "DE" and x < 0.2 else alpha3(str(c)) or str(c)
        for c, x in zip(nat.tolist(), u[:, 2].tolist(), strict=True)
    ]
    document: list[str | None] = [
        None if x < 0.06 else ids.document[p] for p, x in zip(who, u[:, 3], strict=True)
    ]
    homes = pop.person_home[who].tolist()
    street = [ids.street[b] for b in homes]
    for i in np.flatnonzero(rng.random(n) < 0.1).tolist():
        street[i] = street[i].replace("straße", "str.").replace("Straße", "Str.")
    columns: dict[str, list[Any]] = {
        "Ordnungsmerkmal": _record_ids(rng, n, "MR", 9),
        "Familienname": [_latin1(s) for s in family],
        "Vornamen": [_latin1(s) for s in given],
        "Geburtsdatum": births,
        "Staatsangehoerigkeit": nationality,
        "Ausweisnummer": document,
        "Strasse": street,
        "Hausnummer": [ids.house[b] for b in homes],
        "PLZ": [ids.plz[b] for b in homes],
        "Ort": ["Berlin"] * n,
    }

    def impossible(i: int) -> None:
        year = str(pop.person_birth[who[i]])[:4]
        columns["Geburtsdatum"][i] = f"31.02.{year}"

    def unknown(i: int) -> None:
        columns["Staatsangehoerigkeit"][i] = "ungeklärt"

    def nameless(i: int) -> None:
        columns["Familienname"][i] = columns["Vornamen"][i] = None

    planted = _plant(
        rng,
        n,
        [
            ("impossible birth date 31.02.", impossible),
            ("unknown country 'ungeklärt'", unknown),
            ("no name at all", nameless),
        ],
    )
    properties = {
        "record_id": "Ordnungsmerkmal",
        "family_name": "Familienname",
        "given_name": "Vornamen",
        "birth_date": {"column": "Geburtsdatum", "formats": ["%d.%m.%Y"]},
        "nationality": "Staatsangehoerigkeit",
        "document_number": "Ausweisnummer",
        "address": {"columns": ["Strasse", "Hausnummer", "PLZ", "Ort"], "join": " "},
    }
    return _feed(
        "residents_registry", "registry.person", "residents_registry.csv", columns,
        properties, "person", who, "Ordnungsmerkmal", planted,
        csv={"delimiter": ";", "encoding": "latin-1"},
    )  # fmt: skip


# -- 2. the accreditation list ----------------------------------------------------------------
def _accreditation(pop: Population, ids: _Identities, rng: np.random.Generator) -> Feed:
    """Foreign embassy members and the households of diplomats and attachés, as the
    foreign ministry lists them: "FAMILY, Given", passport spellings."""
    foreign = np.isin(pop.person_role, EMBASSY_ROLES) & (pop.person_nationality != "DE")
    head = np.isin(pop.person_role, ("diplomat", "attache")) & foreign
    mission_of_hh: dict[int, int] = {}
    for p in np.flatnonzero(head).tolist():
        mission_of_hh.setdefault(int(pop.person_household[p]), int(pop.person_org[p]))
    family_member = ~foreign & np.isin(pop.person_household, list(mission_of_hh))
    who = np.flatnonzero(foreign | family_member)
    n = len(who)
    given, family = _written_names(ids, who, _Dirt(variant=0.5, typo=0.015, split=0.2), rng)
    u = rng.random((n, 3))
    names: list[str | None] = []
    for i in range(n):
        sep = ", " if u[i, 0] >= 0.1 else " "
        names.append(f"{family[i].upper()}{sep}{given[i]}")
    birth, no_birth = _dirty_dates(pop.person_birth[who], 0.01, 0.0, rng)
    missions: list[str] = []
    functions: list[str] = []
    for i, p in enumerate(who.tolist()):
        role = str(pop.person_role[p])
        if family_member[p]:
            missions.append(pop.org_name[mission_of_hh[int(pop.person_household[p])]])
            functions.append("Family member")
        else:
            missions.append(pop.org_name[int(pop.person_org[p])])
            functions.append(_pick(_ACCREDITATION_TITLES[role], role, u[i, 2]))
    columns: dict[str, list[Any]] = {
        "accreditation_no": _record_ids(rng, n, "AKK-", 6),
        "name": names,
        "date_of_birth": [None if m else s for s, m in zip(_iso(birth), no_birth, strict=True)],
        "nationality": [_ENGLISH.get(str(c), str(c)) for c in pop.person_nationality[who]],
        "passport_no": [
            None if x < 0.01 else ids.document[p] for p, x in zip(who, u[:, 1], strict=True)
        ],
        "mission": missions,
        "function": functions,
    }

    def impossible(i: int) -> None:
        columns["date_of_birth"][i] = f"{str(pop.person_birth[who[i]])[:4]}-02-30"

    def nameless(i: int) -> None:
        columns["name"][i] = None

    planted = _plant(
        rng,
        n,
        [("impossible birth date -02-30", impossible), ("no name", nameless)],
    )
    properties = {
        "record_id": "accreditation_no",
        "full_name": "name",
        "birth_date": "date_of_birth",
        "nationality": "nationality",
        "document_number": "passport_no",
        "organisation": "mission",
        "role": "function",
    }
    return _feed(
        "accreditation_list", "registry.person", "accreditation_list.parquet", columns,
        properties, "person", who, "accreditation_no", planted,
    )  # fmt: skip


# -- 3. staff lists of employers -----------------------------------------------------------
def _employers(pop: Population, assets: Assets, ids: _Identities, rng: np.random.Generator) -> Feed:
    """Staff lists of companies, media, ministries and embassies, concatenated: full
    names (Hanzi or pinyin in either order, nicknames, typos), work phones, e-mail, and
    birth dates in each employer's own format."""
    kinds = ("company", "media", "ministry", "embassy")
    has_org = pop.person_org >= 0
    org_kind = np.where(has_org, pop.org_kind[np.maximum(pop.person_org, 0)], "")
    who = np.flatnonzero(has_org & np.isin(org_kind, kinds))
    n = len(who)
    given, family = _written_names(ids, who, _Dirt(nickname=0.12, typo=0.03, split=0.3), rng)
    u = rng.random((n, 6))
    trad = ids.tradition[who]
    names: list[str] = []
    for i, p in enumerate(who.tolist()):
        if trad[i] == "chinese":
            if u[i, 0] < 0.45:
                names.append(ids.han_family[p] + ids.han_given[p])
            elif u[i, 0] < 0.75:
                names.append(f"{given[i]} {family[i]}")  # Western order
            else:
                names.append(f"{family[i]} {given[i]}")
        elif u[i, 0] < 0.15:
            names.append(f"{family[i]}, {given[i]}")
        else:
            names.append(f"{given[i]} {family[i]}")
    work_msisdn: dict[int, str] = {}
    corp = np.flatnonzero(
        (assets.device_contract == "corporate") & (assets.device_role == "primary")
    )
    for d in corp[np.argsort(assets.device_from[corp], kind="stable")].tolist():
        work_msisdn[int(assets.device_person[d])] = assets.device_msisdn[d]
    phones: list[str | None] = []
    for i, p in enumerate(who.tolist()):
        m = work_msisdn.get(p)
        phones.append(None if m is None else _national(m, int(u[i, 1] * 6)))
    emails: list[str | None] = []
    used: set[str] = set()
    for i, p in enumerate(who.tolist()):
        org = int(pop.person_org[p])
        domain = _slug(pop.org_name[org]) + ".example"
        base = f"{_ascii_fold(ids.given[p])}.{_ascii_fold(ids.family[p])}".lower()
        base = "".join(c for c in base.replace(" ", "-") if c.isalnum() or c in ".-")
        local, k = base, 1
        while f"{local}@{domain}" in used:
            k += 1
            local = f"{base}{k}"
        used.add(f"{local}@{domain}")
        emails.append(None if u[i, 2] < 0.05 else f"{local}@{domain}")
    us_style = rng.random(len(pop.org_kind)) < 0.4  # employers writing mm/dd/yyyy
    birth, no_birth = _dirty_dates(pop.person_birth[who], 0.015, 0.05, rng)
    births: list[str | None] = []
    for i, s in enumerate(_iso(birth)):
        us = bool(us_style[int(pop.person_org[who[i]])])
        births.append(None if no_birth[i] else (_us_date(s) if us else s))
    companies = [
        ids.org_registered[o] if x < 0.2 else pop.org_name[o]
        for o, x in zip(pop.person_org[who].tolist(), u[:, 3].tolist(), strict=True)
    ]
    positions = [
        _pick(_ROLE_TITLES.get(str(r)), "Mitarbeiter", x)
        for r, x in zip(pop.person_role[who], u[:, 4], strict=True)
    ]
    columns: dict[str, list[Any]] = {
        "employee_id": _employee_ids(pop, who, rng),
        "name": names,
        "company": companies,
        "position": positions,
        "work_phone": phones,
        "email": emails,
        "date_of_birth": births,
    }

    def impossible(i: int) -> None:
        year = str(pop.person_birth[who[i]])[:4]
        us = bool(us_style[int(pop.person_org[who[i]])])
        columns["date_of_birth"][i] = f"02/30/{year}" if us else f"{year}-02-30"

    def bad_phone(i: int) -> None:
        columns["work_phone"][i] = f"intern {int(rng.integers(1000, 9999))}"

    def bad_email(i: int) -> None:
        email = columns["email"][i] or f"info@{_ascii_fold(companies[i]).lower()}.example"
        columns["email"][i] = email.replace("@", "(at)")

    planted = _plant(
        rng,
        n,
        [
            ("impossible birth date 02/30", impossible),
            ("work phone is an extension, not a number", bad_phone),
            ("e-mail written with (at)", bad_email),
        ],
    )
    properties = {
        "record_id": "employee_id",
        "full_name": "name",
        "organisation": "company",
        "role": "position",
        "phone": "work_phone",
        "email": "email",
        "birth_date": {"column": "date_of_birth", "formats": ["%Y-%m-%d", "%m/%d/%Y"]},
    }
    return _feed(
        "employer_list", "registry.person", "employer_list.csv", columns, properties,
        "person", who, "employee_id", planted,
        csv={"delimiter": ",", "encoding": "utf-8"}, options={"phone_region": "DE"},
    )  # fmt: skip


def _employee_ids(pop: Population, who: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Employer number and a staff number unique within the employer."""
    serial = rng.permutation(len(who))
    return [
        f"{int(pop.person_org[p]):04d}-{int(s) + 1:06d}"
        for p, s in zip(who.tolist(), serial.tolist(), strict=True)
    ]


# -- 4. the company register ------------------------------------------------------------------
def _companies(pop: Population, ids: _Identities, rng: np.random.Generator) -> Feed:
    """Every organisation with its registered name, legal form, register number (none
    for public bodies), seat address, country and sometimes a phone."""
    n = len(pop.org_kind)
    u = rng.random((n, 5))
    names: list[str | None] = [
        s.upper() if x < 0.08 else s for s, x in zip(ids.org_registered, u[:, 0], strict=True)
    ]
    numbers: list[str | None] = []
    for o, number in enumerate(ids.org_number):
        if number is not None and u[o, 1] < 0.2:
            number = number.replace(" ", "")
        numbers.append(number)
    countries = [
        (alpha3(c) or c) if k == "embassy" and x < 0.5 else c
        for c, k, x in zip(
            pop.org_country.tolist(), pop.org_kind.tolist(), u[:, 2].tolist(), strict=True
        )
    ]
    phone_digits = rng.integers(2, 10, size=n) * 10**7 + rng.integers(0, 10**7, size=n)
    phones: list[str | None] = [
        (f"030 {int(d)}" if x < 0.5 else f"+49 30 {int(d)}") if x < 0.6 else None
        for d, x in zip(phone_digits.tolist(), u[:, 3].tolist(), strict=True)
    ]
    columns: dict[str, list[Any]] = {
        "Registereintrag": _record_ids(rng, n, "OR", 7),
        "Firma": names,
        "Rechtsform": list(ids.org_form),
        "Registernummer": numbers,
        "Staat": countries,
        "Geschaeftsanschrift": [ids.address(int(b)) for b in pop.org_building.tolist()],
        "Telefon": phones,
    }

    def nameless(i: int) -> None:
        columns["Firma"][i] = None

    def short_phone(i: int) -> None:
        columns["Telefon"][i] = "030 12"

    planted = _plant(
        rng,
        n,
        [("name (required) missing", nameless), ("phone number too short", short_phone)],
    )
    properties = {
        "record_id": "Registereintrag",
        "name": "Firma",
        "org_type": "Rechtsform",
        "registration_number": "Registernummer",
        "country": "Staat",
        "address": "Geschaeftsanschrift",
        "phone": "Telefon",
    }
    return _feed(
        "company_register", "registry.organisation", "company_register.csv", columns,
        properties, "organisation", np.arange(n), "Registereintrag", planted,
        csv={"delimiter": "\t", "encoding": "utf-8"}, options={"phone_region": "DE"},
    )  # fmt: skip


# -- 5. the vehicle register ------------------------------------------------------------------
_PLATE_KIND_DE = {
    "private": ("Privat",), "diplomatic": ("Diplomatenkennzeichen", "CD"),
    "official": ("Dienstkennzeichen",), "company": ("Gewerblich",), "taxi": ("Taxi",),
}  # fmt: skip


def _plate_written(plate: str, style: int) -> str:
    if style == 1:
        return "".join(c for c in plate if c.isalnum())
    if style == 2:
        return plate.replace("-", " ")
    if style == 3:
        return plate.replace(" ", "-")
    return plate


_PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # as the plates are drawn (assets.py)
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _plate_key(plate: str) -> str:
    """A plate as a reader compares it: letters and digits only, upper case."""
    return "".join(c for c in plate if c.isalnum()).upper()


def _previous_plate(plate: str, rng: np.random.Generator) -> str:
    """Another plate of the same kind and format as ``plate``: a diplomatic plate keeps
    its mission's code, an official plate stays ``BD``, the others ``B-``."""
    if plate.startswith("0 "):
        return f"{plate.partition('-')[0]}-{int(rng.integers(1, 10_000))}"
    if plate.startswith("BD "):
        return f"BD {int(rng.integers(10, 99))}-{int(rng.integers(100, 999))}"
    drawn = rng.integers(0, len(_PLATE_LETTERS), size=int(rng.integers(1, 3))).tolist()
    return f"B-{''.join(_PLATE_LETTERS[i] for i in drawn)} {int(rng.integers(1, 9999))}"


def _vin_typo(vin: str, rng: np.random.Generator) -> str:
    """One character of ``vin`` (not the first) replaced by another VIN character."""
    i = int(rng.integers(1, len(vin)))
    others = _VIN_CHARS.replace(vin[i].upper(), "")
    return vin[:i] + others[int(rng.integers(len(others)))] + vin[i + 1 :]


def _colour_written(colour: str, x: float) -> str:
    """A colour as a register writes it: German (as the register does), capitalised, or
    in English."""
    german = _COLOURS_DE.get(colour, colour)
    if x < 0.5:
        return german
    return german.capitalize() if x < 0.8 else colour


def _vehicles(
    pop: Population, assets: Assets, ids: _Identities, start: dt.date, rng: np.random.Generator
) -> Feed:
    """Every vehicle with its keeper: a person (name as written, document number), an
    organisation (company, mission, ministry) or a taxi firm; and for about one vehicle in
    ten an earlier, ended registration (see :func:`_vehicle_history`)."""
    n = len(assets.vehicle_kind)
    kinds = assets.vehicle_kind.tolist()
    u = rng.random((n, 8))
    owner_p, owner_o = assets.vehicle_owner_person, assets.vehicle_owner_org
    persons = np.flatnonzero(owner_p >= 0)
    given, family = _written_names(
        ids, owner_p[persons], _Dirt(german=0.5, variant=0.1, typo=0.02, split=0.1), rng
    )
    person_name = dict(zip(persons.tolist(), range(len(persons)), strict=True))
    taxi_firms = max(2, len(assets.taxis) // 6)
    firm_number = rng.choice(np.arange(240_000, 300_000), size=taxi_firms, replace=False)
    keeper: list[str | None] = []
    keeper_id: list[str | None] = []
    keeper_org: list[str | None] = []
    for v in range(n):
        if v in person_name:
            j, p = person_name[v], int(owner_p[v])
            if u[v, 0] < 0.7 or ids.tradition[p] == "chinese":
                keeper.append(f"{family[j]}, {given[j]}")
            else:
                keeper.append(f"{given[j]} {family[j]}")
            keeper_id.append(ids.document[p] if u[v, 1] >= 0.15 else None)
            keeper_org.append(None)
        elif owner_o[v] >= 0:
            o = int(owner_o[v])
            name = ids.org_registered[o] if u[v, 0] < 0.5 else pop.org_name[o]
            keeper.append(name)
            keeper_org.append(name)
            keeper_id.append(ids.org_number[o])
        else:  # a taxi, registered to a taxi firm
            f = int(rng.integers(taxi_firms))
            name = f"{_TAXI_FIRMS[f % len(_TAXI_FIRMS)]} {f + 1}"
            keeper.append(name)
            keeper_org.append(name)
            keeper_id.append(f"HRB {int(firm_number[f])} B")
    since = np.datetime64(start, "D") - rng.integers(30, 3650, size=n).astype("timedelta64[D]")
    registered = [
        s if x < 0.2 else _german_date(s) for s, x in zip(_iso(since), u[:, 2], strict=True)
    ]
    vin: list[str | None] = [
        None if x < 0.02 else (s.lower() if x > 0.97 else s)
        for s, x in zip(assets.vehicle_vin, u[:, 3], strict=True)
    ]
    columns: dict[str, list[Any]] = {
        "Zulassungsnummer": _record_ids(rng, n, "Z", 8),
        "Kennzeichen": [
            _plate_written(p, int(x * 10) - 6 if x >= 0.7 else 0)
            for p, x in zip(assets.vehicle_plate, u[:, 4], strict=True)
        ],
        "Kennzeichenart": [
            _pick(_PLATE_KIND_DE[k], k, x) for k, x in zip(kinds, u[:, 6], strict=True)
        ],
        "FIN": vin,
        "Hersteller": [
            m.upper() if x < 0.3 else m for m, x in zip(assets.vehicle_make, u[:, 5], strict=True)
        ],
        "Modell": list(assets.vehicle_model),
        "Farbe": [_COLOURS_DE.get(c, c) for c in assets.vehicle_colour],
        "Halter": keeper,
        "Halter_Kennung": keeper_id,
        "Halter_Firma": keeper_org,
        "Zulassung_ab": registered,
        "Zulassung_bis": [None] * n,
    }

    def no_plate(i: int) -> None:
        columns["Kennzeichen"][i] = None

    def remark(i: int) -> None:
        columns["Kennzeichen"][i] = f"{assets.vehicle_plate[i]} (Saisonkennzeichen 04-10)"

    def impossible(i: int) -> None:
        columns["Zulassung_ab"][i] = f"31.04.{str(since[i])[:4]}"

    planted = _plant(
        rng,
        n,
        [
            ("plate (required) missing", no_plate),
            ("plate with a remark, too long", remark),
            ("impossible registration date 31.04.", impossible),
        ],
    )
    # earlier registrations, drawn after everything else and appended after the planted
    # rows' indices, so the current rows and the planted ones stay as they are
    history, previous = _vehicle_history(pop, assets, ids, since, keeper, keeper_id, rng)
    previous["Zulassungsnummer"] = _more_record_ids(
        rng, columns["Zulassungsnummer"], len(history), "Z", 8
    )
    for col, values in previous.items():
        columns[col].extend(values)
    properties = {
        "record_id": "Zulassungsnummer",
        "plate": "Kennzeichen",
        "plate_kind": {
            "column": "Kennzeichenart",
            "values": {
                "Privat": "private",
                "Diplomatenkennzeichen": "diplomatic",
                "CD": "diplomatic",
                "Dienstkennzeichen": "official",
                "Gewerblich": "company",
            },
        },
        "vin": "FIN",
        "make": "Hersteller",
        "model": "Modell",
        "colour": "Farbe",
        "owner_name": "Halter",
        "owner_id": "Halter_Kennung",
        "owner_organisation": "Halter_Firma",
        "registered_from": {"column": "Zulassung_ab", "formats": ["%d.%m.%Y", "%Y-%m-%d"]},
        "registered_to": {"column": "Zulassung_bis", "formats": ["%d.%m.%Y", "%Y-%m-%d"]},
    }
    entity = np.concatenate([np.arange(n), history])
    return _feed(
        "vehicle_register", "registry.vehicle", "vehicle_register.csv", columns, properties,
        "vehicle", entity, "Zulassungsnummer", planted,
        csv={"delimiter": ";", "encoding": "utf-8"},
    )  # fmt: skip


def _vehicle_history(
    pop: Population,
    assets: Assets,
    ids: _Identities,
    since: np.ndarray,
    keeper: list[str | None],
    keeper_id: list[str | None],
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """Earlier, ended registrations of about 10% of the vehicles: the vehicle ids and the
    register's columns of these rows.

    The same VIN (2% with a typo), ended the day before the current registration began
    and begun one to eight years earlier; the same plate for half (maybe written another
    way), a previous plate of the same kind for the others (one that no vehicle bears
    now); the same keeper for 70% (written again), a previous keeper for 30% (another
    person; organisations and taxi firms keep their cars); the same make, model and
    colour, written in their own way."""
    n = len(assets.vehicle_kind)
    u = rng.random((n, 12))
    history = np.flatnonzero(u[:, 0] < 0.10)
    h = len(history)
    years = rng.integers(365, 8 * 365 + 1, size=h).astype("timedelta64[D]")
    ended = since[history] - np.timedelta64(1, "D")
    began = ended - years
    owner_p, owner_o = assets.vehicle_owner_person, assets.vehicle_owner_org
    other = rng.integers(0, pop.size - 1, size=h)
    person = owner_p[history]
    other = np.where(other >= person, other + 1, other)  # never the current keeper
    same = u[history, 9] < 0.7
    written = np.where((person < 0) | same, person, other)  # -1: the organisation
    named = np.flatnonzero(written >= 0)
    given, family = _written_names(
        ids, written[named], _Dirt(german=0.5, variant=0.1, typo=0.02, split=0.1), rng
    )
    name_of = dict(zip(named.tolist(), range(len(named)), strict=True))
    taken = {_plate_key(p) for p in assets.vehicle_plate}  # no vehicle's plate now
    cols: dict[str, list[Any]] = {
        k: []
        for k in ("Kennzeichen", "Kennzeichenart", "FIN", "Hersteller", "Modell", "Farbe",
                  "Halter", "Halter_Kennung", "Halter_Firma", "Zulassung_ab", "Zulassung_bis")
    }  # fmt: skip
    for j, v in enumerate(history.tolist()):
        x = u[v]
        vin = assets.vehicle_vin[v]
        if x[2] < 0.02:
            vin = _vin_typo(vin, rng)
        cols["FIN"].append(None if x[1] < 0.02 else (vin.lower() if x[1] > 0.97 else vin))
        plate = assets.vehicle_plate[v]
        if x[4] >= 0.5:  # a previous plate
            plate = _previous_plate(plate, rng)
            while _plate_key(plate) in taken:
                plate = _previous_plate(plate, rng)
            taken.add(_plate_key(plate))
        kind = str(assets.vehicle_kind[v])
        frm, to = str(began[j]), str(ended[j])
        if x[3] >= 0.2:
            frm, to = _german_date(frm), _german_date(to)
        if j in name_of:
            k, p = name_of[j], int(written[j])
            if x[10] < 0.7 or ids.tradition[p] == "chinese":
                cols["Halter"].append(f"{family[k]}, {given[k]}")
            else:
                cols["Halter"].append(f"{given[k]} {family[k]}")
            cols["Halter_Kennung"].append(ids.document[p] if x[11] >= 0.15 else None)
            cols["Halter_Firma"].append(None)
        elif owner_o[v] >= 0:
            o = int(owner_o[v])
            name = ids.org_registered[o] if x[11] < 0.5 else pop.org_name[o]
            cols["Halter"].append(name)
            cols["Halter_Firma"].append(name)
            cols["Halter_Kennung"].append(ids.org_number[o])
        else:  # a taxi: the same firm
            cols["Halter"].append(keeper[v])
            cols["Halter_Firma"].append(keeper[v])
            cols["Halter_Kennung"].append(keeper_id[v])
        make = assets.vehicle_make[v]
        cols["Kennzeichen"].append(_plate_written(plate, int(x[5] * 4)))
        cols["Kennzeichenart"].append(_pick(_PLATE_KIND_DE[kind], kind, x[6]))
        cols["Hersteller"].append(make.upper() if x[7] < 0.3 else make)
        cols["Modell"].append(assets.vehicle_model[v])
        cols["Farbe"].append(_colour_written(assets.vehicle_colour[v], x[8]))
        cols["Zulassung_ab"].append(frm)
        cols["Zulassung_bis"].append(to)
    return history, cols


# -- 6. the subscriber register --------------------------------------------------------------
_CONTRACT_DE = {"prepaid": ("Prepaid", "Prepaid-Karte"), "postpaid": ("Laufzeitvertrag",),
                "corporate": ("Firmenkunde",)}  # fmt: skip


def _subscribers(
    pop: Population, assets: Assets, ids: _Identities, start: dt.date, rng: np.random.Generator
) -> Feed:
    """One row per subscription: a handset swap updates the row's IMEI, a number swap
    starts a new row. Prepaid lines often have no subscriber or a false one; second
    phones nearly always. About 8% of the lines also have an earlier, ended row of an
    old SIM card (see :func:`_subscription_history`)."""
    nd = len(assets.device_person)
    handset = {
        int(o): int(w)
        for o, w, k in zip(assets.swap_old, assets.swap_new, assets.swap_kind, strict=True)
        if k == "handset"
    }
    swap_day: dict[int, dt.date] = {}
    for o, w, t, k in zip(
        assets.swap_old, assets.swap_new, assets.swap_time, assets.swap_kind, strict=True
    ):
        if k == "number":
            day = dt.datetime.fromtimestamp(int(t), LOCAL).date()
            swap_day[int(o)] = swap_day[int(w)] = day
    merged = set(handset.values())
    rows = [d for d in range(nd) if d not in merged]
    entity = np.array([handset.get(d, d) for d in rows], dtype=np.int64)
    n = len(rows)
    u = rng.random((n, 10))
    owner = assets.device_person[rows]
    contract = assets.device_contract[rows]
    second = assets.device_role[rows] == "second"
    # whose name is written: the owner, another person (a false subscriber), a made-up
    # name (-1) or nobody (-2)
    subject = owner.copy()
    prepaid = contract == "prepaid"
    none_share = np.where(second, 0.55, 0.4)
    false_share = np.where(second, 0.4, 0.2)
    nobody = prepaid & (u[:, 0] < none_share)
    false = prepaid & ~nobody & (u[:, 0] < none_share + false_share)
    other = rng.integers(0, pop.size - 1, size=n)
    other = np.where(other >= owner, other + 1, other)  # never the owner
    subject[false & (u[:, 1] < 0.5)] = other[false & (u[:, 1] < 0.5)]
    subject[false & (u[:, 1] >= 0.5)] = -1
    subject[nobody] = -2
    corporate = contract == "corporate"
    subject[corporate & (u[:, 2] < 0.5)] = -2  # the company only
    named = np.flatnonzero(subject >= 0)
    given, family = _written_names(
        ids, subject[named], _Dirt(german=0.3, variant=0.2, nickname=0.03, typo=0.02), rng
    )
    names: list[str | None] = [None] * n
    docs: list[str | None] = [None] * n
    contract_of = contract.tolist()
    style, with_doc = u[:, 3].tolist(), u[:, 4].tolist()
    for j, i in enumerate(named.tolist()):
        p = int(subject[i])
        if ids.han_family[p] and style[i] < 0.1:
            names[i] = ids.han_family[p] + ids.han_given[p]
        elif style[i] < 0.35:
            names[i] = f"{family[j]}, {given[j]}"
        else:
            names[i] = f"{given[j]} {family[j]}"
        share = {"postpaid": 0.8, "prepaid": 0.5}.get(contract_of[i], 0.0)
        if with_doc[i] < share:
            docs[i] = ids.document[p]
    for i in np.flatnonzero(subject == -1).tolist():
        names[i] = _FAKE_NAMES[int(rng.integers(len(_FAKE_NAMES)))]
    orgs: list[str | None] = [None] * n
    address: list[str | None] = [None] * n
    billed = (subject == owner) & (u[:, 5] < np.where(contract == "postpaid", 0.9, 0.5))
    for i in np.flatnonzero(corporate).tolist():
        o = int(assets.device_org[rows[i]])
        orgs[i] = ids.org_registered[o] if u[i, 5] < 0.5 else pop.org_name[o]
        address[i] = ids.address(int(pop.org_building[o]))
    for i in np.flatnonzero(billed & ~corporate).tolist():
        home = ids.address(int(pop.person_home[owner[i]]), sep=" ")
        address[i] = home.replace("straße", "strasse") if u[i, 6] < 0.3 else home
    msisdn = [
        _national(assets.device_msisdn[d], int(x * 12)) if x < 0.5 else assets.device_msisdn[d]
        for d, x in zip(rows, u[:, 7], strict=True)
    ]
    imei_share = np.where(prepaid, 0.15, 0.7)
    imei: list[str | None] = [
        assets.device_imei[int(e)] if x < s else None
        for e, x, s in zip(entity, u[:, 8], imei_share, strict=True)
    ]
    back = rng.integers(30, 3000, size=n).astype("timedelta64[D]")
    started: list[dt.date] = (np.datetime64(start, "D") - back).tolist()
    ended: list[dt.date | None] = [None] * n
    for i, d in enumerate(rows):
        swapped = swap_day.get(d)
        if swapped is None:
            continue
        if int(assets.device_from[d]) > assets.period_start:
            started[i] = swapped  # the new number's subscription starts at the swap
        else:
            ended[i] = swapped  # the old number's ends there
    columns: dict[str, list[Any]] = {
        "Vertragsnummer": _record_ids(rng, n, "V", 10),
        "Rufnummer": msisdn,
        "IMSI": [assets.device_imsi[d] for d in rows],
        "IMEI": imei,
        "Teilnehmer": names,
        "Ausweisnummer": docs,
        "Firma": orgs,
        "Vertragsart": [
            _pick(_CONTRACT_DE[str(c)], str(c), x) for c, x in zip(contract, u[:, 9], strict=True)
        ],
        "Rechnungsanschrift": address,
        "Aktivierung": started,
        "Kuendigung": ended,
    }

    def short_imsi(i: int) -> None:
        columns["IMSI"][i] = columns["IMSI"][i][:-2]

    def bad_number(i: int) -> None:
        e164 = assets.device_msisdn[rows[i]]
        columns["Rufnummer"][i] = f"0{e164[3:6]} {e164[6:9]}"

    def neither(i: int) -> None:
        columns["Rufnummer"][i] = columns["IMSI"][i] = None

    planted = _plant(
        rng,
        n,
        [
            ("IMSI truncated to 13 digits", short_imsi),
            ("number too short to be a phone number", bad_number),
            ("neither number nor IMSI", neither),
        ],
    )
    # earlier SIM cards, drawn after everything else and appended after the planted
    # rows' indices, so the current rows and the planted ones stay as they are
    history, previous = _subscription_history(
        assets, ids, rows, subject, names, orgs, address, started, set(swap_day), rng
    )
    previous["Vertragsnummer"] = _more_record_ids(
        rng, columns["Vertragsnummer"], len(history), "V", 10
    )
    for col, values in previous.items():
        columns[col].extend(values)
    import pyarrow as pa

    properties = {
        "record_id": "Vertragsnummer",
        "msisdn": "Rufnummer",
        "imsi": "IMSI",
        "imei": "IMEI",
        "subscriber_name": "Teilnehmer",
        "subscriber_id": "Ausweisnummer",
        "subscriber_organisation": "Firma",
        "contract": {
            "column": "Vertragsart",
            "values": {
                "Prepaid-Karte": "prepaid",
                "Laufzeitvertrag": "postpaid",
                "Firmenkunde": "corporate",
            },
        },
        "address": "Rechnungsanschrift",
        "start_date": "Aktivierung",
        "end_date": "Kuendigung",
    }
    return _feed(
        "subscriber_register", "registry.subscription", "subscriber_register.parquet",
        columns, properties, "device", np.concatenate([entity, entity[history]]),
        "Vertragsnummer", planted,
        types={"Aktivierung": pa.date32(), "Kuendigung": pa.date32()},
        options={"phone_region": "DE"},
    )  # fmt: skip


def _subscription_history(
    assets: Assets,
    ids: _Identities,
    rows: list[int],
    subject: np.ndarray,
    names: list[str | None],
    orgs: list[str | None],
    address: list[str | None],
    started: list[dt.date],
    swapped: set[int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """Earlier, ended rows of about 8% of the lines (``rows``: the device of each row),
    as when a SIM card was replaced: the row indices and the register's columns of
    these rows.

    The same number (written in its own style), an old IMSI of the same operator that
    no device uses, the handset the line had when the period began or none, ended on
    the day the current row started; the same subscriber written again (or the same
    false name, or none). Lines with a number swap keep their rows as they are."""
    n = len(rows)
    u = rng.random((n, 8))
    eligible = np.array([d not in swapped for d in rows], dtype=bool)
    history = np.flatnonzero(eligible & (u[:, 0] < 0.08))
    h = len(history)
    back = rng.integers(90, 2500, size=h)
    who = subject[history]
    named = np.flatnonzero(who >= 0)
    given, family = _written_names(
        ids, who[named], _Dirt(german=0.3, variant=0.2, nickname=0.03, typo=0.02), rng
    )
    name_of = dict(zip(named.tolist(), range(len(named)), strict=True))
    taken = set(assets.device_imsi)  # no device's IMSI
    contract = assets.device_contract
    cols: dict[str, list[Any]] = {
        k: []
        for k in ("Rufnummer", "IMSI", "IMEI", "Teilnehmer", "Ausweisnummer", "Firma",
                  "Vertragsart", "Rechnungsanschrift", "Aktivierung", "Kuendigung")
    }  # fmt: skip
    for j, i in enumerate(history.tolist()):
        d, x = rows[i], u[i]
        kind = str(contract[d])
        msisdn = assets.device_msisdn[d]
        cols["Rufnummer"].append(_national(msisdn, int(x[1] * 12)) if x[1] < 0.5 else msisdn)
        imsi = assets.device_imsi[d]
        old = imsi
        while old in taken:
            old = f"{imsi[:5]}{int(rng.integers(0, 10**10)):010d}"
        taken.add(old)
        cols["IMSI"].append(old)
        share = 0.15 if kind == "prepaid" else 0.7
        cols["IMEI"].append(assets.device_imei[d] if x[2] < share else None)
        name, doc = names[i], None
        if j in name_of:
            k, p = name_of[j], int(who[j])
            if ids.han_family[p] and x[3] < 0.1:
                name = ids.han_family[p] + ids.han_given[p]
            elif x[3] < 0.35:
                name = f"{family[k]}, {given[k]}"
            else:
                name = f"{given[k]} {family[k]}"
            if x[4] < {"postpaid": 0.8, "prepaid": 0.5}.get(kind, 0.0):
                doc = ids.document[p]
        cols["Teilnehmer"].append(name)  # a false name or none stays as it is
        cols["Ausweisnummer"].append(doc)
        cols["Firma"].append(orgs[i])
        cols["Vertragsart"].append(_pick(_CONTRACT_DE[kind], kind, x[5]))
        cols["Rechnungsanschrift"].append(address[i])
        cols["Kuendigung"].append(started[i])
        cols["Aktivierung"].append(started[i] - dt.timedelta(days=int(back[j])))
    return history, cols


# -- 7. the address register ------------------------------------------------------------------
def _addresses(world: World, pop: Population, ids: _Identities, rng: np.random.Generator) -> Feed:
    """Every building with its address, use, position (decimal commas) and occupying
    organisation."""
    nb = len(world.building_kind)
    u = rng.random((nb, 4))
    lat, lon = world.to_latlon(world.building_xy)
    occupant: list[str | None] = [None] * nb
    occupant_id: list[str | None] = [None] * nb
    for o, b in enumerate(pop.org_building.tolist()):
        occupant[b] = ids.org_registered[o] if u[b, 0] < 0.7 else pop.org_name[o]
        occupant_id[b] = ids.org_number[o]
    address = [ids.address(b) for b in range(nb)]
    for b in np.flatnonzero(u[:, 1] < 0.3).tolist():
        address[b] = address[b].replace("straße", "str.").replace("Straße", "Str.")
    no_position = u[:, 2] < 0.04
    lat_s: list[str | None] = [
        None if m else f"{x:.6f}".replace(".", ",") for x, m in zip(lat, no_position, strict=True)
    ]
    lon_s: list[str | None] = [
        None if m else f"{x:.6f}".replace(".", ",") for x, m in zip(lon, no_position, strict=True)
    ]
    columns: dict[str, list[Any]] = {
        "Objekt_ID": _record_ids(rng, nb, "DEBEAL", 10),
        "Anschrift": address,
        "Nutzung": [_USE_DE.get(str(k), str(k)) for k in world.building_kind],
        "Nutzer": occupant,
        "Nutzer_Kennung": occupant_id,
        "Breite": lat_s,
        "Laenge": lon_s,
    }

    def half_position(i: int) -> None:
        columns["Breite"][i] = f"{lat[i]:.6f}".replace(".", ",")
        columns["Laenge"][i] = None

    def no_separator(i: int) -> None:
        columns["Breite"][i] = f"{lat[i]:.6f}".replace(".", "")
        columns["Laenge"][i] = f"{lon[i]:.6f}".replace(".", ",")

    planted = _plant(
        rng,
        nb,
        [
            ("latitude without longitude", half_position),
            ("latitude without decimal separator", no_separator),
        ],
    )
    properties = {
        "record_id": "Objekt_ID",
        "address": "Anschrift",
        "use": {
            "column": "Nutzung",
            "values": {v: k for k, v in _USE_DE.items() if v.lower() != k},
        },
        "occupant_name": "Nutzer",
        "occupant_id": "Nutzer_Kennung",
        "lat": "Breite",
        "lon": "Laenge",
    }
    return _feed(
        "address_register", "registry.address", "address_register.csv", columns, properties,
        "building", np.arange(nb), "Objekt_ID", planted,
        csv={"delimiter": ";", "encoding": "utf-8"},
    )  # fmt: skip
