"""``timestamp`` and ``date``: known answers, every error reason, properties."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.errors import MappingError
from tessera.types import Cleaned, CleanOptions, get_type
from tessera.types.temporal import localize

TIMESTAMP = get_type("timestamp")
DATE = get_type("date")
UTC = dt.UTC
BERLIN = CleanOptions(timezone="Europe/Berlin")
NO_TZ = "timestamp has no time zone and the mapping sets no timezone"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [
        ("2024-03-01T10:00:00Z", CleanOptions(), utc(2024, 3, 1, 10)),
        ("2024-03-01T10:00:00+02:00", CleanOptions(), utc(2024, 3, 1, 8)),
        ("2024-03-01 10:00:00.25-0130", CleanOptions(), utc(2024, 3, 1, 11, 30, 0, 250000)),
        ("2024-03-01T10:00+05", CleanOptions(), utc(2024, 3, 1, 5)),
        ("2024-03-01T10:00:00.1234567Z", CleanOptions(), utc(2024, 3, 1, 10, 0, 0, 123456)),
        # offsets win over the timezone option
        ("2024-03-01T10:00:00Z", BERLIN, utc(2024, 3, 1, 10)),
        # naive values are read in the timezone option
        ("2024-03-01T10:00", BERLIN, utc(2024, 3, 1, 9)),
        ("2024-07-01 10:00:00", BERLIN, utc(2024, 7, 1, 8)),
        ("2024-07-01", BERLIN, utc(2024, 6, 30, 22)),
        # DST: skipped 02:30 uses the offset before the change (+01:00) ...
        ("2024-03-31T02:30", BERLIN, utc(2024, 3, 31, 1, 30)),
        # ... repeated 02:30 is the later occurrence (+01:00)
        ("2024-10-27T02:30", BERLIN, utc(2024, 10, 27, 1, 30)),
        ("1700000000", CleanOptions(formats=("epoch_s",)), utc(2023, 11, 14, 22, 13, 20)),
        ("1700000000.5", CleanOptions(formats=("epoch_s",)), utc(2023, 11, 14, 22, 13, 20, 500000)),
        (
            "1700000000123",
            CleanOptions(formats=("epoch_ms",)),
            utc(2023, 11, 14, 22, 13, 20, 123000),
        ),
        (1700000000, CleanOptions(formats=("epoch_s",)), utc(2023, 11, 14, 22, 13, 20)),
        (
            "01.03.2024 10:00",
            CleanOptions(formats=("%d.%m.%Y %H:%M",), timezone="Asia/Shanghai"),
            utc(2024, 3, 1, 2),
        ),
        (
            "Fri, 01 Mar 2024 10:00:00 +0100",
            CleanOptions(formats=("%a, %d %b %Y %H:%M:%S %z",)),
            utc(2024, 3, 1, 9),
        ),
        (
            "3/1/24 12:05 AM",
            CleanOptions(formats=("%m/%d/%y %I:%M %p",), timezone="UTC"),
            utc(2024, 3, 1, 0, 5),
        ),
        (
            "1 MARCH 1969 1:02",
            CleanOptions(formats=("%d %B %Y %H:%M",), timezone="UTC"),
            utc(1969, 3, 1, 1, 2),
        ),
        (
            "20240301103000",
            CleanOptions(formats=("%Y%m%d%H%M%S",), timezone="UTC"),
            utc(2024, 3, 1, 10, 30),
        ),
        # the first format that gives a valid time wins
        (
            "1700000000",
            CleanOptions(formats=("%Y%m%d", "epoch_s"), timezone="UTC"),
            utc(2023, 11, 14, 22, 13, 20),
        ),
        (
            dt.datetime(2024, 3, 1, 10, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo")),
            None,
            utc(2024, 3, 1, 1),
        ),
        (dt.datetime(2024, 3, 1, 10), BERLIN, utc(2024, 3, 1, 9)),
        (dt.date(2024, 3, 1), BERLIN, utc(2024, 2, 29, 23)),
    ],
)
def test_timestamp_known_answers(
    raw: object, options: CleanOptions | None, expected: dt.datetime
) -> None:
    cleaned = TIMESTAMP.clean(raw, options or CleanOptions())
    assert cleaned == Cleaned(expected)
    assert cleaned.value.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "options", "reason"),
    [
        ("2024-03-01T10:00", CleanOptions(), NO_TZ),
        ("2024-03-01", CleanOptions(), NO_TZ),
        (dt.datetime(2024, 3, 1), CleanOptions(), NO_TZ),
        ("01.03.2024", CleanOptions(formats=("%d.%m.%Y",)), NO_TZ),
        ("2024-02-30T10:00Z", CleanOptions(), "impossible date or time"),
        ("2024-13-01T10:00Z", CleanOptions(), "impossible date or time"),
        (
            "30.02.2024 10:00",
            CleanOptions(formats=("%d.%m.%Y %H:%M",), timezone="UTC"),
            "impossible date or time",
        ),
        (
            "01/03/24 13:00 PM",
            CleanOptions(formats=("%d/%m/%y %I:%M %p",), timezone="UTC"),
            "impossible date or time",
        ),
        ("0000-01-01T00:00Z", CleanOptions(), "timestamp out of range"),
        ("9999-12-31T23:00:00-02:00", CleanOptions(), "timestamp out of range"),
        ("99999999999999", CleanOptions(formats=("epoch_s",)), "timestamp out of range"),
        (10**18, CleanOptions(formats=("epoch_ms",)), "timestamp out of range"),
        (float("nan"), CleanOptions(formats=("epoch_s",)), "epoch value is not finite"),
        (1700000000, CleanOptions(), "a number needs the format epoch_s or epoch_ms"),
        ("yesterday", CleanOptions(), "not an ISO 8601 timestamp"),
        ("2024-03-01 10:00:00 +02:00", CleanOptions(), "not an ISO 8601 timestamp"),
        ("2024-03-01T24:00Z", CleanOptions(), "not an ISO 8601 timestamp"),
        ("2024-3-1T10:00Z", CleanOptions(), "not an ISO 8601 timestamp"),
        (
            "2024-03-01",
            CleanOptions(formats=("%d.%m.%Y", "epoch_s")),
            "timestamp matches none of the formats %d.%m.%Y, epoch_s",
        ),
        (
            "2024031",
            CleanOptions(formats=("%Y%m%d",), timezone="UTC"),
            "timestamp matches none of the formats %Y%m%d",
        ),
    ],
)
def test_timestamp_errors(raw: object, options: CleanOptions, reason: str) -> None:
    assert TIMESTAMP.clean(raw, options) == Cleaned(None, reason)


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000"])
def test_timestamp_missing(raw: object) -> None:
    assert TIMESTAMP.clean(raw, BERLIN) == Cleaned(None)


@pytest.mark.parametrize(
    "options",
    [
        CleanOptions(timezone="Mars/Olympus"),
        CleanOptions(formats=("%d.%m.%Y %Q",)),  # unknown directive
        CleanOptions(formats=("%H:%M",)),  # no date
        CleanOptions(formats=("%d.%m.%Y %I:%M",)),  # %I without %p
        CleanOptions(formats=("%d.%m.%Y %H:%M %p",)),  # %H with %p
        CleanOptions(formats=("%d.%m.%Y %d",)),  # %d twice
        CleanOptions(formats=("%d.%m.%Y %",)),  # lone %
        CleanOptions(formats=("%d.%m.%Y .%f",)),  # %f without %S
        CleanOptions(formats="%d.%m.%Y"),  # type: ignore[arg-type]
    ],
)
def test_timestamp_bad_options_raise(options: CleanOptions) -> None:
    with pytest.raises(MappingError):
        TIMESTAMP.clean("2024-03-01", options)
    with pytest.raises(MappingError):
        TIMESTAMP.sql_clean('"c"', "string", options)


def test_timestamp_numeric_column_needs_epoch_format() -> None:
    with pytest.raises(MappingError, match="epoch_s or epoch_ms"):
        TIMESTAMP.sql_clean('"c"', "int64", CleanOptions())
    with pytest.raises(MappingError, match="Arrow type"):
        TIMESTAMP.sql_clean('"c"', "bool", CleanOptions())


def test_localize_rules() -> None:
    new_york = zoneinfo.ZoneInfo("America/New_York")
    # repeated hour on 2024-11-03: the later occurrence is EST (-05:00)
    repeated = localize(dt.datetime(2024, 11, 3, 1, 30), new_york)
    assert repeated.utcoffset() == dt.timedelta(hours=-5)
    # skipped hour on 2024-03-10: read with the offset before the change (-05:00)
    skipped = localize(dt.datetime(2024, 3, 10, 2, 30), new_york)
    assert skipped.astimezone(UTC) == utc(2024, 3, 10, 7, 30)
    ordinary = localize(dt.datetime(2024, 7, 1, 12), new_york)
    assert ordinary.utcoffset() == dt.timedelta(hours=-4)


ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])


@settings(max_examples=150, deadline=None)
@given(st.datetimes(timezones=st.one_of(st.just(UTC), st.timezones())), ZONES)
def test_timestamp_aware_datetimes_are_kept(moment: dt.datetime, zone: str) -> None:
    cleaned = TIMESTAMP.clean(moment, CleanOptions(timezone=zone))
    if cleaned.error is None:
        # (compared in UTC: aware times inside a DST gap never equal other zones' times)
        assert cleaned.value == moment.astimezone(UTC)
        assert TIMESTAMP.validate(cleaned.value)
        assert TIMESTAMP.clean(cleaned.value) == cleaned  # idempotent, no options needed
        assert TIMESTAMP.clean(cleaned.value.isoformat()) == cleaned
    else:
        assert cleaned.error == "timestamp out of range"


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)), ZONES)
def test_timestamp_local_round_trip(moment: dt.datetime, zone: str) -> None:
    """Formatting the cleaned value back in the zone gives the wall time, except
    in skipped hours (which do not exist)."""
    tz = zoneinfo.ZoneInfo(zone)
    cleaned = TIMESTAMP.clean(moment.isoformat(), CleanOptions(timezone=zone))
    assert cleaned.error is None
    back = cleaned.value.astimezone(tz).replace(tzinfo=None)
    exists = moment.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == moment
    assert (back == moment) == exists


def test_timestamp_validate() -> None:
    assert TIMESTAMP.validate(utc(2024, 1, 1))
    assert TIMESTAMP.validate(dt.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC")))
    assert not TIMESTAMP.validate(
        dt.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    )
    assert not TIMESTAMP.validate(dt.datetime(2024, 1, 1))
    assert not TIMESTAMP.validate(
        dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    )
    assert not TIMESTAMP.validate("2024-01-01T00:00Z")


@pytest.mark.parametrize(
    ("raw", "formats", "expected"),
    [
        ("2024-03-01", (), dt.date(2024, 3, 1)),
        (" 2024-3-1 ", (), dt.date(2024, 3, 1)),
        ("01.03.2024", ("%d.%m.%Y",), dt.date(2024, 3, 1)),
        ("1.3.24", ("%d.%m.%Y", "%d.%m.%y"), dt.date(2024, 3, 1)),
        ("1.3.69", ("%d.%m.%y",), dt.date(1969, 3, 1)),
        ("29 Feb 2024", ("%d %b %Y",), dt.date(2024, 2, 29)),
        ("01.03.2024 23:59", ("%d.%m.%Y %H:%M",), dt.date(2024, 3, 1)),
        (dt.date(2024, 3, 1), (), dt.date(2024, 3, 1)),
        (dt.datetime(2024, 3, 1, 23, 30), (), dt.date(2024, 3, 1)),
        (
            dt.datetime(2024, 3, 2, 0, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
            (),
            dt.date(2024, 3, 1),
        ),
    ],
)
def test_date_known_answers(raw: object, formats: tuple[str, ...], expected: dt.date) -> None:
    cleaned = DATE.clean(raw, CleanOptions(formats=formats))
    assert cleaned == Cleaned(expected)
    assert type(cleaned.value) is dt.date


@pytest.mark.parametrize(
    ("raw", "formats", "reason"),
    [
        ("31.02.2024", ("%d.%m.%Y",), "impossible date"),
        ("2023-02-29", (), "impossible date"),
        ("00.01.2024", ("%d.%m.%Y",), "impossible date"),
        ("0000-01-01", (), "date out of range"),
        ("01/03/2024", (), "not an ISO 8601 date (YYYY-MM-DD)"),
        (
            "2024-03-01",
            ("%d.%m.%Y", "%d/%m/%Y"),
            "date matches none of the formats %d.%m.%Y, %d/%m/%Y",
        ),
    ],
)
def test_date_errors(raw: str, formats: tuple[str, ...], reason: str) -> None:
    assert DATE.clean(raw, CleanOptions(formats=formats)) == Cleaned(None, reason)


@pytest.mark.parametrize("formats", [("epoch_s",), ("%d.%m.%Y %z",), ("%m.%Y",)])
def test_date_bad_formats_raise(formats: tuple[str, ...]) -> None:
    with pytest.raises(MappingError):
        DATE.clean("01.03.2024", CleanOptions(formats=formats))


@settings(max_examples=150, deadline=None)
@given(st.dates(), st.sampled_from(["%Y-%m-%d", "%d.%m.%Y", "%Y%m%d", "%d %B %Y"]))
def test_date_round_trip_idempotent_valid(day: dt.date, fmt: str) -> None:
    text = day.strftime(fmt.replace("%Y", f"{day.year:04d}"))  # 4-digit years everywhere
    cleaned = DATE.clean(text, CleanOptions(formats=(fmt,)))
    assert cleaned == Cleaned(day)
    assert DATE.clean(cleaned.value) == cleaned
    assert DATE.validate(cleaned.value)
    assert not DATE.validate(dt.datetime(2024, 1, 1))
