"""Telephone numbers, canonically E.164 (``+4930123456``).

Parsing and validation use ``phonenumbers`` (imported on first use). National
numbers need ``options.phone_region``; numbers written with ``+`` or the
``00`` international prefix need none. Spaces, dashes, dots, slashes and
parentheses (also the ``(0)`` in ``+49 (0)30 ...``) are accepted; letters
(vanity numbers) and extensions are not.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from tessera.errors import MappingError
from tessera.types._common import python_text_input, strip_ws
from tessera.types.base import Cleaned, CleanOptions, ValueType

if TYPE_CHECKING:
    from phonenumbers.phonemetadata import PhoneMetadata

_DEFAULT_OPTIONS = CleanOptions()

NO_REGION = "national number without a default region; set phone_region in the mapping"
NOT_A_PHONE = "not a phone number"
UNKNOWN_COUNTRY_CODE = "unknown country calling code"

_ALLOWED = re.compile(r"\+?[0-9 \t\-./()\u00a0]+")
_IDD_00 = re.compile(r"^[^0-9]*0[^0-9]*0")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_NOT_DIGIT = re.compile(r"[^0-9+]")


@functools.lru_cache(maxsize=1)
def _supported_regions() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _region(options: CleanOptions) -> str | None:
    region = options.phone_region
    if region is None:
        return None
    code = region.strip().upper()
    if code not in _supported_regions():
        raise MappingError(f"phone_region {region!r} is not a known ISO 3166 alpha-2 region")
    return code


# The number types phonenumbers tries, in its order; a number is valid when its region's
# general description and at least one of these match.
_TYPE_DESCS = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
    "pager", "uan", "voicemail", "fixed_line", "mobile",
)  # fmt: skip


@dataclass(frozen=True)
class _RegionCheck:
    """One region's validity test, compiled once: phonenumbers' ``_number_type_helper(...)
    != UNKNOWN`` with the type patterns merged per number length (one regex match instead
    of up to eleven)."""

    lengths: frozenset[int]
    general: re.Pattern[str] | None
    by_length: dict[int, re.Pattern[str]]
    any_length: re.Pattern[str] | None
    leading: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None

    @classmethod
    def of(cls, md: PhoneMetadata) -> _RegionCheck:
        g = md.general_desc
        fixed: dict[int, list[str]] = {}
        open_: list[str] = []
        for name in _TYPE_DESCS:
            d = getattr(md, name)
            if d is None or not d.national_number_pattern:
                continue
            if d.possible_length:
                for n in d.possible_length:
                    fixed.setdefault(n, []).append(d.national_number_pattern)
            else:
                open_.append(d.national_number_pattern)

        def merged(pats: list[str]) -> re.Pattern[str]:
            return re.compile("|".join(f"(?:{p})" for p in pats))

        return cls(
            frozenset(g.possible_length or ()) if g else frozenset(),
            re.compile(g.national_number_pattern) if g and g.national_number_pattern else None,
            {n: merged(pats + open_) for n, pats in fixed.items()},
            merged(open_) if open_ else None,
            re.compile(md.leading_digits) if md.leading_digits else None,
            re.compile(md.national_prefix_for_parsing) if md.national_prefix_for_parsing else None,
        )

    def valid(self, nsn: str) -> bool:
        if self.general is None or (self.lengths and len(nsn) not in self.lengths):
            return False
        if self.general.fullmatch(nsn) is None:
            return False
        pattern = self.by_length.get(len(nsn), self.any_length)
        return pattern is not None and pattern.fullmatch(nsn) is not None


@functools.cache
def _region_checks(cc: int) -> tuple[_RegionCheck, ...]:
    import phonenumbers
    from phonenumbers.phonemetadata import PhoneMetadata

    out = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()):
        md = PhoneMetadata.metadata_for_region(region, None)
        if md is None:  # non-geographic numbers (+800, ...): left to the full parser
            return ()
        out.append(_RegionCheck.of(md))
    return tuple(out)


def fast_e164(text: str) -> str | None:
    """``text`` when it already is a valid E.164 number, decided without a full parse.

    ``None`` means "not decided here": the caller runs phonenumbers' parser. Only plain
    ``+<digits>`` input qualifies, and only where the parser would neither strip a national
    prefix nor keep leading zeros, so whatever this accepts the parser accepts unchanged
    (tests/types/test_types_phone.py checks the two agree). About 20x faster than a parse.
    """
    if _E164.fullmatch(text) is None:
        return None
    import phonenumbers

    digits = text[1:]
    for n in (1, 2, 3):
        cc = int(digits[:n])
        if cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    nsn = digits[n:]
    checks = _region_checks(cc)
    if not checks or len(nsn) < 2 or nsn[0] == "0":
        return None
    main = checks[0]
    if main.lengths and len(nsn) not in main.lengths:
        return None
    if main.national_prefix is not None and main.national_prefix.match(nsn):
        return None
    for chk in checks:  # the region phonenumbers would assign, then validate against it
        if chk.leading is not None:
            if chk.leading.match(nsn):
                return text if chk.valid(nsn) else None
        elif chk.valid(nsn):
            return text
    return None


class PhoneType(ValueType):
    """A telephone number in E.164 form."""

    name: ClassVar[str] = "phone"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "telephone number, E.164 (+<country><number>)"
    matchable: ClassVar[bool] = True
    pivot: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        region = _region(options)
        text = python_text_input(raw)
        if text is None:
            return Cleaned(None)
        text = strip_ws(text)
        if text[:1] == "+" and (fast := fast_e164(text)) is not None:
            return Cleaned(fast)  # already canonical: the common case in operator feeds
        if text.lower().startswith("tel:"):
            text = strip_ws(text[4:])
        if not text:
            return Cleaned(None)
        if _ALLOWED.fullmatch(text) is None:
            return Cleaned(None, NOT_A_PHONE)
        digits = _NOT_DIGIT.sub("", text)
        if not digits.strip("+"):
            return Cleaned(None, NOT_A_PHONE)
        if digits.startswith("00"):
            text = _IDD_00.sub("+", text, count=1)
        elif not digits.startswith("+") and region is None:
            return Cleaned(None, NO_REGION)
        return self._parse(text, region)

    @staticmethod
    def _parse(text: str, region: str | None) -> Cleaned:
        import phonenumbers

        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException as exc:
            if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
                return Cleaned(None, UNKNOWN_COUNTRY_CODE)
            return Cleaned(None, NOT_A_PHONE)
        where = phonenumbers.region_code_for_number(number)
        if not where or where == "ZZ":
            where = phonenumbers.region_code_for_country_code(number.country_code or 0)
        if where == "ZZ":
            return Cleaned(None, UNKNOWN_COUNTRY_CODE)
        if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
            return Cleaned(None, f"not a valid phone number (region {where})")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if _E164.fullmatch(e164) is None:  # phonenumbers accepts some beyond 15 digits
            return Cleaned(None, f"longer than E.164 allows (15 digits): {e164}")
        return Cleaned(e164)

    def validate(self, value: Any) -> bool:
        return (
            isinstance(value, str)
            and _E164.fullmatch(value) is not None
            and super().validate(value)
        )
