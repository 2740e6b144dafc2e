"""``enum`` and ``country``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.errors import MappingError
from tessera.types import Cleaned, CleanOptions, get_type

ENUM = get_type("enum")
COUNTRY = get_type("country")
SEX = CleanOptions(
    values=("male", "female", "unknown"),
    aliases=(("M", "male"), ("f", "female"), ("w", "female"), ("n/a", "unknown")),
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("male", "male"),
        (" MALE ", "male"),
        ("Female", "female"),
        ("m", "male"),
        ("W", "female"),
        ("N/A", "unknown"),
        ("n/a  ", "unknown"),
    ],
)
def test_enum_known_answers(raw: str, expected: str) -> None:
    assert ENUM.clean(raw, SEX) == Cleaned(expected)


def test_enum_error_lists_allowed_values() -> None:
    assert ENUM.clean("x", SEX) == Cleaned(None, "'x' is not one of: male, female, unknown")
    many = CleanOptions(values=tuple(f"v{i}" for i in range(25)))
    assert ENUM.clean(" bad  value", many) == Cleaned(
        None, "'bad value' is not one of: v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, ... (15 more)"
    )


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_enum_missing(raw: object) -> None:
    assert ENUM.clean(raw, SEX) == Cleaned(None)


@pytest.mark.parametrize(
    "options",
    [
        CleanOptions(),
        CleanOptions(values=("a", "A")),
        CleanOptions(values=(" a",)),
        CleanOptions(values=("a",), aliases=(("b", "c"),)),
        CleanOptions(values=("a", "b"), aliases=(("a", "b"),)),
        CleanOptions(values="ab"),  # type: ignore[arg-type]
    ],
)
def test_enum_bad_options_raise(options: CleanOptions) -> None:
    with pytest.raises(MappingError):
        ENUM.clean("a", options)
    with pytest.raises(MappingError):
        ENUM.sql_clean('"c"', "string", options)


@settings(deadline=None)
@given(st.sampled_from(["male", "female", "unknown", "m", "f", "w", "n/a"]), st.data())
def test_enum_case_and_space_insensitive_idempotent(word: str, data: st.DataObject) -> None:
    variant = data.draw(st.sampled_from([word, word.upper(), word.title(), f"  {word}\t"]))
    cleaned = ENUM.clean(variant, SEX)
    assert cleaned.value in SEX.values
    assert ENUM.clean(cleaned.value, SEX) == cleaned
    assert ENUM.validate(cleaned.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("China", "CN"),
        ("CHN", "CN"),
        ("cn", "CN"),
        ("Russian Federation", "RU"),
        ("RUS", "RU"),
        ("United States", "US"),
        ("U.S.A.", "US"),
        ("uk", "GB"),
        ("United Kingdom", "GB"),
        ("The Netherlands", "NL"),
        ("Deutschland", "DE"),
        ("TUR", "TR"),
        ("Türkiye", "TR"),
        ("South Africa", "ZA"),
        ("XK", "XK"),
        (" iran ", "IR"),
    ],
)
def test_country_known_answers(raw: str, expected: str) -> None:
    assert COUNTRY.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize("raw", ["Narnia", "ZZ", "XXX", "Chinaa"])
def test_country_errors(raw: str) -> None:
    assert COUNTRY.clean(raw) == Cleaned(None, f"unknown country {raw!r}")


REQUIRED = [
    "CN",
    "RU",
    "US",
    "GB",
    "DE",
    "FR",
    "IT",
    "ES",
    "JP",
    "KR",
    "IN",
    "PK",
    "IR",
    "IQ",
    "SA",
    "AE",
    "EG",
    "TR",
    "UA",
    "BY",
    "KZ",
    "IL",
    "BR",
    "MX",
    "CA",
    "AU",
    "NL",
    "BE",
    "CH",
    "AT",
    "SE",
    "NO",
    "PL",
    "CZ",
    "VN",
    "TH",
    "ID",
    "NG",
    "ZA",
]


@pytest.mark.parametrize("code", REQUIRED)
def test_country_table_covers_common_countries(code: str) -> None:
    from tessera.types.enum import _COUNTRIES

    rows = {alpha2: (alpha3, names) for alpha2, alpha3, names in _COUNTRIES}
    alpha3, names = rows[code]
    assert COUNTRY.clean(code.lower()) == Cleaned(code)
    assert COUNTRY.clean(alpha3) == Cleaned(code)
    for english in names:
        assert COUNTRY.clean(english.title()) == Cleaned(code)
    assert COUNTRY.validate(code)


def test_country_validate() -> None:
    assert not COUNTRY.validate("cn")
    assert not COUNTRY.validate("CHN")
    assert not COUNTRY.validate(None)
