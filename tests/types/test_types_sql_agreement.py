"""The SQL path (``sql_clean``) and the Python path (``clean``) of every
vectorized type agree: same value, same invalid flag, same reason.

Each Hypothesis example is a batch of raw values run through one DuckDB query
over a pyarrow table, so the tests stay fast.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import unicodedata
import zoneinfo
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.types import CleanOptions, ValueType, get_type
from tessera.types._common import WHITESPACE
from tessera.types.text import identifier_repertoire

SQL_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
DEFAULT = CleanOptions()
COLUMN = '"src col"'


@functools.cache
def connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    return con


def run_sql(
    vtype: ValueType,
    values: list[Any],
    arrow_type: pa.DataType | None = None,
    options: CleanOptions = DEFAULT,
) -> list[tuple[Any, bool, str | None]]:
    """(value, invalid, reason-or-None) per raw value, computed by DuckDB."""
    arrow_type = pa.string() if arrow_type is None else arrow_type
    table = pa.table(
        {
            "row_id": pa.array(range(len(values)), pa.int64()),
            "src col": pa.array(values, type=arrow_type),
        }
    )
    sql = vtype.sql_clean(COLUMN, str(arrow_type), options)
    con = connection()
    con.register("src_table", table)
    try:
        rows = (
            con.sql(
                f"SELECT {sql.value} AS v, {sql.invalid} AS bad, "
                f"CASE WHEN {sql.invalid} THEN {sql.reason} END AS why "
                "FROM src_table ORDER BY row_id"
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.unregister("src_table")
    return [(row["v"], row["bad"], row["why"]) for row in rows]


def assert_agree(
    type_name: str,
    values: list[Any],
    arrow_type: pa.DataType | None = None,
    options: CleanOptions = DEFAULT,
) -> None:
    vtype = get_type(type_name)
    sql_rows = run_sql(vtype, values, arrow_type, options)
    for raw, (value, bad, why) in zip(values, sql_rows, strict=True):
        cleaned = vtype.clean(raw, options)
        assert bad in (True, False), f"invalid must never be NULL: {raw!r}"
        assert (value, bad, why) == (cleaned.value, cleaned.error is not None, cleaned.error), (
            f"{type_name}: raw {raw!r}: SQL {(value, bad, why)!r} != Python {cleaned!r}"
        )
        if cleaned.value is not None:
            assert type(value) is type(cleaned.value)


# --- strategies --------------------------------------------------------------

# Python 3.11 knows Unicode 14; DuckDB's tables are newer. Characters that are
# unassigned for Python may be assigned (and normalise) in DuckDB, so the
# alphabet is restricted to characters Python knows.
ASSIGNED = st.characters(exclude_categories=("Cs", "Cn", "Co"))
SPACES = st.sampled_from(WHITESPACE + "\u200b\ufeff\u00ad")
COMBINING = st.sampled_from("\u0301\u0308\u0327\u030c\u0345\u0323")
MESSY_TEXT = st.text(
    st.one_of(ASSIGNED, SPACES, COMBINING, st.sampled_from("aeiouAEIOU0123456789-.,")),
    max_size=12,
)
BATCH = {"min_size": 1, "max_size": 40}


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), MESSY_TEXT), **BATCH))
def test_text_agrees(values: list[str | None]) -> None:
    assert_agree("text", values)


FULLWIDTH = st.sampled_from("".join(chr(c) for c in range(0xFF01, 0xFF5F)))
ID_CHARS = st.one_of(
    st.sampled_from("ABCXYZabcxyz0123456789-/"),
    FULLWIDTH,
    SPACES,
    COMBINING,
    st.sampled_from("ßẞéÉжЖçİıﬁ½①㎏¨ǰΐ"),
    ASSIGNED,
)


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), st.text(ID_CHARS, max_size=14)), **BATCH))
def test_identifier_agrees(values: list[str | None]) -> None:
    assert_agree("identifier", values)


@settings(SQL_SETTINGS, max_examples=15)
@given(
    st.lists(st.one_of(st.none(), st.floats(), st.integers(-(10**20), 10**20).map(float)), **BATCH),
    st.lists(st.one_of(st.none(), st.booleans()), **BATCH),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), **BATCH),
)
def test_text_and_identifier_from_other_arrow_types_agree(
    floats: list[float | None], bools: list[bool | None], ints: list[int | None]
) -> None:
    for name in ("text", "identifier"):
        assert_agree(name, floats, pa.float64())
        assert_agree(name, bools, pa.bool_())
        assert_agree(name, ints, pa.int64())


def test_identifier_repertoire_matches_duckdb_upper_and_nfc() -> None:
    """For every character identifiers accept, DuckDB's upper() and
    nfc_normalize() equal Python's (the premise of the identifier SQL)."""
    chars = [chr(cp) for first, last in identifier_repertoire() for cp in range(first, last + 1)]
    con = connection()
    ((uppers, nfcs),) = con.execute(
        "SELECT list_transform($1, lambda c: upper(c)), list_transform($1, lambda c: "
        "nfc_normalize(c))",
        [chars],
    ).fetchall()
    bad_upper = [c for c, u in zip(chars, uppers, strict=True) if u != c.upper()]
    bad_nfc = [c for c, n in zip(chars, nfcs, strict=True) if n != unicodedata.normalize("NFC", c)]
    assert bad_upper == []
    assert bad_nfc == []


