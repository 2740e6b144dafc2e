"""``phone``: E.164 via phonenumbers; known answers, reasons, round trips."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.errors import MappingError
from tessera.types import Cleaned, CleanOptions, get_type
from tessera.types.phone import NO_REGION

PHONE = get_type("phone")
DE = CleanOptions(phone_region="DE")
US = CleanOptions(phone_region="us")


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [
        ("+49 30 1234567", CleanOptions(), "+49301234567"),
        ("0049 30 1234567", CleanOptions(), "+49301234567"),
        ("+49 (0)30 123-45-67", CleanOptions(), "+49301234567"),
        ("030/1234567", DE, "+49301234567"),
        ("(030) 1234567", DE, "+49301234567"),
        ("0049.30.1234567", US, "+49301234567"),  # 00 works whatever the region
        ("(650) 253-0000", US, "+16502530000"),
        ("650.253.0000", US, "+16502530000"),
        ("tel:+1-650-253-0000", CleanOptions(), "+16502530000"),
        ("+44 20 7946 0958", DE, "+442079460958"),
        (301234567, DE, "+49301234567"),  # a number column lost the trunk 0
    ],
)
def test_known_answers(raw: object, options: CleanOptions, expected: str) -> None:
    assert PHONE.clean(raw, options) == Cleaned(expected)


@pytest.mark.parametrize(
    ("raw", "options", "reason"),
    [
        ("030 1234567", CleanOptions(), NO_REGION),
        ("12345", DE, "not a valid phone number (region DE)"),
        ("+49 123", CleanOptions(), "not a valid phone number (region DE)"),
        ("+1 555 0100", CleanOptions(), "not a valid phone number (region US)"),
        ("+999 1234567", CleanOptions(), "unknown country calling code"),
        ("1-800-FLOWERS", US, "not a phone number"),
        ("call me", DE, "not a phone number"),
        ("+", DE, "not a phone number"),
        ("()--", DE, "not a phone number"),
    ],
)
def test_errors(raw: str, options: CleanOptions, reason: str) -> None:
    assert PHONE.clean(raw, options) == Cleaned(None, reason)


@pytest.mark.parametrize("raw", [None, "", "   ", "tel:"])
def test_missing(raw: object) -> None:
    assert PHONE.clean(raw, DE) == Cleaned(None)


def test_unknown_region_raises() -> None:
    with pytest.raises(MappingError, match="phone_region"):
        PHONE.clean("030 1234567", CleanOptions(phone_region="XX"))


REGIONS = sorted(
    r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r) is not None
)


def variants(number: phonenumbers.PhoneNumber) -> list[str]:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return [
        e164,
        international,
        "00" + e164[1:],
        international.replace(" ", "-"),
        international.replace(" ", "."),
        " " + international.replace(" ", "  ") + " ",
    ]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(REGIONS), st.data())
def test_example_numbers_round_trip(region: str, data: st.DataObject) -> None:
    number = phonenumbers.example_number(region)
    assert number is not None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raw = data.draw(st.sampled_from(variants(number)))
    without_region = PHONE.clean(raw)
    assert without_region == Cleaned(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert PHONE.clean(national, CleanOptions(phone_region=region)) == Cleaned(e164)
    # idempotent and valid
    assert PHONE.clean(e164) == Cleaned(e164)
    assert PHONE.validate(e164)


@settings(max_examples=100, deadline=None)
@given(st.text("0123456789 +-()./", max_size=18), st.sampled_from(["DE", "US", "CN", "RU"]))
def test_idempotent_on_arbitrary_input(raw: str, region: str) -> None:
    cleaned = PHONE.clean(raw, CleanOptions(phone_region=region))
    if cleaned.value is not None:
        assert PHONE.clean(cleaned.value) == cleaned
        assert PHONE.validate(cleaned.value)
    else:
        assert cleaned.error is not None or not raw.strip()


def test_validate() -> None:
    assert PHONE.validate("+16502530000")
    assert not PHONE.validate("+1 650 253 0000")
    assert not PHONE.validate("16502530000")
    assert not PHONE.validate(16502530000)


def _example_numbers() -> list[str]:
    from phonenumbers.phonemetadata import PhoneMetadata

    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        md = PhoneMetadata.metadata_for_region(region)
        for name in ("fixed_line", "mobile", "toll_free", "premium_rate", "voip", "uan"):
            desc = getattr(md, name)
            if desc is not None and desc.example_number:
                out.append(f"+{md.country_code}{desc.example_number}")
    return out


EXAMPLES = _example_numbers()


def test_fast_path_agrees_with_the_parser_on_every_region_example() -> None:
    from tessera.types.phone import PhoneType, fast_e164

    decided = 0
    for text in EXAMPLES:
        fast = fast_e164(text)
        if fast is not None:
            decided += 1
            assert PhoneType._parse(text, None) == Cleaned(fast), text
    # The fast path must actually carry the load, not decline everything.
    assert decided > 0.8 * len(EXAMPLES), (decided, len(EXAMPLES))


@settings(max_examples=3000, deadline=None)
@given(
    base=st.sampled_from(EXAMPLES),
    cut=st.integers(-3, 0),
    extra=st.text("0123456789", max_size=3),
    swap=st.tuples(st.integers(1, 15), st.sampled_from("0123456789")),
)
def test_fast_path_never_accepts_what_the_parser_rejects(
    base: str, cut: int, extra: str, swap: tuple[int, str]
) -> None:
    from tessera.types.phone import PhoneType, fast_e164

    text = base[: len(base) + cut] if cut else base
    text += extra
    pos, digit = swap
    if pos < len(text):
        text = text[:pos] + digit + text[pos + 1 :]
    fast = fast_e164(text)
    if fast is not None:
        assert PhoneType._parse(text, None) == Cleaned(fast), text


def test_numbers_beyond_fifteen_digits_are_rejected() -> None:
    # phonenumbers calls this German number valid, but E.164 stops at 15 digits.
    cleaned = PHONE.clean("20100000000000", DE)
    assert cleaned.value is None
    assert cleaned.error is not None
    assert "15 digits" in cleaned.error
