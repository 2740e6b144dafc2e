"""``name``: cleaning, the latin form, Jaro-Winkler and the order-insensitive compare."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.types import Cleaned, get_type
from tessera.types.name import jaro_winkler, latin_name

NAME = get_type("name")
WANG = [
    "WANG Xiaoming",
    "Xiaoming Wang",
    "王小明",
    "Wang Xiao Ming",
    "wang xiao-ming",
    "Xiao Ming WANG",
]
TOKENS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Wang   Xiaoming ", "Wang Xiaoming"),
        ("王小明", "王小明"),
        ("Jose\u0301", "José"),
        ("ИВАН", "ИВАН"),
    ],
)
def test_clean_keeps_script_and_case(raw: str, expected: str) -> None:
    assert NAME.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_missing(raw: object) -> None:
    assert NAME.clean(raw) == Cleaned(None)


@pytest.mark.parametrize(
    ("name", "latin"),
    [
        ("王小明", "wang xiaoming"),
        ("李娜", "li na"),
        ("欧阳小明", "ouyang xiaoming"),  # compound surname
        ("吕小明", "lu xiaoming"),
        ("王 小明", "wang xiaoming"),
        ("约翰·史密斯", "yuehan shimisi"),
        ("WANG Xiaoming", "wang xiaoming"),
        ("Jean-Pierre O'Brien", "jean pierre obrien"),
        ("José Álvarez-Núñez", "jose alvarez nunez"),
        ("Дмитрий Шостакович", "dmitriy shostakovich"),
        ("Smith, John", "smith john"),
        ("J.R.R. Tolkien", "jrr tolkien"),
    ],
)
def test_latin(name: str, latin: str) -> None:
    assert latin_name(name) == latin
    assert NAME.derive(name) == {"latin": latin}


def test_derive_declared() -> None:
    assert [d.suffix for d in NAME.derived] == ["latin"]


def test_jaro_winkler_known_values() -> None:
    assert jaro_winkler("martha", "marhta") == pytest.approx(0.9611, abs=1e-4)
    assert jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=1e-4)
    assert jaro_winkler("dixon", "dicksonx") == pytest.approx(0.8133, abs=1e-4)
    assert jaro_winkler("abc", "abc") == 1.0
    assert jaro_winkler("abc", "xyz") == 0.0
    assert jaro_winkler("", "abc") == 0.0


@settings(deadline=None)
@given(TOKENS, TOKENS)
def test_jaro_winkler_symmetric_bounded(left: str, right: str) -> None:
    score = jaro_winkler(left, right)
    assert 0.0 <= score <= 1.0
    assert score == jaro_winkler(right, left)


@pytest.mark.parametrize(("left", "right"), list(itertools.combinations(WANG, 2)))
def test_chinese_name_variants_match(left: str, right: str) -> None:
    assert NAME.compare(left, right) >= 0.95


def test_compare_known_levels() -> None:
    assert 0.85 < NAME.compare("John Smith", "Jon Smith") < 1.0
    assert NAME.compare("John Smith", "Smith John") >= 0.95
    assert NAME.compare("Dmitri Shostakovich", "Дмитрий Шостакович") > 0.9
    assert NAME.compare("John Smith", "Maria Garcia") < 0.5
    assert NAME.compare("John Smith", "王小明") < 0.5
    assert NAME.compare("Anna Müller", "Peter Novak") < 0.5
    assert NAME.compare("x", None) == 0.0
    assert NAME.compare("Same Name", "Same Name") == 1.0


NAMES = st.lists(TOKENS, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(NAMES, NAMES, st.randoms())
def test_compare_symmetric_and_order_invariant(left: str, right: str, rnd: object) -> None:
    score = NAME.compare(left, right)
    assert 0.0 <= score <= 1.0
    assert score == NAME.compare(right, left)
    tokens = left.split()
    rnd.shuffle(tokens)  # type: ignore[attr-defined]
    assert NAME.compare(" ".join(tokens), right) == pytest.approx(score)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=20))
def test_idempotent_and_latin_is_ascii(raw: str) -> None:
    cleaned = NAME.clean(raw)
    if cleaned.value is not None:
        assert NAME.clean(cleaned.value) == cleaned
        assert NAME.validate(cleaned.value)
        latin = NAME.derive(cleaned.value)["latin"]
        assert latin is None or (latin.isascii() and latin == latin.lower() and "  " not in latin)


def test_flags() -> None:
    assert (NAME.matchable, NAME.pivot, NAME.vectorized) == (True, False, False)