def test_duckdb_lower_is_simple_lowercase() -> None:
    """enum relies on tessera.types._common.sql_lower == DuckDB lower()."""
    from tessera.types._common import sql_lower

    chars = [
        chr(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) not in ("Cs", "Cn", "Co")
    ]
    ((lowers,),) = (
        connection().execute("SELECT list_transform($1, lambda c: lower(c))", [chars]).fetchall()
    )
    assert [c for c, low in zip(chars, lowers, strict=True) if low != sql_lower(c)] == []


# --- numbers -------------------------------------------------------------------


@st.composite
def number_strings(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", max_size=20))
    sep = draw(st.sampled_from(["", ".", ","]))
    frac = draw(st.text("0123456789", max_size=8)) if sep else ""
    exponent = draw(st.sampled_from(["", "e5", "E-3", "e+400", "e-400", "e"]))
    pad = draw(st.sampled_from(["", " ", "\t", "\u00a0"]))
    return pad + sign + whole + sep + frac + exponent + pad


NUMBER_TEXT = st.one_of(
    number_strings(),
    st.floats().map(repr),
    st.integers().map(str),
    st.integers(min_value=-(10**6), max_value=10**6).map(lambda i: f"{i}.0"),
    MESSY_TEXT,
    st.sampled_from(["nan", "inf", "-inf", "1_000", "0x10", "1.2.3", "1,5e3", ".5", "5.", ","]),
)
BOUNDS = st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-1000, 1000).map(float))


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), NUMBER_TEXT), **BATCH), BOUNDS, BOUNDS)
def test_float_strings_agree(
    values: list[str | None], minimum: float | None, maximum: float | None
) -> None:
    assert_agree("float", values, options=CleanOptions(minimum=minimum, maximum=maximum))


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), st.floats()), **BATCH), BOUNDS)
def test_float_doubles_agree(values: list[float | None], maximum: float | None) -> None:
    assert_agree("float", values, pa.float64(), CleanOptions(maximum=maximum))


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), NUMBER_TEXT), **BATCH), BOUNDS, BOUNDS)
def test_integer_strings_agree(
    values: list[str | None], minimum: float | None, maximum: float | None
) -> None:
    assert_agree("integer", values, options=CleanOptions(minimum=minimum, maximum=maximum))


@SQL_SETTINGS
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(),
            st.integers(-(2**70), 2**70).map(float),
            st.integers(-1000, 1000).map(float),
        ),
        **BATCH,
    ),
    BOUNDS,
)
def test_integer_doubles_agree(values: list[float | None], minimum: float | None) -> None:
    assert_agree("integer", values, pa.float64(), CleanOptions(minimum=minimum))


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), st.integers(0, 2**64 - 1)), **BATCH), BOUNDS)
def test_integer_uint64_agree(values: list[int | None], maximum: float | None) -> None:
    assert_agree("integer", values, pa.uint64(), CleanOptions(maximum=maximum))


