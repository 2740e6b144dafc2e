"""Free text and record identifiers.

``text`` is the catch-all: Unicode NFC, whitespace collapsed, trimmed.

``identifier`` is a source's own record id or a document number (passport,
national id, registration number). It is compared exactly, so cleaning folds
the usual input noise: compatibility forms (NFKC; e.g. full-width letters and digits),
case, and all whitespace and invisible format characters.

To keep the SQL path fast *and* identical to the Python path, identifiers
accept the characters whose NFKC form and upper case DuckDB computes exactly
as Python does (:func:`identifier_repertoire`): every assigned character except
controls, private use, compatibility characters other than full-width ASCII
and spaces, and the ~100 characters whose upper case is more than one
character (ligatures, some Greek; ``ß`` is folded to ``SS`` first). Anything
else makes the value invalid with a reason naming the character, instead of
silently differing between the two paths.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Any, ClassVar

from tessera.types._common import (
    WHITESPACE,
    char_class,
    code_point_ranges,
    normalize_text,
    python_text_input,
    sql_normalize_text,
    sql_str,
    sql_text_input,
)
from tessera.types.base import Cleaned, CleanOptions, SqlClean, ValueType

_DEFAULT_OPTIONS = CleanOptions()


class TextType(ValueType):
    """Free text: NFC, whitespace runs collapsed to one space, trimmed."""

    name: ClassVar[str] = "text"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "free text: Unicode NFC, whitespace collapsed, trimmed"
    vectorized: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        text = python_text_input(raw)
        if text is None:
            return Cleaned(None)
        cleaned = normalize_text(text)
        return Cleaned(cleaned or None)

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = _DEFAULT_OPTIONS
    ) -> SqlClean:
        value = sql_normalize_text(sql_text_input(column, arrow_type))
        return SqlClean(value=value, invalid="FALSE", reason="CAST(NULL AS VARCHAR)")


# Invisible characters dropped from identifiers along with whitespace: NUL,
# soft hyphen, zero-width space/joiners, LRM/RLM, bidi embeddings, word
# joiner and invisible operators, byte-order mark.
_IGNORABLE = (
    "\x00\u00ad"
    + "".join(chr(c) for c in range(0x200B, 0x2010))
    + "".join(chr(c) for c in range(0x202A, 0x202F))
    + "".join(chr(c) for c in range(0x2060, 0x2065))
    + "\ufeff"
)
_DROP_RANGES = code_point_ranges(ord(c) for c in WHITESPACE + _IGNORABLE)
_DROP_PY, _DROP_RE2 = char_class(_DROP_RANGES)
_DROP_RE = re.compile(_DROP_PY)

# Full-width ASCII variants U+FF01..U+FF5E fold to U+0021..U+007E (their NFKC).
_FULLWIDTH_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
_FULLWIDTH_TO = "".join(chr(c) for c in range(0x21, 0x7F))
_FULLWIDTH_TABLE = str.maketrans(_FULLWIDTH_FROM, _FULLWIDTH_TO)


def _is_compat(char: str) -> bool:
    if not unicodedata.decomposition(char):  # no mapping at all: NFKD == NFD == char
        return False
    return unicodedata.normalize("NFKD", char) != unicodedata.normalize("NFD", char)


_STORED_REPERTOIRE = "_repertoire.json"


@functools.lru_cache(maxsize=1)
def identifier_repertoire() -> tuple[tuple[int, int], ...]:
    """Code point ranges an identifier may contain after folding (see
    :func:`compute_identifier_repertoire`).

    Computing them scans every code point (about half a second), so the ranges for
    known Unicode versions are stored in ``_repertoire.json`` (written by
    ``python -m tessera.types.text``; a test checks they equal the computation).
    """
    import json
    from importlib import resources

    try:
        stored = json.loads(resources.files(__package__).joinpath(_STORED_REPERTOIRE).read_text())
    except FileNotFoundError:
        stored = {}
    ranges = stored.get(unicodedata.unidata_version)
    if ranges is None:
        return compute_identifier_repertoire()
    return tuple((int(a), int(b)) for a, b in ranges)


def compute_identifier_repertoire() -> tuple[tuple[int, int], ...]:
    """Code point ranges an identifier may contain after folding.

    A character qualifies when it is assigned, not a control/private-use/
    surrogate/whitespace character, has no compatibility decomposition, and
    its upper case is a single character without one either. For such
    strings NFKC equals NFC and DuckDB's ``upper``/``nfc_normalize`` equal
    Python's, which tests verify for every code point.
    """
    excluded_categories = {"Cc", "Cs", "Cn", "Co", "Zl", "Zp"}
    allowed: list[int] = []
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        if unicodedata.category(char) in excluded_categories or char.isspace():
            continue
        if _is_compat(char):
            continue
        upper = char.upper()
        if len(upper) != 1 or (upper != char and _is_compat(upper)):
            continue
        allowed.append(cp)
    return tuple(code_point_ranges(allowed))


@functools.lru_cache(maxsize=1)
def _repertoire_regexes() -> tuple[re.Pattern[str], str]:
    py, re2 = char_class(identifier_repertoire(), negate=True)
    return re.compile(py), re2


def _unsupported_reason(char: str) -> str:
    return f"identifier contains unsupported character U+{ord(char):04X}"


class IdentifierType(ValueType):
    """A record id or document number: NFKC, upper case, no whitespace."""

    name: ClassVar[str] = "identifier"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = (
        "record id or document number (passport, national id, registration): "
        "NFKC, upper case, whitespace removed"
    )
    matchable: ClassVar[bool] = True
    pivot: ClassVar[bool] = True
    vectorized: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e18:
            raw = int(raw)
        text = python_text_input(raw)
        if text is None:
            return Cleaned(None)
        text = _DROP_RE.sub("", text).translate(_FULLWIDTH_TABLE).replace("\u00df", "ss")
        folded = unicodedata.normalize("NFC", text)
        if not folded:
            return Cleaned(None)
        bad = _repertoire_regexes()[0].search(folded)
        if bad is not None:
            return Cleaned(None, _unsupported_reason(bad.group()))
        return Cleaned(unicodedata.normalize("NFC", folded.upper()))

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = _DEFAULT_OPTIONS
    ) -> SqlClean:
        source = sql_text_input(column, arrow_type, integral_floats=True)
        _, bad_re2 = _repertoire_regexes()
        dropped = f"regexp_replace({source}, '{_DROP_RE2}', '', 'g')"
        # translate() is slow, so only rows that contain full-width forms use it.
        widened = (
            f"CASE WHEN regexp_matches({dropped}, '[\\x{{FF01}}-\\x{{FF5E}}]') "
            f"THEN translate({dropped}, {sql_str(_FULLWIDTH_FROM)}, {sql_str(_FULLWIDTH_TO)}) "
            f"ELSE {dropped} END"
        )
        folded = f"nullif(nfc_normalize(replace({widened}, 'ß', 'ss')), '')"
        # Printable ASCII needs no repertoire check (cheap fast path).
        has_bad = (
            f"(NOT regexp_full_match({folded}, '[\\x{{21}}-\\x{{7E}}]*') "
            f"AND regexp_matches({folded}, '{bad_re2}'))"
        )
        value = f"CASE WHEN {has_bad} THEN NULL ELSE nfc_normalize(upper({folded})) END"
        invalid = f"coalesce({has_bad}, FALSE)"
        reason = (
            "'identifier contains unsupported character U+' || "
            f"printf('%04X', unicode(regexp_extract({folded}, '{bad_re2}')))"
        )
        return SqlClean(value=value, invalid=invalid, reason=reason)


def _write_stored_repertoire() -> None:
    """Add this Python's Unicode version to ``_repertoire.json``."""
    import json
    from pathlib import Path

    path = Path(__file__).with_name(_STORED_REPERTOIRE)
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[unicodedata.unidata_version] = [list(r) for r in compute_identifier_repertoire()]
    path.write_text(json.dumps(stored, sort_keys=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    _write_stored_repertoire()
