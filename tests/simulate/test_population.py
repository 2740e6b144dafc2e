"""People, organisations and ties: the shapes the brief asks for, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.simulate import WorldError, build_world
from tessera.simulate.population import EMBASSY_ROLES, ROLES, Population, build_population


@pytest.fixture(scope="module")
def pop() -> Population:
    return build_population(build_world(3), 3000, seed=3)


def test_same_seed_same_people(pop: Population) -> None:
    again = build_population(build_world(3), 3000, seed=3)
    assert pop.persons_table().equals(again.persons_table())
    assert pop.ties_table().equals(again.ties_table())
    other = build_population(build_world(3), 3000, seed=4)
    assert not pop.persons_table().equals(other.persons_table())


def test_roles_in_their_shares(pop: Population) -> None:
    for role, (share, _) in ROLES.items():
        got = float((pop.person_role == role).mean())
        assert abs(got - share) < 0.01, role


def test_workplaces_match_roles(pop: Population) -> None:
    world = build_world(3)
    kind = world.building_kind
    for role, (_, places) in ROLES.items():
        who = pop.person_role == role
        work = pop.person_work[who]
        if places == ("outside", "home"):
            assert set(np.unique(work)) <= {-1, -2}
            assert 0.45 < (work == -1).mean() < 0.75
        else:
            assert (work >= 0).all(), role
            assert set(kind[work]) <= set(places), role
    # embassy people work at their organisation's building, mostly its nationals
    emb = np.isin(pop.person_role, ["diplomat", "attache"])
    assert (pop.org_building[pop.person_org[emb]] == pop.person_work[emb]).all()
    countries = pop.org_country[pop.person_org[emb]]
    assert (countries == pop.person_nationality[emb]).all()
    assert set(EMBASSY_ROLES) <= set(pop.person_role.tolist())


def test_households_share_home_and_nationality(pop: Population) -> None:
    world = build_world(3)
    assert (world.building_kind[pop.person_home] == "residential").all()
    for h in np.unique(pop.person_household)[:300]:
        members = pop.person_household == h
        assert len(set(pop.person_home[members])) == 1
        assert len(set(pop.person_nationality[members])) == 1
    sizes = np.bincount(pop.person_household)
    assert 1.7 < sizes.mean() < 2.8
    assert sizes.max() <= 5


def test_ties_are_unique_typed_and_plausible(pop: Population) -> None:
    assert (pop.tie_a < pop.tie_b).all()
    pairs = set(zip(pop.tie_a.tolist(), pop.tie_b.tolist(), strict=True))
    assert len(pairs) == len(pop.tie_a)
    assert ((pop.tie_strength > 0) & (pop.tie_strength <= 1)).all()
    fam = pop.tie_type == "family"
    assert (pop.person_household[pop.tie_a[fam]] == pop.person_household[pop.tie_b[fam]]).all()
    col = pop.tie_type == "colleague"
    assert (pop.person_org[pop.tie_a[col]] == pop.person_org[pop.tie_b[col]]).all()
    # family ties are the strongest on average, acquaintances the weakest
    mean = {t: pop.tie_strength[pop.tie_type == t].mean() for t in np.unique(pop.tie_type)}
    assert mean["family"] > mean["friend"] > mean["acquaintance"]
    degree = np.bincount(np.concatenate([pop.tie_a, pop.tie_b]), minlength=pop.size)
    assert degree.min() >= 1
    assert degree.max() > 4 * np.median(degree)  # heavy-tailed: some people know many


def test_names_in_their_own_script(pop: Population) -> None:
    cn = np.flatnonzero(pop.person_nationality == "CN")
    assert len(cn) > 0
    for i in cn.tolist():
        assert all("\u4e00" <= ch <= "\u9fff" for ch in pop.person_name[i])
        assert pop.person_name_latin[i].isascii()
    de = np.flatnonzero(pop.person_nationality == "DE")[:50]
    assert all(pop.person_name[i] == pop.person_name_latin[i] for i in de.tolist())


def test_too_few_people_is_refused() -> None:
    with pytest.raises(WorldError, match="at least 20"):
        build_population(build_world(3), 5, seed=1)


def test_latin_names_follow_nationality(pop: Population) -> None:
    from tessera.simulate.population import _LATIN_NAMES

    checked = 0
    for i in range(pop.size):
        country = str(pop.person_nationality[i])
        if country not in _LATIN_NAMES:
            continue
        given, family = _LATIN_NAMES[country]
        first, last = pop.person_name[i].split(" ", 1)
        assert first in given, (country, pop.person_name[i])
        assert last in family, (country, pop.person_name[i])
        checked += 1
    assert checked > 0.8 * pop.size