# --- enum ----------------------------------------------------------------------

ENUM_OPTIONS = CleanOptions(
    values=("male", "female", "Straße", "ÉTÉ", "İzmir", "unknown"),
    aliases=(("m", "male"), ("F", "female"), ("w", "female"), ("?", "unknown"), ("n/a", "unknown")),
)
ENUM_WORDS = ["male", "female", "Straße", "ÉTÉ", "İzmir", "unknown", "m", "F", "w", "?", "n/a"]


@st.composite
def enum_variants(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(ENUM_WORDS))
    word = draw(st.sampled_from([word, word.upper(), word.lower(), word.casefold(), word.title()]))
    if draw(st.booleans()):
        word = unicodedata.normalize("NFD", word)
    pad = draw(st.sampled_from(["", " ", "\t", "\u3000 "]))
    return pad + word + pad


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), enum_variants(), MESSY_TEXT), **BATCH))
def test_enum_agrees(values: list[str | None]) -> None:
    assert_agree("enum", values, options=ENUM_OPTIONS)


# --- dates and timestamps --------------------------------------------------------

# Zones with stable, well-known rules in the years tested (ICU and the system
# tz database agree there); several have DST, odd offsets, or southern DST.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Shanghai",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Pacific/Chatham",
    "America/St_Johns",
]
DATETIMES = st.datetimes(min_value=dt.datetime(1980, 1, 1), max_value=dt.datetime(2035, 12, 31))
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


def iso_variants(moment: dt.datetime, offset: dt.tzinfo | None, choice: int) -> str:
    text = moment.isoformat(sep="T" if choice % 2 else " ")
    if choice % 3 == 0:
        text = moment.strftime("%Y-%m-%dT%H:%M")
    if choice % 7 == 0:
        text = moment.strftime("%Y-%m-%d")
    if offset is not None and choice % 7 != 0:
        stamp = moment.replace(tzinfo=offset).strftime("%z")
        if stamp == "+0000" and choice % 5 == 0:
            stamp = "Z"
        elif choice % 4 == 0:
            stamp = stamp[:3] + ":" + stamp[3:]
        elif choice % 4 == 1 and stamp.endswith("00"):
            stamp = stamp[:3]
        text += stamp
    return text


@st.composite
def iso_batches(draw: st.DrawFn) -> tuple[list[str | None], CleanOptions]:
    zone = draw(st.one_of(st.none(), st.sampled_from(ZONES)))
    values: list[str | None] = []
    for _ in range(draw(st.integers(1, 30))):
        moment = draw(DATETIMES)
        offset = draw(st.one_of(st.none(), OFFSETS))
        values.append(iso_variants(moment, offset, draw(st.integers(0, 419))))
    values += draw(
        st.lists(
            st.one_of(
                st.none(),
                MESSY_TEXT,
                st.sampled_from(
                    [
                        "2024-02-30T10:00Z",
                        "2023-02-29",
                        "0000-01-01T00:00Z",
                        "9999-12-31T23:59:59-01:00",
                        "0001-01-01T00:00:00+01:00",
                        "2024-03-01T24:00Z",
                        "2024-03-01T10:00:60Z",
                        "2024-03-01T10:00:00+24:00",
                        "2024-03-01T10:00:00.1234567891Z",
                        "2024-03-01 10:00:00 +02:00",
                        "2024-3-1",
                        "20240301",
                        "2024-03-31T02:30",
                        "2024-10-27T02:30",
                    ]
                ),
            ),
            max_size=8,
        )
    )
    return values, CleanOptions(timezone=zone)


@SQL_SETTINGS
@given(iso_batches())
def test_timestamp_iso_agrees(batch: tuple[list[str | None], CleanOptions]) -> None:
    values, options = batch
    assert_agree("timestamp", values, options=options)


