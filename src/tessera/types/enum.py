"""Closed vocabularies: ``enum`` (values from the mapping) and ``country``.

``enum`` compares case-insensitively after text normalisation (NFC,
whitespace collapsed, trimmed); ``options.aliases`` maps other spellings to
canonical values, which must be in ``options.values``. Lower-casing uses
DuckDB's simple per-character mapping (:func:`sql_lower`) in both paths.

``country`` is an ISO 3166-1 alpha-2 code; it accepts alpha-2 codes,
alpha-3 codes and common English names of about 80 countries.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from tessera.errors import MappingError
from tessera.types._common import (
    normalize_text,
    python_text_input,
    sql_lower,
    sql_normalize_text,
    sql_str,
    sql_text_input,
    truncate_list,
)
from tessera.types.base import Cleaned, CleanOptions, SqlClean, ValueType

_DEFAULT_OPTIONS = CleanOptions()


@functools.lru_cache(maxsize=256)
def _vocabulary(
    values: tuple[str, ...], aliases: tuple[tuple[str, str], ...]
) -> tuple[dict[str, str], str]:
    """Lower-cased key -> canonical value, and the "allowed values" text."""
    if not values:
        raise MappingError("an enum needs values in the mapping")
    table: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str) or not normalize_text(value):
            raise MappingError(f"enum value {value!r} must be a non-blank string")
        if value != normalize_text(value):
            raise MappingError(
                f"enum value {value!r} has untrimmed or repeated whitespace or is not NFC"
            )
        key = sql_lower(value)
        if key in table and table[key] != value:
            raise MappingError(f"enum values {table[key]!r} and {value!r} differ only by case")
        table[key] = value
    canonical = set(values)
    for raw, target in aliases:
        if target not in canonical:
            raise MappingError(f"enum alias {raw!r} points to {target!r}, which is not a value")
        key = sql_lower(normalize_text(raw))
        if not key:
            raise MappingError("an enum alias must not be blank")
        if key in table and table[key] != target:
            raise MappingError(f"enum alias {raw!r} conflicts with {table[key]!r}")
        table[key] = target
    return table, truncate_list(list(values))


def _vocabulary_of(options: CleanOptions) -> tuple[dict[str, str], str]:
    values: object = options.values
    if isinstance(values, str):
        raise MappingError("enum values must be a list of strings, not a single string")
    aliases: list[tuple[str, str]] = []
    for entry in options.aliases:
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise MappingError(f"enum alias {entry!r} must be a (raw, value) pair")
        aliases.append((str(entry[0]), str(entry[1])))
    return _vocabulary(tuple(options.values), tuple(aliases))


def _not_allowed_suffix(allowed: str) -> str:
    return f"' is not one of: {allowed}"


class EnumType(ValueType):
    """One of the values listed in the mapping (``options.values``)."""

    name: ClassVar[str] = "enum"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "one of a fixed list of values (case-insensitive, with aliases)"
    vectorized: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        table, allowed = _vocabulary_of(options)
        text = python_text_input(raw)
        if text is None:
            return Cleaned(None)
        text = normalize_text(text)
        if not text:
            return Cleaned(None)
        value = table.get(sql_lower(text))
        if value is None:
            return Cleaned(None, "'" + text + _not_allowed_suffix(allowed))
        return Cleaned(value)

    def validate(self, value: Any) -> bool:
        """Without the mapping's values only the form can be checked."""
        return isinstance(value, str) and value != "" and normalize_text(value) == value

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = _DEFAULT_OPTIONS
    ) -> SqlClean:
        table, allowed = _vocabulary_of(options)
        text = sql_normalize_text(sql_text_input(column, arrow_type))
        cases = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in table.items())
        value = f"CASE lower({text}) {cases} END"
        return SqlClean(
            value=value,
            invalid=f"({text} IS NOT NULL AND ({value}) IS NULL)",
            reason=f"'''' || {text} || {sql_str(_not_allowed_suffix(allowed))}",
        )


