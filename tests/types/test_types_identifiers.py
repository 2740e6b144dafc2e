"""``imei``, ``imsi`` and ``email``: known answers, reasons, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.types import Cleaned, get_type
from tessera.types.identifiers import IMEI_CHECK, IMEI_LENGTH, IMSI_LENGTH, luhn_check_digit

IMEI = get_type("imei")
IMSI = get_type("imsi")
EMAIL = get_type("email")
DIGITS14 = st.text("0123456789", min_size=14, max_size=14).filter(lambda d: d.strip("0") != "")


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("490154203237518", "490154203237518"),
        ("49-015420-323751-8", "490154203237518"),
        ("49 015420 323751 8", "490154203237518"),
        ("49/015420/323751/8", "490154203237518"),
        ("49015420323751", "490154203237518"),  # check digit appended
        ("4901542032375107", "490154203237518"),  # IMEISV: software version dropped
        (490154203237518, "490154203237518"),
        ("356938035643809", "356938035643809"),
    ],
)
def test_imei_known_answers(raw: object, expected: str) -> None:
    assert IMEI.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("490154203237519", IMEI_CHECK),
        ("1234567890123", IMEI_LENGTH),
        ("12345678901234567", IMEI_LENGTH),
        ("49015420323751X", IMEI_LENGTH),
        ("IMEI 490154203237518", IMEI_LENGTH),
        ("000000000000000", "IMEI is all zeros (a placeholder)"),
        (True, IMEI_LENGTH),
    ],
)
def test_imei_errors(raw: object, reason: str) -> None:
    assert IMEI.clean(raw) == Cleaned(None, reason)


@pytest.mark.parametrize("raw", [None, "", "  ", " - "])
def test_imei_missing(raw: object) -> None:
    assert IMEI.clean(raw) == Cleaned(None)


def test_imei_derive_tac() -> None:
    assert IMEI.derived[0].suffix == "tac"
    assert IMEI.derive("490154203237518") == {"tac": "49015420"}


@settings(deadline=None)
@given(DIGITS14)
def test_luhn_check_digit_makes_valid_numbers(digits: str) -> None:
    check = luhn_check_digit(digits)
    assert luhn_valid(digits + check)
    assert [d for d in "0123456789" if luhn_valid(digits + d)] == [check]


@settings(deadline=None)
@given(DIGITS14, st.integers(0, 13), st.integers(1, 9))
def test_luhn_detects_single_digit_errors(digits: str, position: int, delta: int) -> None:
    valid = digits + luhn_check_digit(digits)
    wrong = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1 :]
    cleaned = IMEI.clean(wrong)
    assert cleaned.error in (IMEI_CHECK, "IMEI is all zeros (a placeholder)")


@settings(deadline=None)
@given(DIGITS14, st.text("0123456789", min_size=2, max_size=2), st.sampled_from(["", " ", "-"]))
def test_imei_forms_agree(digits: str, software: str, sep: str) -> None:
    full = digits + luhn_check_digit(digits)
    expected = Cleaned(full)
    assert IMEI.clean(digits) == expected
    assert IMEI.clean(digits + software) == expected
    assert IMEI.clean(sep.join([full[:2], full[2:8], full[8:14], full[14]])) == expected
    assert IMEI.clean(full) == expected  # idempotent
    assert IMEI.validate(full)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("310150123456789", "310150123456789"),
        ("310 150 123456789", "310150123456789"),
        ("262-01-1234567890", "262011234567890"),
        ("26201123456789", "26201123456789"),
    ],
)
def test_imsi_known_answers(raw: str, expected: str) -> None:
    assert IMSI.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("3101501234567", IMSI_LENGTH),
        ("3101501234567890", IMSI_LENGTH),
        ("31015012345678X", IMSI_LENGTH),
        ("110150123456789", "IMSI country code (MCC) 110 is not 200-799"),
        ("901700000000001", "IMSI country code (MCC) 901 is not 200-799"),
    ],
)
def test_imsi_errors(raw: str, reason: str) -> None:
    assert IMSI.clean(raw) == Cleaned(None, reason)


@settings(max_examples=100, deadline=None)
@given(st.text("0123456789 -", max_size=18))
def test_imsi_idempotent(raw: str) -> None:
    cleaned = IMSI.clean(raw)
    if cleaned.value is not None:
        assert IMSI.clean(cleaned.value) == cleaned
        assert IMSI.validate(cleaned.value)
        assert 200 <= int(cleaned.value[:3]) <= 799


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" John.Doe@Example.COM ", "john.doe@example.com"),
        ("mailto:a+tag@b.de", "a+tag@b.de"),
        ("<x@y.org>", "x@y.org"),
        ("müller@bücher.de", "müller@bücher.de"),
        ("o'brien@mail.co.uk", "o'brien@mail.co.uk"),
    ],
)
def test_email_known_answers(raw: str, expected: str) -> None:
    assert EMAIL.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize(
    "raw", ["a@b", "a b@c.de", "@c.de", "a@", "a..b@c.de", "a@b..de", "a@-b.de", "a@b_c.de", "ab"]
)
def test_email_errors(raw: str) -> None:
    assert EMAIL.clean(raw) == Cleaned(None, "not an e-mail address")


@settings(max_examples=100, deadline=None)
@given(st.emails())
def test_email_idempotent_and_valid(raw: str) -> None:
    cleaned = EMAIL.clean(raw)
    if cleaned.value is not None:
        assert cleaned.value == raw.strip().lower()
        assert EMAIL.clean(cleaned.value) == cleaned
        assert EMAIL.validate(cleaned.value)


def test_flags() -> None:
    for vtype in (IMEI, IMSI, EMAIL):
        assert (vtype.matchable, vtype.pivot, vtype.vectorized) == (True, True, False)