STRPTIME_FORMATS = [
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S.%f",
    "%Y%m%d%H%M%S",
    "%m/%d/%y %I:%M %p",
    "%a, %d %b %Y %H:%M:%S %z",
    "%d %B %Y, %H:%M",
    "%Y-%m-%dT%H:%M:%S%z",
]


@st.composite
def formatted_batches(draw: st.DrawFn) -> tuple[list[str | None], CleanOptions]:
    formats = draw(st.lists(st.sampled_from(STRPTIME_FORMATS), min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        formats.append(draw(st.sampled_from(["epoch_s", "epoch_ms"])))
    zone = draw(st.one_of(st.none(), st.sampled_from(ZONES)))
    values: list[str | None] = []
    for _ in range(draw(st.integers(1, 30))):
        moment = draw(DATETIMES)
        fmt = draw(st.sampled_from(formats))
        if fmt.startswith("epoch"):
            seconds = (moment - dt.datetime(1970, 1, 1)).total_seconds()
            number = seconds if fmt == "epoch_s" else seconds * 1000
            values.append(draw(st.sampled_from([str(int(number)), f"{number:.3f}", repr(number)])))
            continue
        aware = moment.replace(tzinfo=draw(OFFSETS))
        text = aware.strftime(fmt)
        if draw(st.booleans()):  # impossible or odd field values
            text = text.replace(
                aware.strftime("%d"), draw(st.sampled_from(["31", "30", "00", "1"]))
            )
        values.append(text)
    values += draw(st.lists(st.one_of(st.none(), MESSY_TEXT), max_size=5))
    return values, CleanOptions(formats=tuple(formats), timezone=zone)


@SQL_SETTINGS
@given(formatted_batches())
def test_timestamp_formats_agree(batch: tuple[list[str | None], CleanOptions]) -> None:
    values, options = batch
    assert_agree("timestamp", values, options=options)


@SQL_SETTINGS
@given(
    st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), **BATCH),
    st.sampled_from(["epoch_s", "epoch_ms"]),
)
def test_timestamp_epoch_integers_agree(values: list[int | None], fmt: str) -> None:
    near = [v % 4_000_000_000 if v is not None else None for v in values]
    assert_agree("timestamp", values + near, pa.int64(), CleanOptions(formats=(fmt,)))


@SQL_SETTINGS
@given(
    st.lists(st.one_of(st.none(), st.floats(), st.floats(-1e10, 1e13)), **BATCH),
    st.sampled_from(["epoch_s", "epoch_ms"]),
)
def test_timestamp_epoch_doubles_agree(values: list[float | None], fmt: str) -> None:
    assert_agree("timestamp", values, pa.float64(), CleanOptions(formats=(fmt,)))


@SQL_SETTINGS
@given(
    st.lists(st.one_of(st.none(), DATETIMES), **BATCH),
    st.one_of(st.none(), st.sampled_from(ZONES)),
)
def test_timestamp_naive_arrow_agrees(values: list[dt.datetime | None], zone: str | None) -> None:
    assert_agree("timestamp", values, pa.timestamp("us"), CleanOptions(timezone=zone))


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), DATETIMES), **BATCH), st.sampled_from(ZONES))
def test_timestamp_aware_arrow_agrees(values: list[dt.datetime | None], zone: str) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    aware = [None if v is None else v.replace(tzinfo=tz) for v in values]
    assert_agree("timestamp", aware, pa.timestamp("us", tz=zone))


DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%y", "%Y%m%d", "%d %b %Y", "%B %d, %Y"]


