"""``float`` and ``integer``: known answers, every error reason, properties."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.errors import MappingError
from tessera.types import Cleaned, CleanOptions, get_type

FLOAT = get_type("float")
INTEGER = get_type("integer")
BOUNDED = CleanOptions(minimum=-90, maximum=90)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.5", 12.5),
        (" 12,5 ", 12.5),  # decimal comma
        ("-3", -3.0),
        ("+.5", 0.5),
        ("1e3", 1000.0),
        ("-0", 0.0),
        (7, 7.0),
        (2.5, 2.5),
        (Decimal("1.25"), 1.25),
    ],
)
def test_float_known_answers(raw: object, expected: float) -> None:
    cleaned = FLOAT.clean(raw)
    assert cleaned == Cleaned(expected)
    assert isinstance(cleaned.value, float)


@pytest.mark.parametrize(
    ("raw", "options", "reason"),
    [
        ("91", BOUNDED, "value 91.0 above maximum 90"),
        ("-90.5", BOUNDED, "value -90.5 below minimum -90"),
        ("1,5", CleanOptions(maximum=1.25), "value 1.5 above maximum 1.25"),
        ("abc", BOUNDED, "not a number"),
        ("1.234,5", BOUNDED, "not a number"),  # both separators: ambiguous
        ("1_000", BOUNDED, "not a number"),
        ("nan", BOUNDED, "not a number"),
        ("inf", BOUNDED, "not a number"),
        (True, BOUNDED, "not a number"),
        ("1e999", BOUNDED, "value is not finite"),
        (float("nan"), BOUNDED, "value is not finite"),
        (float("-inf"), BOUNDED, "value is not finite"),
        (10**400, BOUNDED, "value is not finite"),
    ],
)
def test_float_errors(raw: object, options: CleanOptions, reason: str) -> None:
    assert FLOAT.clean(raw, options) == Cleaned(None, reason)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), (" -7 ", -7), ("+3", 3), ("12.0", 12), ("12.", 12), ("007", 7), (5, 5), (5.0, 5)],
)
def test_integer_known_answers(raw: object, expected: int) -> None:
    cleaned = INTEGER.clean(raw)
    assert cleaned == Cleaned(expected)
    assert type(cleaned.value) is int


@pytest.mark.parametrize(
    ("raw", "options", "reason"),
    [
        ("91", BOUNDED, "value 91 above maximum 90"),
        ("-91", BOUNDED, "value -91 below minimum -90"),
        ("3", CleanOptions(minimum=3.5), "value 3 below minimum 3.5"),
        ("12.5", BOUNDED, "not an integer"),
        ("1e3", BOUNDED, "not an integer"),
        ("x", BOUNDED, "not an integer"),
        (2.5, BOUNDED, "not an integer"),
        (False, BOUNDED, "not an integer"),
        (float("inf"), BOUNDED, "value is not finite"),
        ("9223372036854775808", CleanOptions(), "integer out of range"),
        (2**63, CleanOptions(), "integer out of range"),
        (1e19, CleanOptions(), "integer out of range"),
    ],
)
def test_integer_errors(raw: object, options: CleanOptions, reason: str) -> None:
    assert INTEGER.clean(raw, options) == Cleaned(None, reason)


def test_integer_limits() -> None:
    assert INTEGER.clean(str(2**63 - 1)) == Cleaned(2**63 - 1)
    assert INTEGER.clean(str(-(2**63))) == Cleaned(-(2**63))


@pytest.mark.parametrize("name", ["float", "integer"])
@pytest.mark.parametrize("raw", [None, "", "  ", "\t"])
def test_missing(name: str, raw: object) -> None:
    assert get_type(name).clean(raw) == Cleaned(None)


@pytest.mark.parametrize("bad", [float("nan"), "5"])
def test_bad_bounds_raise(bad: object) -> None:
    with pytest.raises(MappingError):
        FLOAT.clean("1", CleanOptions(maximum=bad))  # type: ignore[arg-type]


def test_infinite_bounds_are_no_bounds() -> None:
    assert FLOAT.clean("1e300", CleanOptions(maximum=math.inf)) == Cleaned(1e300)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(), st.floats().map(repr), st.text(max_size=8)))
def test_float_idempotent_and_valid(raw: object) -> None:
    cleaned = FLOAT.clean(raw)
    if cleaned.value is not None:
        assert math.isfinite(cleaned.value)
        assert FLOAT.clean(cleaned.value) == cleaned
        assert FLOAT.clean(repr(cleaned.value)) == cleaned
        assert FLOAT.validate(cleaned.value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(), st.integers().map(str), st.text(max_size=8)))
def test_integer_idempotent_and_valid(raw: object) -> None:
    cleaned = INTEGER.clean(raw)
    if cleaned.value is not None:
        assert INTEGER.clean(cleaned.value) == cleaned
        assert INTEGER.clean(str(cleaned.value)) == cleaned
        assert INTEGER.validate(cleaned.value)


@settings(deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(-1e6, 1e6))
def test_float_bounds_are_inclusive(value: float, bound: float) -> None:
    cleaned = FLOAT.clean(value, CleanOptions(maximum=bound))
    assert (cleaned.error is None) == (value <= bound)


def test_validate_rejects_other_types() -> None:
    assert not FLOAT.validate(1)
    assert not FLOAT.validate("1.0")
    assert not INTEGER.validate(1.0)
    assert not INTEGER.validate(True)
