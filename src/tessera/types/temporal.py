"""Points in time (``timestamp``, stored as UTC TIMESTAMPTZ) and calendar dates.

Parsing is driven by ``options.formats``: strptime patterns tried in order,
or ``"epoch_s"`` / ``"epoch_ms"`` for Unix epochs; no formats means ISO 8601
(``2024-03-01``, ``2024-03-01T10:00``, ``2024-03-01 10:00:00.5+02:00``,
``...Z``). A value with an explicit offset keeps it; a value without one is
read in ``options.timezone`` (IANA name) and is invalid when none is set.

Python's ``strptime`` and DuckDB's ``strptime`` disagree on many details
(field widths, locale, whitespace), so each format is first compiled to a
strict regular expression shared by both paths: Python builds the value from
the matched fields, SQL only hands matching strings to ``try_strptime``.
Supported directives: ``%Y %y %m %d %H %I %p %M %S %f %z %b %B %a %A %%``.
Numeric fields take one or two digits (``%Y`` four, ``%f`` one to six) and
exactly two when they touch another numeric field (``%Y%m%d``).

Local times that do not exist (skipped by a daylight-saving change) are read
with the offset before the change; ambiguous ones (repeated) as the later
occurrence. That is ICU's rule, which DuckDB's ``timezone()`` uses.

The SQL must run with ``SET TimeZone='UTC'`` (casts of TIMESTAMPTZ to DATE
use the session zone).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from tessera.errors import MappingError
from tessera.types._common import arrow_kind, python_text_input, sql_str, sql_strip, strip_ws
from tessera.types.base import Cleaned, CleanOptions, SqlClean, ValueType

_DEFAULT_OPTIONS = CleanOptions()
UTC = dt.UTC

NO_TIMEZONE = "timestamp has no time zone and the mapping sets no timezone"
IMPOSSIBLE_TIME = "impossible date or time"
TIMESTAMP_RANGE = "timestamp out of range"
IMPOSSIBLE_DATE = "impossible date"
DATE_RANGE = "date out of range"
NOT_FINITE = "epoch value is not finite"
NO_EPOCH_FORMAT = "a number needs the format epoch_s or epoch_ms"

_SQL_MIN_TS = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
_SQL_MAX_TS = "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"
_SQL_MIN_DATE = "DATE '0001-01-01'"
_SQL_MAX_DATE = "DATE '9999-12-31'"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_MIN_MICROS = -62135596800 * 10**6  # 0001-01-01T00:00:00Z
_MAX_MICROS = 253402300800 * 10**6 - 1  # 9999-12-31T23:59:59.999999Z
_EPOCH_FACTORS = {"epoch_s": 10**6, "epoch_ms": 10**3}

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMERIC_WIDTH = {"Y": (4, 4), "y": (2, 2), "f": (1, 6)}  # others: (1, 2)
_NAMED = {
    "b": "(?i:" + "|".join(m[:3] for m in _MONTHS) + ")",
    "B": "(?i:" + "|".join(_MONTHS) + ")",
    "a": "(?i:" + "|".join(d[:3] for d in _WEEKDAYS) + ")",
    "A": "(?i:" + "|".join(_WEEKDAYS) + ")",
    "p": "(?i:am|pm)",
    "z": "[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9]",
}
_NUMERIC = frozenset("YymdHIMSf")
SUPPORTED_DIRECTIVES = "%Y %y %m %d %H %I %p %M %S %f %z %b %B %a %A %%"

_TWO = "[0-9]{2}"
_HOUR = "(?:[01][0-9]|2[0-3])"
_SIXTY = "[0-5][0-9]"
_ISO_BODY = (
    f"(?P<Y>[0-9]{{4}})-(?P<m>{_TWO})-(?P<d>{_TWO})"
    f"(?:[T ](?P<H>{_HOUR}):(?P<M>{_SIXTY})(?::(?P<S>{_SIXTY})(?:\\.(?P<f>[0-9]{{1,9}}))?)?"
)
_ISO_OFFSET = f"(?P<z>Z|[+-]{_HOUR}(?::?{_SIXTY})?)"
_ISO_NAIVE_RE = _ISO_BODY + ")?"
_ISO_OFFSET_RE = _ISO_BODY + _ISO_OFFSET + ")"
_EPOCH_RE = "[+-]?[0-9]+(?:\\.[0-9]+)?"

PatternKind = Literal["strptime", "iso_naive", "iso_offset", "epoch_s", "epoch_ms"]


@dataclass(frozen=True)
class _Pattern:
    """One accepted input shape, with its twin regular expressions."""

    kind: PatternKind
    source: str  # the format as written in the mapping (or "ISO 8601")
    regex: str  # valid both as Python re and RE2
    has_offset: bool  # values carry their own offset (or are absolute epochs)

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)


def _literal(char: str) -> str:
    """A literal character, escaped the same way for Python re and RE2."""
    if char.isalnum() or char == " " or not char.isascii():
        return char
    if char.isprintable():
        return "\\" + char
    return f"\\x{ord(char):02X}"


def _compile_strptime(fmt: str, *, allow_offset: bool) -> _Pattern:
    tokens: list[tuple[str, str]] = []  # ("d", directive) or ("l", literal char)
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            if i + 1 >= len(fmt):
                raise MappingError(f"format {fmt!r} ends with a lone '%'")
            directive = fmt[i + 1]
            if directive == "%":
                tokens.append(("l", "%"))
            elif directive in _NUMERIC or directive in _NAMED:
                tokens.append(("d", directive))
            else:
                raise MappingError(
                    f"format {fmt!r}: directive %{directive} is not supported "
                    f"(supported: {SUPPORTED_DIRECTIVES})"
                )
            i += 2
        else:
            tokens.append(("l", fmt[i]))
            i += 1
    directives = [d for kind, d in tokens if kind == "d"]
    for d in set(directives):
        if directives.count(d) > 1:
            raise MappingError(f"format {fmt!r} uses %{d} twice")
    present = set(directives)
    if not present & {"Y", "y"} or not present & {"m", "b", "B"} or "d" not in present:
        raise MappingError(f"format {fmt!r} needs a year, a month and a day")
    if len(present & {"Y", "y"}) > 1 or len(present & {"m", "b", "B"}) > 1:
        raise MappingError(f"format {fmt!r} gives the year or the month twice")
    if len(present & {"a", "A"}) > 1 or ("H" in present and present & {"I", "p"}):
        raise MappingError(f"format {fmt!r} mixes conflicting directives")
    if ("I" in present) != ("p" in present):
        raise MappingError(f"format {fmt!r}: %I and %p must be used together")
    if "z" in present and not allow_offset:
        raise MappingError(f"format {fmt!r}: %z is not allowed here")
    if "f" in present and "S" not in present:
        raise MappingError(f"format {fmt!r}: %f needs %S")
    parts: list[str] = []
    for index, (kind, value) in enumerate(tokens):
        if kind == "l":
            parts.append(_literal(value))
            continue
        if value in _NAMED:
            parts.append(f"(?P<{value}>{_NAMED[value]})")
            continue
        low, high = _NUMERIC_WIDTH.get(value, (1, 2))
        neighbours = [tokens[j] for j in (index - 1, index + 1) if 0 <= j < len(tokens)]
        if any(k == "d" and v in _NUMERIC for k, v in neighbours) and value != "f":
            low = high
        width = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
        parts.append(f"(?P<{value}>[0-9]{width})")
    return _Pattern("strptime", fmt, "".join(parts), "z" in present)


@functools.lru_cache(maxsize=256)
def _compiled_patterns(formats: tuple[str, ...], *, dates: bool) -> tuple[_Pattern, ...]:
    if not formats:
        if dates:
            return (_compile_strptime("%Y-%m-%d", allow_offset=False),)
        return (
            _Pattern("iso_offset", "ISO 8601", _ISO_OFFSET_RE, True),
            _Pattern("iso_naive", "ISO 8601", _ISO_NAIVE_RE, False),
        )
    patterns: list[_Pattern] = []
    for fmt in formats:
        if fmt in _EPOCH_FACTORS:
            if dates:
                raise MappingError(f"format {fmt} is only for timestamps")
            kind: PatternKind = "epoch_s" if fmt == "epoch_s" else "epoch_ms"
            patterns.append(_Pattern(kind, fmt, _EPOCH_RE, True))
        else:
            patterns.append(_compile_strptime(fmt, allow_offset=not dates))
    return tuple(patterns)


def _patterns(options: CleanOptions, *, dates: bool) -> tuple[_Pattern, ...]:
    formats: object = options.formats
    if isinstance(formats, str):  # a common mistake: formats="%d.%m.%Y"
        raise MappingError("formats must be a list of formats, not a single string")
    if not isinstance(formats, tuple | list) or not all(isinstance(f, str) for f in formats):
        raise MappingError(f"formats must be a list of strings, not {formats!r}")
    return _compiled_patterns(tuple(formats), dates=dates)


def _no_match_reason(what: str, patterns: tuple[_Pattern, ...]) -> str:
    if patterns[0].kind.startswith("iso"):
        return f"not an ISO 8601 {what}"
    if patterns == _compiled_patterns((), dates=True):
        return f"not an ISO 8601 {what} (YYYY-MM-DD)"
    names = list(dict.fromkeys(p.source for p in patterns))
    return f"{what} matches none of the formats " + ", ".join(names)


@functools.lru_cache(maxsize=64)
def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    if name is None:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(
            f"unknown timezone {name!r} (use an IANA name like Europe/Berlin)"
        ) from exc


def zone_info(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``; :class:`MappingError` naming it when there is none."""
    found = _zone(name)
    if found is None:  # pragma: no cover - only for name None, which the type excludes
        raise MappingError("no timezone given")
    return found


