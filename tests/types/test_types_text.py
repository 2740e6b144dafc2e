"""``text`` and ``identifier``: known answers and properties of the Python path."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.types import Cleaned, get_type
from tessera.types._common import WHITESPACE
from tessera.types.text import _IGNORABLE, identifier_repertoire

TEXT = get_type("text")
IDENTIFIER = get_type("identifier")
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)


def test_whitespace_constant_is_exactly_str_isspace() -> None:
    spaces = {chr(cp) for cp in range(sys.maxunicode + 1) if chr(cp).isspace()}
    assert set(WHITESPACE) == spaces


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hello   world ", "Hello world"),
        ("a\tb\nc\u00a0d\u3000e", "a b c d e"),
        ("e\u0301", "\u00e9"),  # NFC
        ("Straße", "Straße"),  # case and letters kept
        ("a\x00b", "ab"),  # NUL dropped
        (12, "12"),
    ],
)
def test_text_known_answers(raw: object, expected: str) -> None:
    assert TEXT.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n\u3000", float("nan")])
def test_text_missing(raw: object) -> None:
    assert TEXT.clean(raw) == Cleaned(None)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_text_idempotent_and_valid(raw: str) -> None:
    cleaned = TEXT.clean(raw)
    assert cleaned.error is None
    if cleaned.value is not None:
        assert TEXT.clean(cleaned.value) == cleaned
        assert TEXT.validate(cleaned.value)
        assert "  " not in cleaned.value
        assert cleaned.value == cleaned.value.strip()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab 123 456", "AB123456"),
        ("\uff21\uff22　\uff11\uff12\uff13", "AB123"),  # full-width letters, digits and space
        ("\ufeffx-1/2", "X-1/2"),  # BOM dropped, punctuation kept
        ("zero\u200bwidth", "ZEROWIDTH"),
        ("straße 5", "STRASSE5"),
        ("e\u0301t\u00e9", "\u00c9T\u00c9"),
        ("ж 12", "Ж12"),
        ("京A 1", "京A1"),
        (12345, "12345"),
        (12345.0, "12345"),
    ],
)
def test_identifier_known_answers(raw: object, expected: str) -> None:
    assert IDENTIFIER.clean(raw) == Cleaned(expected)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("\ufb01x", "FB01"), ("½", "00BD"), ("a\u0001", "0001"), ("①", "2460"), ("x\ue000", "E000")],
)
def test_identifier_unsupported_characters(raw: str, code: str) -> None:
    assert IDENTIFIER.clean(raw) == Cleaned(
        None, f"identifier contains unsupported character U+{code}"
    )


@pytest.mark.parametrize("raw", [None, "", "  ", "\u200b\ufeff", "\u3000"])
def test_identifier_missing(raw: object) -> None:
    assert IDENTIFIER.clean(raw) == Cleaned(None)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_identifier_idempotent_and_valid(raw: str) -> None:
    cleaned = IDENTIFIER.clean(raw)
    if cleaned.value is not None:
        value = cleaned.value
        assert IDENTIFIER.clean(value) == cleaned
        assert IDENTIFIER.validate(value)
        assert not any(c.isspace() for c in value)
        assert value == unicodedata.normalize("NFKC", value)


def test_identifier_matches_nfkc_upper_on_its_repertoire() -> None:
    """On accepted characters the cleaning is NFKC + upper case, character by character."""
    for first, last in identifier_repertoire()[:200]:
        for cp in range(first, min(last, first + 50) + 1):
            char = chr(cp)
            if char in _IGNORABLE:
                continue
            cleaned = IDENTIFIER.clean(char)
            expected = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", char).upper())
            assert cleaned == Cleaned(expected), char
            assert IDENTIFIER.clean(cleaned.value) == cleaned


def test_identifier_is_idempotent_for_every_single_character() -> None:
    # (CJK ideographs and Hangul syllables, caseless and without
    # decompositions that matter here, are sampled rather than all visited.)
    for cp in range(sys.maxunicode + 1):
        sampled = 0x3400 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7A3 or cp >= 0x20000
        if sampled and cp % 97:
            continue
        if unicodedata.category(chr(cp)) in ("Cs", "Cn", "Co"):
            continue
        cleaned = IDENTIFIER.clean(chr(cp))
        if cleaned.value is not None:
            assert IDENTIFIER.clean(cleaned.value) == cleaned, hex(cp)


def test_flags() -> None:
    assert (TEXT.vectorized, TEXT.matchable, TEXT.pivot) == (True, False, False)
    assert (IDENTIFIER.vectorized, IDENTIFIER.matchable, IDENTIFIER.pivot) == (True, True, True)


def test_stored_repertoire_equals_the_computation() -> None:
    """The stored ranges (for this Python's Unicode version) are what the scan gives;
    a Unicode version without stored ranges computes them."""
    import json
    import unicodedata
    from pathlib import Path

    import tessera.types.text as text

    stored = json.loads(Path(text.__file__).with_name("_repertoire.json").read_text())
    computed = text.compute_identifier_repertoire()
    assert text.identifier_repertoire() == computed
    if unicodedata.unidata_version in stored:
        assert tuple(tuple(r) for r in stored[unicodedata.unidata_version]) == computed
