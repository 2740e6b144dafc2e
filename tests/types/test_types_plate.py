"""``plate``: cleaning, the OCR-confusion key and the confusion-aware compare."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.types import Cleaned, get_type
from tessera.types.plate import EMPTY, TOO_LONG, confusion_distance, plate_key

PLATE = get_type("plate")
PLATE_TEXT = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)
CONFUSABLE = {
    "O": "0DQ",
    "D": "0OQ",
    "Q": "0OD",
    "0": "ODQ",
    "I": "1L",
    "L": "1I",
    "1": "IL",
    "B": "8",
    "8": "B",
    "S": "5",
    "5": "S",
    "Z": "2",
    "2": "Z",
    "G": "6",
    "6": "G",
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("B-AB 1234", "BAB1234"),
        ("m.ab·123", "MAB123"),
        ("\uff42・\uff41\uff42\uff11\uff12", "BAB12"),  # full-width and katakana middle dot
        ("\u043c 123 \u0430\u0432 77", "\u041c123\u0410\u041277"),  # Cyrillic letters stay Cyrillic
        ("京A·12345", "京A12345"),
        ("ab/12_c", "AB12C"),
    ],
)
def test_known_answers(raw: str, expected: str) -> None:
    assert PLATE.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize(
    ("raw", "reason"), [("---", EMPTY), ("· ·", EMPTY), ("ABCDEFGHIJKLM", TOO_LONG)]
)
def test_errors(raw: str, reason: str) -> None:
    assert PLATE.clean(raw) == Cleaned(None, reason)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing(raw: object) -> None:
    assert PLATE.clean(raw) == Cleaned(None)


@pytest.mark.parametrize(
    ("plate", "key"),
    [
        ("B0S1234", "8051234"),
        ("8OS1234", "8051234"),
        ("DQOILZGS", "00011265"),
        ("\u0410\u0412123", "A8123"),  # Cyrillic A, VE
    ],
)
def test_key(plate: str, key: str) -> None:
    assert plate_key(plate) == key
    assert PLATE.derive(plate) == {"key": key}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=16))
def test_idempotent_and_valid(raw: str) -> None:
    cleaned = PLATE.clean(raw)
    if cleaned.value is not None:
        assert PLATE.clean(cleaned.value) == cleaned
        assert PLATE.validate(cleaned.value)
        assert 1 <= len(cleaned.value) <= 12
        assert cleaned.value.isalnum()


@settings(deadline=None)
@given(PLATE_TEXT, st.data())
def test_key_is_invariant_under_confusions(plate: str, data: st.DataObject) -> None:
    swapped = "".join(data.draw(st.sampled_from(c + CONFUSABLE.get(c, ""))) for c in plate)
    assert plate_key(swapped) == plate_key(plate)
    score = PLATE.compare(plate, swapped)
    differing = sum(a != b for a, b in zip(plate, swapped, strict=True))
    assert score == pytest.approx(max(0.0, 1 - 0.2 * differing / len(plate)))


@settings(deadline=None)
@given(PLATE_TEXT, PLATE_TEXT)
def test_compare_properties(left: str, right: str) -> None:
    score = PLATE.compare(left, right)
    assert 0.0 <= score <= 1.0
    assert score == PLATE.compare(right, left)
    assert (score == 1.0) == (left == right)
    assert confusion_distance(left, right) <= max(len(left), len(right))


def test_compare_known_answers() -> None:
    assert PLATE.compare("AB1234", "AB1234") == 1.0
    assert PLATE.compare("AB1234", "A81234") == pytest.approx(1 - 0.2 / 6)
    assert PLATE.compare("AB1234", "AB1235") == pytest.approx(1 - 1 / 6)
    assert PLATE.compare("AB1234", "AB123") == pytest.approx(1 - 1 / 6)
    assert PLATE.compare("AB1234", "XY9876") == 0.0
    assert PLATE.compare("AB1234", None) == 0.0