# alpha-2, alpha-3, English names (lower case) of common countries.
_COUNTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("AE", "ARE", ("united arab emirates", "uae", "emirates")),
    ("AF", "AFG", ("afghanistan",)),
    ("AL", "ALB", ("albania",)),
    ("AM", "ARM", ("armenia",)),
    ("AR", "ARG", ("argentina",)),
    ("AT", "AUT", ("austria",)),
    ("AU", "AUS", ("australia",)),
    ("AZ", "AZE", ("azerbaijan",)),
    ("BA", "BIH", ("bosnia and herzegovina", "bosnia")),
    ("BD", "BGD", ("bangladesh",)),
    ("BE", "BEL", ("belgium",)),
    ("BG", "BGR", ("bulgaria",)),
    ("BR", "BRA", ("brazil",)),
    ("BY", "BLR", ("belarus",)),
    ("CA", "CAN", ("canada",)),
    ("CH", "CHE", ("switzerland",)),
    ("CL", "CHL", ("chile",)),
    ("CN", "CHN", ("china", "people's republic of china", "prc")),
    ("CO", "COL", ("colombia",)),
    ("CY", "CYP", ("cyprus",)),
    ("CZ", "CZE", ("czechia", "czech republic")),
    ("DE", "DEU", ("germany", "deutschland")),
    ("DK", "DNK", ("denmark",)),
    ("DZ", "DZA", ("algeria",)),
    ("EE", "EST", ("estonia",)),
    ("EG", "EGY", ("egypt",)),
    ("ES", "ESP", ("spain",)),
    ("ET", "ETH", ("ethiopia",)),
    ("FI", "FIN", ("finland",)),
    ("FR", "FRA", ("france",)),
    ("GB", "GBR", ("united kingdom", "uk", "great britain", "britain")),
    ("GE", "GEO", ("georgia",)),
    ("GR", "GRC", ("greece",)),
    ("HK", "HKG", ("hong kong",)),
    ("HR", "HRV", ("croatia",)),
    ("HU", "HUN", ("hungary",)),
    ("ID", "IDN", ("indonesia",)),
    ("IE", "IRL", ("ireland",)),
    ("IL", "ISR", ("israel",)),
    ("IN", "IND", ("india",)),
    ("IQ", "IRQ", ("iraq",)),
    ("IR", "IRN", ("iran", "islamic republic of iran")),
    ("IT", "ITA", ("italy",)),
    ("JO", "JOR", ("jordan",)),
    ("JP", "JPN", ("japan",)),
    ("KE", "KEN", ("kenya",)),
    ("KG", "KGZ", ("kyrgyzstan",)),
    ("KP", "PRK", ("north korea", "democratic people's republic of korea", "dprk")),
    ("KR", "KOR", ("south korea", "korea", "republic of korea")),
    ("KW", "KWT", ("kuwait",)),
    ("KZ", "KAZ", ("kazakhstan",)),
    ("LB", "LBN", ("lebanon",)),
    ("LT", "LTU", ("lithuania",)),
    ("LU", "LUX", ("luxembourg",)),
    ("LV", "LVA", ("latvia",)),
    ("LY", "LBY", ("libya",)),
    ("MA", "MAR", ("morocco",)),
    ("MD", "MDA", ("moldova",)),
    ("MX", "MEX", ("mexico",)),
    ("MY", "MYS", ("malaysia",)),
    ("NG", "NGA", ("nigeria",)),
    ("NL", "NLD", ("netherlands", "the netherlands", "holland")),
    ("NO", "NOR", ("norway",)),
    ("NZ", "NZL", ("new zealand",)),
    ("PH", "PHL", ("philippines",)),
    ("PK", "PAK", ("pakistan",)),
    ("PL", "POL", ("poland",)),
    ("PT", "PRT", ("portugal",)),
    ("QA", "QAT", ("qatar",)),
    ("RO", "ROU", ("romania",)),
    ("RS", "SRB", ("serbia",)),
    ("RU", "RUS", ("russia", "russian federation")),
    ("SA", "SAU", ("saudi arabia",)),
    ("SE", "SWE", ("sweden",)),
    ("SG", "SGP", ("singapore",)),
    ("SK", "SVK", ("slovakia",)),
    ("SY", "SYR", ("syria", "syrian arab republic")),
    ("TH", "THA", ("thailand",)),
    ("TJ", "TJK", ("tajikistan",)),
    ("TM", "TKM", ("turkmenistan",)),
    ("TN", "TUN", ("tunisia",)),
    ("TR", "TUR", ("turkey", "turkiye", "türkiye")),
    ("TW", "TWN", ("taiwan",)),
    ("UA", "UKR", ("ukraine",)),
    ("US", "USA", ("united states", "united states of america", "us", "america")),
    ("UZ", "UZB", ("uzbekistan",)),
    ("VE", "VEN", ("venezuela",)),
    ("VN", "VNM", ("vietnam", "viet nam")),
    ("YE", "YEM", ("yemen",)),
    ("ZA", "ZAF", ("south africa",)),
)


def alpha3(alpha2: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of a country the country type knows by name."""
    return next((a3 for a2, a3, _ in _COUNTRIES if a2 == alpha2), None)


@functools.lru_cache(maxsize=1)
def _country_table() -> dict[str, str]:
    import phonenumbers

    table: dict[str, str] = {}
    # Every alpha-2 region phonenumbers knows, except the telephone-only
    # Ascension and Tristan da Cunha (not ISO 3166-1; both are in SH).
    for region in phonenumbers.SUPPORTED_REGIONS:
        if len(region) == 2 and region.isalpha() and region not in ("AC", "TA"):
            table[region.lower()] = region
    for alpha2, alpha3, names in _COUNTRIES:
        table[alpha2.lower()] = alpha2
        table[alpha3.lower()] = alpha2
        for english in names:
            table[english] = alpha2
    return table


class CountryType(ValueType):
    """A country as an ISO 3166-1 alpha-2 code."""

    name: ClassVar[str] = "country"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "country, ISO 3166-1 alpha-2 (accepts alpha-3 and English names)"

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        text = python_text_input(raw)
        if text is None:
            return Cleaned(None)
        text = normalize_text(text)
        if not text:
            return Cleaned(None)
        key = text.lower().replace(".", "")
        table = _country_table()
        code = table.get(key) or (table.get(key[4:]) if key.startswith("the ") else None)
        if code is None:
            return Cleaned(None, f"unknown country {text!r}")
        return Cleaned(code)

    def validate(self, value: Any) -> bool:
        return (
            isinstance(value, str)
            and len(value) == 2
            and value.isupper()
            and super().validate(value)
        )
