"""Helpers shared by the value-type implementations.

Most vectorized types clean a value twice: once in Python (``clean``) and once
as DuckDB SQL (``sql_clean``). Both paths must agree exactly, so every
character class and every regular expression used by both is built here from
one definition:

* regular expressions are written in the common subset of Python's ``re`` and
  RE2 (DuckDB's regex engine): ``[0-9]`` instead of ``\\d`` (Python's ``\\d``
  matches every Unicode digit), ``fullmatch`` / ``regexp_full_match`` instead
  of ``$`` (Python's ``$`` also matches before a final newline);
* "whitespace" means exactly the characters for which ``str.isspace()`` is
  true (RE2's ``\\s`` is ASCII-only, so it is spelled out).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from tessera.errors import MappingError

# Every code point for which str.isspace() is true (stable across Unicode
# versions; tests check it against the running interpreter).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def code_point_ranges(code_points: Iterable[int]) -> list[tuple[int, int]]:
    """Collapse sorted code points into inclusive ``(first, last)`` ranges."""
    ranges: list[tuple[int, int]] = []
    for cp in sorted(set(code_points)):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def _py_escape(cp: int) -> str:
    return f"\\U{cp:08X}"


def _re2_escape(cp: int) -> str:
    return f"\\x{{{cp:X}}}"


def char_class(ranges: Sequence[tuple[int, int]], *, negate: bool = False) -> tuple[str, str]:
    """A bracketed character class as ``(python_regex, re2_regex)``."""
    parts_py: list[str] = []
    parts_re2: list[str] = []
    for first, last in ranges:
        if first == last:
            parts_py.append(_py_escape(first))
            parts_re2.append(_re2_escape(first))
        else:
            parts_py.append(f"{_py_escape(first)}-{_py_escape(last)}")
            parts_re2.append(f"{_re2_escape(first)}-{_re2_escape(last)}")
    caret = "^" if negate else ""
    return f"[{caret}{''.join(parts_py)}]", f"[{caret}{''.join(parts_re2)}]"


WS_CLASS_PY, WS_CLASS_RE2 = char_class(code_point_ranges(ord(c) for c in WHITESPACE))
_WS_RUN = re.compile(WS_CLASS_PY + "+")


def sql_str(text: str) -> str:
    """A DuckDB string literal (standard SQL quoting; backslashes are literal)."""
    if "\x00" in text:
        raise MappingError("text containing NUL characters cannot be used in SQL")
    return "'" + text.replace("'", "''") + "'"


def strip_ws(text: str) -> str:
    """Remove leading and trailing whitespace (the same set as ``str.strip()``)."""
    return text.strip(WHITESPACE)


def normalize_text(text: str) -> str:
    """NUL characters dropped, NFC, whitespace runs collapsed to one space, trimmed.

    (DuckDB's ``nfc_normalize`` stops at a NUL character, so NULs, which are
    junk in any text, are removed first in both paths.)
    """
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    return _WS_RUN.sub(" ", text).strip(" ")


def sql_normalize_text(expr: str) -> str:
    """SQL twin of :func:`normalize_text`; blank results become NULL."""
    nfc = f"nfc_normalize(replace({expr}, chr(0), ''))"
    collapsed = f"regexp_replace({nfc}, '{WS_CLASS_RE2}+', ' ', 'g')"
    return f"nullif(trim({collapsed}), '')"


def sql_strip(expr: str) -> str:
    """SQL twin of :func:`strip_ws`; blank results become NULL."""
    ws = WS_CLASS_RE2
    return f"nullif(regexp_replace({expr}, '^{ws}+|{ws}+$', '', 'g'), '')"


def sql_lower(text: str) -> str:
    """Python twin of DuckDB's ``lower()``: per-character simple lowercase.

    Python's ``str.lower`` applies full case mapping, which differs from
    DuckDB's simple mapping only for U+0130 (``"İ"``).
    """
    return "".join("i" if c == "\u0130" else c.lower() for c in text)


ArrowKind = Literal[
    "string", "integer", "float", "decimal", "bool", "timestamp", "timestamp_tz", "date", "null"
]

_INTEGER_TYPES = frozenset(
    ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
)
_FLOAT_TYPES = frozenset(("halffloat", "float", "double", "float16", "float32", "float64"))
_STRING_TYPES = frozenset(("string", "large_string", "string_view", "utf8", "large_utf8"))


def arrow_kind(arrow_type: str) -> ArrowKind:
    """Classify ``str(pyarrow.DataType)`` for SQL generation."""
    text = arrow_type.strip()
    if text.startswith("dictionary<values="):
        text = text[len("dictionary<values=") :].split(",", 1)[0]
    kind: ArrowKind | None = None
    if text in _STRING_TYPES:
        kind = "string"
    elif text in _INTEGER_TYPES:
        kind = "integer"
    elif text in _FLOAT_TYPES:
        kind = "float"
    elif text.startswith(("decimal", "decimal128", "decimal256")):
        kind = "decimal"
    elif text in ("bool", "boolean"):
        kind = "bool"
    elif text.startswith("timestamp["):
        kind = "timestamp_tz" if "tz=" in text else "timestamp"
    elif text.startswith(("date32", "date64")):
        kind = "date"
    elif text == "null":
        kind = "null"
    if kind is None:
        raise MappingError(f"unsupported Arrow type {arrow_type!r}")
    return kind


def sql_text_input(column: str, arrow_type: str, *, integral_floats: bool = False) -> str:
    """``column`` as a VARCHAR expression spelled like :func:`python_text_input`.

    NaN is missing and booleans are ``True``/``False`` as in Python; with
    ``integral_floats``, whole floats lose their ``.0`` (``12345.0`` ->
    ``"12345"``, for ids that went through a float column).
    """
    kind = arrow_kind(arrow_type)
    if kind == "string":
        return column if not arrow_type.startswith("dictionary") else f"CAST({column} AS VARCHAR)"
    if kind == "bool":
        return f"CASE WHEN {column} THEN 'True' WHEN NOT {column} THEN 'False' END"
    if kind == "float":
        whole = (
            f"WHEN {column} = trunc({column}) AND abs({column}) < 1e18 "
            f"THEN CAST(CAST({column} AS BIGINT) AS VARCHAR) "
            if integral_floats
            else ""
        )
        return (
            f"CASE WHEN isnan({column}) THEN NULL {whole}"
            f"ELSE CAST(CAST({column} AS DOUBLE) AS VARCHAR) END"
        )
    return f"CAST({column} AS VARCHAR)"


def python_text_input(raw: Any) -> str | None:
    """A raw Python value as text, or None when missing (None or NaN)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, float) and math.isnan(raw):
        return None
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    return str(raw)


def truncate_list(items: Sequence[str], limit: int = 10) -> str:
    """``"a, b, c"``, or ``"a, b, ... (12 more)"`` when longer than ``limit``."""
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items) - limit} more)"


def format_number(value: float) -> str:
    """A bound or value for a message: ``90`` for 90.0, ``90.5`` otherwise."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)
