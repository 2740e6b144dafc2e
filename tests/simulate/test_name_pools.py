"""Names are long-tailed, as in real registers: a few common names, many rare ones."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tessera.simulate import build_world
from tessera.simulate.population import (
    _AR_FAMILY,
    _AR_GIVEN,
    _CN_FAMILY,
    _CN_GIVEN,
    _CN_SYLLABLES,
    _LATIN_NAMES,
    _RU_FAMILY,
    _RU_GIVEN,
    FEMALE_GIVEN,
    Population,
    _chinese_given,
    build_population,
)

PEOPLE = 4000


@pytest.fixture(scope="module")
def pop() -> Population:
    return build_population(build_world(5), PEOPLE, seed=5)


@pytest.fixture(scope="module")
def district() -> Population:
    """The district tier's size, where rare names have room to show up."""
    return build_population(build_world(5), 20_000, seed=5)


def _family(pop: Population, i: int) -> str:
    """The Latin family name of person ``i`` (Chinese names put it first)."""
    first, _, rest = pop.person_name_latin[i].partition(" ")
    return first if pop.person_nationality[i] == "CN" else rest


def test_pools_are_long() -> None:
    de_given, de_family = _LATIN_NAMES["DE"]
    assert len(de_given) >= 80
    assert len(de_family) >= 500
    for country, (given, family) in _LATIN_NAMES.items():
        assert len(given) >= 30, country
        assert len(family) >= 40, country
    assert len(_RU_GIVEN) >= 40
    assert len(_RU_FAMILY) >= 60
    assert len(_AR_GIVEN) >= 40
    assert len(_AR_FAMILY) >= 60
    assert len(_CN_FAMILY) >= 40
    assert len(_chinese_given()[0]) >= 3000
    pools = [_RU_GIVEN, _RU_FAMILY, _AR_GIVEN, _AR_FAMILY, _CN_FAMILY, _CN_SYLLABLES]
    for pool in [*pools, *(p for pair in _LATIN_NAMES.values() for p in pair)]:
        assert len(set(pool)) == len(pool)  # each name once, so ranks mean something
    # a given name never holds a space: registries split the Latin name at the first one
    for pool in [_RU_GIVEN, _AR_GIVEN, *(g for g, _ in _LATIN_NAMES.values())]:
        assert not any(" " in name for name in pool)


def test_most_full_names_are_distinct(pop: Population, district: Population) -> None:
    assert len(set(pop.person_name_latin)) > 0.75 * pop.size
    # at the district tier: over half the names distinct, and different people who share
    # name and birth date (the pairs entity resolution cannot tell apart) are rare
    assert len(set(district.person_name_latin)) > 0.5 * district.size
    same = Counter(zip(district.person_name_latin, district.person_birth.tolist(), strict=True))
    assert sum(k * (k - 1) // 2 for k in same.values()) <= 10


def test_a_few_family_names_are_common(pop: Population) -> None:
    families = Counter(_family(pop, i) for i in range(pop.size))
    (top, top_n), *_ = families.most_common(1)
    assert top_n >= 0.01 * pop.size, top
    # the head is the old pool: its names are the frequent ones and still occur
    de = np.flatnonzero(pop.person_nationality == "DE").tolist()
    head = {"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer"}
    assert top in head
    in_head = sum(_family(pop, i) in _LATIN_NAMES["DE"][1][:12] for i in de)
    assert 0.15 < in_head / len(de) < 0.5
    # ... and a long tail: many family names are borne by a single household
    de_families = Counter(_family(pop, i) for i in de)
    assert len(de_families) > 300
    assert sum(n <= 2 for n in de_families.values()) > 100


def test_names_of_the_old_head_still_occur(district: Population) -> None:
    families = {_family(district, i) for i in range(district.size)}
    assert {"Müller", "Schmidt", "Ivanov", "Wang", "Li"} <= families
    given = {name.partition(" ")[0] for name in district.person_name_latin}
    assert {"Thomas", "Anna", "Sergei"} <= given
    # names the registries know variants and nicknames of stay near the top of the pools
    assert _RU_GIVEN[:3] == ["Sergei", "Aleksandr", "Dmitri"]
    assert _RU_FAMILY[0] == "Ivanov"
    assert _AR_GIVEN[0] == "Mohammed"
    assert _AR_FAMILY[0] == "Al-Sayed"
    assert _LATIN_NAMES["DE"][1][0] == "Müller"
    assert _CN_FAMILY[0] == ("王", "Wang")
    assert _CN_GIVEN[0] == ("小明", "Xiaoming")


def test_households_share_a_family_name(pop: Population) -> None:
    by_household: dict[int, set[str]] = {}
    for i in range(pop.size):
        by_household.setdefault(int(pop.person_household[i]), set()).add(_family(pop, i))
    assert all(len(names) == 1 for names in by_household.values())
    assert (np.bincount(pop.person_household) > 1).sum() > 100  # the check had teeth


def test_chinese_names_read_as_their_pinyin(district: Population) -> None:
    from pypinyin import lazy_pinyin

    def pinyin(han: str) -> str:
        return "".join(lazy_pinyin(han)).capitalize()

    cn = np.flatnonzero(district.person_nationality == "CN").tolist()
    assert len(cn) > 30
    for i in cn:
        han = district.person_name[i]
        family, given = district.person_name_latin[i].split(" ")
        assert len(han) in (2, 3), han
        assert pinyin(han[:1]) == family, han
        assert pinyin(han[1:]) == given, han
    # every Chinese given name in the pool, not only the drawn ones, reads as written
    names, cdf = _chinese_given()
    assert all(pinyin(h) == p for h, p in names)
    assert all(pinyin(h) == p for h, p in _CN_FAMILY)
    assert cdf[-1] == pytest.approx(1.0)
    assert (np.diff(cdf) > 0).all()


def test_same_seed_same_names() -> None:
    world = build_world(5)
    a = build_population(world, 1000, seed=9)
    b = build_population(world, 1000, seed=9)
    assert a.person_name == b.person_name
    assert a.person_name_latin == b.person_name_latin
    c = build_population(world, 1000, seed=10)
    assert a.person_name_latin != c.person_name_latin


def test_women_s_names_are_known_in_every_pool() -> None:
    pools = [_RU_GIVEN, _AR_GIVEN, *(given for given, _ in _LATIN_NAMES.values())]
    known = {name for pool in pools for name in pool} | {p for _, p in _chinese_given()[0]}
    assert known >= FEMALE_GIVEN  # no misspelt entry
    # the old heads of the pools, which contact lists long knew
    assert {"Anna", "Olga", "Fatima", "Yuki", "Chloé", "Ayşe", "Lijuan"} <= FEMALE_GIVEN
    for pool in pools:
        share = sum(name in FEMALE_GIVEN for name in pool) / len(pool)
        assert 0.25 < share < 0.75, pool[:3]
    # Chinese names by their characters: 丽娟 is a woman's name, 志强 a man's
    assert "Lijuan" in FEMALE_GIVEN
    assert "Zhiqiang" not in FEMALE_GIVEN