def localize(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """Attach ``zone`` to a naive local time, resolving DST gaps and folds like ICU."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    # Repeated wall time: take the later occurrence; skipped: the earlier offset.
    return second if round_trip == naive else first


class _Invalid(Exception):
    """Internal: a matched value cannot be built (carries the reason)."""


def _fields(match: re.Match[str], *, dates: bool) -> tuple[dt.datetime, dt.timedelta | None]:
    """Naive datetime and offset from a pattern match; raises _Invalid."""
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    if "Y" in groups:
        year = int(groups["Y"])
    else:
        short = int(groups["y"])
        year = short + (2000 if short < 69 else 1900)
    if "m" in groups:
        month = int(groups["m"])
    else:
        name = (groups.get("b") or groups["B"]).lower()[:3]
        month = next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(name))
    day = int(groups["d"])
    hour = int(groups.get("H", "0"))
    if "I" in groups:
        twelve = int(groups["I"])
        if not 1 <= twelve <= 12:
            raise _Invalid(IMPOSSIBLE_DATE if dates else IMPOSSIBLE_TIME)
        hour = twelve % 12 + (12 if groups["p"].lower() == "pm" else 0)
    minute = int(groups.get("M", "0"))
    second = int(groups.get("S", "0"))
    micro = int(groups.get("f", "0")[:6].ljust(6, "0"))
    try:
        # Year 0 (1 BC) exists for DuckDB but not for Python: it is "out of
        # range" when the rest is possible; year 2000 has the same calendar.
        naive = dt.datetime(year or 2000, month, day, hour, minute, second, micro)
    except ValueError as exc:
        raise _Invalid(IMPOSSIBLE_DATE if dates else IMPOSSIBLE_TIME) from exc
    if year == 0:
        raise _Invalid(DATE_RANGE if dates else TIMESTAMP_RANGE)
    offset: dt.timedelta | None = None
    text = groups.get("z")
    if text is not None:
        if text == "Z":
            offset = dt.timedelta(0)
        else:
            digits = text[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or "0"))
            if text[0] == "-":
                offset = -offset
    return naive, offset


def _to_utc(aware: dt.datetime) -> dt.datetime:
    try:
        return aware.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise _Invalid(TIMESTAMP_RANGE) from exc


def _from_local(naive: dt.datetime, zone: zoneinfo.ZoneInfo | None) -> dt.datetime:
    if zone is None:
        raise _Invalid(NO_TIMEZONE)
    try:
        return _to_utc(localize(naive, zone))
    except (OverflowError, ValueError) as exc:
        raise _Invalid(TIMESTAMP_RANGE) from exc


def _from_micros(micros: int) -> dt.datetime:
    if not _MIN_MICROS <= micros <= _MAX_MICROS:
        raise _Invalid(TIMESTAMP_RANGE)
    return _EPOCH + dt.timedelta(microseconds=micros)


def _epoch_number(value: float, factor: int, *, nonfinite: str = NOT_FINITE) -> dt.datetime:
    if not math.isfinite(value):
        raise _Invalid(nonfinite)
    micros = value * factor + 0.5
    if not math.isfinite(micros):
        raise _Invalid(TIMESTAMP_RANGE)
    return _from_micros(math.floor(micros))


def _parse_timestamp(
    pattern: _Pattern, match: re.Match[str], zone: zoneinfo.ZoneInfo | None
) -> dt.datetime:
    if pattern.kind in ("epoch_s", "epoch_ms"):
        factor = _EPOCH_FACTORS[pattern.kind]
        # A digit string too long for a double is "out of range", as in SQL.
        return _epoch_number(float(match.group()), factor, nonfinite=TIMESTAMP_RANGE)
    if not pattern.has_offset and zone is None:
        raise _Invalid(NO_TIMEZONE)
    naive, offset = _fields(match, dates=False)
    if offset is None:
        return _from_local(naive, zone)
    return _to_utc(naive.replace(tzinfo=dt.timezone(offset)))


_UTC_KEYS = frozenset(("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "Universal"))


def _is_utc(tz: dt.tzinfo | None) -> bool:
    """True for ``datetime.UTC`` and zoneinfo's UTC (which DuckDB/pyarrow return)."""
    if tz is UTC:
        return True
    return isinstance(tz, zoneinfo.ZoneInfo) and tz.key in _UTC_KEYS


def _first_epoch(patterns: tuple[_Pattern, ...]) -> _Pattern | None:
    return next((p for p in patterns if p.kind in ("epoch_s", "epoch_ms")), None)


class TimestampType(ValueType):
    """A point in time, canonically a timezone-aware UTC ``datetime``."""

    name: ClassVar[str] = "timestamp"
    sql_type: ClassVar[str] = "TIMESTAMPTZ"
    description: ClassVar[str] = (
        "point in time in UTC; formats (strptime, epoch_s, epoch_ms; default ISO 8601) "
        "and a timezone for values without an offset"
    )
    vectorized: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        patterns = _patterns(options, dates=False)
        zone = _zone(options.timezone)
        try:
            return Cleaned(self._clean(raw, patterns, zone))
        except _Invalid as exc:
            return Cleaned(None, str(exc))

    def _clean(
        self, raw: Any, patterns: tuple[_Pattern, ...], zone: zoneinfo.ZoneInfo | None
    ) -> dt.datetime | None:
        if raw is None:
            return None
        if isinstance(raw, dt.datetime):
            if raw.tzinfo is not None and raw.utcoffset() is not None:
                return _to_utc(raw)
            return _from_local(raw, zone)
        if isinstance(raw, dt.date):
            return _from_local(dt.datetime(raw.year, raw.month, raw.day), zone)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            epoch = _first_epoch(patterns)
            if epoch is None:
                raise _Invalid(NO_EPOCH_FORMAT)
            factor = _EPOCH_FACTORS[epoch.kind]
            if isinstance(raw, int):
                return _from_micros(raw * factor)
            return _epoch_number(raw, factor)
        text = python_text_input(raw)
        text = strip_ws(text) if text is not None else None
        if not text:
            return None
        failure: _Invalid | None = None
        for pattern in patterns:
            match = pattern.compiled.fullmatch(text)
            if match is None:
                continue
            try:
                return _parse_timestamp(pattern, match, zone)
            except _Invalid as exc:
                failure = failure or exc
        raise failure or _Invalid(_no_match_reason("timestamp", patterns))

    def validate(self, value: Any) -> bool:
        return isinstance(value, dt.datetime) and _is_utc(value.tzinfo)

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = _DEFAULT_OPTIONS
    ) -> SqlClean:
        patterns = _patterns(options, dates=False)
        zone = options.timezone
        _zone(zone)  # validates the name
        kind = arrow_kind(arrow_type)
        in_range = f"BETWEEN {_SQL_MIN_TS} AND {_SQL_MAX_TS}"

        def local(expr: str) -> str | None:
            return None if zone is None else f"timezone({sql_str(zone)}, {expr})"

        if kind == "null":
            return SqlClean("CAST(NULL AS TIMESTAMPTZ)", "FALSE", "CAST(NULL AS VARCHAR)")
        if kind == "string":
            return _sql_patterns(sql_strip(column), patterns, local, in_range)
        present = f"({column} IS NOT NULL)"
        reason = f"'{TIMESTAMP_RANGE}'"
        if kind == "timestamp_tz":
            aware: str | None = f"CAST({column} AS TIMESTAMPTZ)"
        elif kind in ("timestamp", "date"):
            aware = local(f"CAST({column} AS TIMESTAMP)")
            reason = f"'{NO_TIMEZONE}'" if aware is None else reason
        elif kind in ("integer", "float", "decimal"):
            epoch = _first_epoch(patterns)
            if epoch is None:
                raise MappingError(
                    f"a numeric column ({arrow_type}) as timestamp needs the format "
                    "epoch_s or epoch_ms"
                )
            factor = _EPOCH_FACTORS[epoch.kind]
            if kind == "integer":
                low, high = -((-_MIN_MICROS) // factor), _MAX_MICROS // factor
                aware = (
                    f"CASE WHEN {column} BETWEEN {low} AND {high} THEN timezone('UTC', "
                    f"make_timestamp(CAST({column} AS BIGINT) * {factor})) END"
                )
            else:
                aware = _sql_epoch(f"CAST({column} AS DOUBLE)", factor)
                reason = (
                    f"CASE WHEN isfinite(CAST({column} AS DOUBLE)) THEN '{TIMESTAMP_RANGE}' "
                    f"ELSE '{NOT_FINITE}' END"
                )
        else:
            raise MappingError(f"cannot clean a column of Arrow type {arrow_type} as timestamp")
        if aware is None:
            return SqlClean("CAST(NULL AS TIMESTAMPTZ)", present, reason)
        value = f"CASE WHEN {aware} {in_range} THEN {aware} END"
        return SqlClean(value, f"({present} AND ({value}) IS NULL)", reason)


def _sql_epoch(number: str, factor: int) -> str:
    micros = f"floor({number} * {factor}.0 + 0.5)"
    return (
        f"CASE WHEN {micros} BETWEEN {_MIN_MICROS}.0 AND {_MAX_MICROS + 1}.0 "
        f"THEN timezone('UTC', make_timestamp(CAST({micros} AS BIGINT))) END"
    )


def _sql_patterns(
    text: str,
    patterns: tuple[_Pattern, ...],
    local: Callable[[str], str | None],
    in_range: str,
) -> SqlClean:
    """Coalesce of the patterns' results; the reason of the first matching one."""
    values: list[str] = []
    reasons: list[str] = []
    for pattern in patterns:
        gate = f"regexp_full_match({text}, {sql_str(pattern.regex)})"
        aware: str | None
        if pattern.kind in ("epoch_s", "epoch_ms"):
            aware = _sql_epoch(f"try_cast({text} AS DOUBLE)", _EPOCH_FACTORS[pattern.kind])
            reason = f"'{TIMESTAMP_RANGE}'"
        else:
            if pattern.kind == "strptime":
                parsed = f"try_strptime({text}, {sql_str(pattern.source)})"
            elif pattern.kind == "iso_offset":
                parsed = f"try_cast({text} AS TIMESTAMPTZ)"
            else:
                parsed = f"try_cast({text} AS TIMESTAMP)"
            aware = parsed if pattern.has_offset else local(parsed)
            if aware is None:
                reason = f"'{NO_TIMEZONE}'"
            else:
                reason = (
                    f"CASE WHEN {parsed} IS NULL THEN '{IMPOSSIBLE_TIME}' "
                    f"ELSE '{TIMESTAMP_RANGE}' END"
                )
        if aware is not None:
            values.append(f"CASE WHEN {gate} AND {aware} {in_range} THEN {aware} END")
        reasons.append(f"WHEN {gate} THEN {reason}")
    no_match = sql_str(_no_match_reason("timestamp", patterns))
    value = f"coalesce({', '.join(values)})" if values else "CAST(NULL AS TIMESTAMPTZ)"
    return SqlClean(
        value=value,
        invalid=f"({text} IS NOT NULL AND ({value}) IS NULL)",
        reason=f"CASE {' '.join(reasons)} ELSE {no_match} END",
    )


class DateType(ValueType):
    """A calendar date (birth dates etc.), canonically a ``datetime.date``."""

    name: ClassVar[str] = "date"
    sql_type: ClassVar[str] = "DATE"
    description: ClassVar[str] = "calendar date; formats are strptime patterns (default %Y-%m-%d)"
    vectorized: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        patterns = _patterns(options, dates=True)
        if raw is None:
            return Cleaned(None)
        if isinstance(raw, dt.datetime):
            if raw.tzinfo is not None and raw.utcoffset() is not None:
                try:
                    return Cleaned(raw.astimezone(UTC).date())
                except OverflowError:
                    return Cleaned(None, DATE_RANGE)
            return Cleaned(raw.date())
        if isinstance(raw, dt.date):
            return Cleaned(raw)
        text = python_text_input(raw)
        text = strip_ws(text) if text is not None else None
        if not text:
            return Cleaned(None)
        failure: str | None = None
        for pattern in patterns:
            match = pattern.compiled.fullmatch(text)
            if match is None:
                continue
            try:
                return Cleaned(_fields(match, dates=True)[0].date())
            except _Invalid as exc:
                failure = failure or str(exc)
        return Cleaned(None, failure or _no_match_reason("date", patterns))

    def validate(self, value: Any) -> bool:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = _DEFAULT_OPTIONS
    ) -> SqlClean:
        patterns = _patterns(options, dates=True)
        kind = arrow_kind(arrow_type)
        in_range = f"BETWEEN {_SQL_MIN_DATE} AND {_SQL_MAX_DATE}"
        if kind == "null":
            return SqlClean("CAST(NULL AS DATE)", "FALSE", "CAST(NULL AS VARCHAR)")
        if kind in ("date", "timestamp", "timestamp_tz"):
            day = f"CAST({column} AS DATE)"
            value = f"CASE WHEN {day} {in_range} THEN {day} END"
            return SqlClean(
                value, f"({column} IS NOT NULL AND ({value}) IS NULL)", f"'{DATE_RANGE}'"
            )
        if kind != "string":
            raise MappingError(f"cannot clean a column of Arrow type {arrow_type} as date")
        text = sql_strip(column)
        values: list[str] = []
        reasons: list[str] = []
        for pattern in patterns:
            gate = f"regexp_full_match({text}, {sql_str(pattern.regex)})"
            parsed = f"CAST(try_strptime({text}, {sql_str(pattern.source)}) AS DATE)"
            values.append(f"CASE WHEN {gate} AND {parsed} {in_range} THEN {parsed} END")
            reasons.append(
                f"WHEN {gate} THEN CASE WHEN {parsed} IS NULL THEN '{IMPOSSIBLE_DATE}' "
                f"ELSE '{DATE_RANGE}' END"
            )
        value = f"coalesce({', '.join(values)})"
        no_match = sql_str(_no_match_reason("date", patterns))
        return SqlClean(
            value=value,
            invalid=f"({text} IS NOT NULL AND ({value}) IS NULL)",
            reason=f"CASE {' '.join(reasons)} ELSE {no_match} END",
        )