@st.composite
def date_batches(draw: st.DrawFn) -> tuple[list[str | None], CleanOptions]:
    formats = draw(st.lists(st.sampled_from(DATE_FORMATS), max_size=3, unique=True))
    use = formats or ["%Y-%m-%d"]
    values: list[str | None] = []
    for _ in range(draw(st.integers(1, 30))):
        day = draw(st.dates(min_value=dt.date(1, 1, 1)))
        fmt = draw(st.sampled_from(use))
        values.append(day.strftime(fmt.replace("%Y", f"{day.year:04d}")))  # 4-digit years
    fields = st.tuples(st.integers(0, 35), st.integers(0, 14), st.integers(0, 9999))
    values += [f"{y:04d}-{m:02d}-{d:02d}" for d, m, y in draw(st.lists(fields, max_size=5))]
    values += [f"{d}.{m}.{y:04d}" for d, m, y in draw(st.lists(fields, max_size=5))]
    values += draw(st.lists(st.one_of(st.none(), MESSY_TEXT), max_size=5))
    return values, CleanOptions(formats=tuple(formats))


@SQL_SETTINGS
@given(date_batches())
def test_date_strings_agree(batch: tuple[list[str | None], CleanOptions]) -> None:
    values, options = batch
    assert_agree("date", values, options=options)


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), st.dates()), **BATCH))
def test_date_arrow_dates_agree(values: list[dt.date | None]) -> None:
    assert_agree("date", values, pa.date32())


@SQL_SETTINGS
@given(st.lists(st.one_of(st.none(), DATETIMES), **BATCH), st.sampled_from(ZONES))
def test_date_arrow_timestamps_agree(values: list[dt.datetime | None], zone: str) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    assert_agree("date", values, pa.timestamp("ms"))
    aware = [None if v is None else v.replace(tzinfo=tz) for v in values]
    assert_agree("date", aware, pa.timestamp("us", tz=zone))


# --- known answers through SQL -------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "raw", "options", "expected"),
    [
        ("text", "  a \t b\u00a0", CleanOptions(), ("a b", False, None)),
        ("identifier", "ab 12\u3000\uff43", CleanOptions(), ("AB12C", False, None)),
        (
            "identifier",
            "x\u00bd",
            CleanOptions(),
            (None, True, "identifier contains unsupported character U+00BD"),
        ),
        ("float", "91", CleanOptions(maximum=90), (None, True, "value 91.0 above maximum 90")),
        ("integer", "12.0", CleanOptions(), (12, False, None)),
        ("enum", " W ", ENUM_OPTIONS, ("female", False, None)),
        (
            "timestamp",
            "2024-03-01T10:00",
            CleanOptions(),
            (None, True, "timestamp has no time zone and the mapping sets no timezone"),
        ),
        (
            "date",
            "31.02.2024",
            CleanOptions(formats=("%d.%m.%Y",)),
            (None, True, "impossible date"),
        ),
        (
            "timestamp",
            "2024年3月1日 10时05分",
            CleanOptions(formats=("%Y年%m月%d日 %H时%M分",), timezone="Asia/Shanghai"),
            (dt.datetime(2024, 3, 1, 2, 5, tzinfo=dt.UTC), False, None),
        ),
    ],
)
def test_sql_known_answers(
    type_name: str, raw: str, options: CleanOptions, expected: tuple[Any, bool, str | None]
) -> None:
    assert run_sql(get_type(type_name), [raw], options=options) == [expected]
    assert_agree(type_name, [raw], options=options)


@pytest.mark.parametrize(
    "type_name", ["text", "identifier", "float", "integer", "date", "timestamp"]
)
def test_sql_missing_values_are_not_invalid(type_name: str) -> None:
    rows = run_sql(get_type(type_name), [None, "", "   ", "\t\n"])
    assert all(row == (None, False, None) for row in rows)


def test_sql_references_the_column_verbatim() -> None:
    for vtype in (get_type(name) for name in ("text", "identifier", "float", "integer", "date")):
        sql = vtype.sql_clean('"weird ""col"""', "string")
        assert '"weird ""col"""' in sql.value
        assert vtype.name == "text" or '"weird ""col"""' in sql.invalid


def test_null_arrow_column() -> None:
    for name in ("float", "integer", "timestamp", "date"):
        assert run_sql(get_type(name), [None, None], pa.null()) == [(None, False, None)] * 2
