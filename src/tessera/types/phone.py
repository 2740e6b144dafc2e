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
from typing import Any, ClassVar

from tessera.errors import MappingError
from tessera.types._common import python_text_input, strip_ws
from tessera.types.base import Cleaned, CleanOptions, ValueType

_DEFAULT_OPTIONS = CleanOptions()

NO_REGION = "national number without a default region; set phone_region in the mapping"
NOT_A_PHONE = "not a phone number"
UNKNOWN_COUNTRY_CODE = "unknown country calling code"

_ALLOWED = re.compile(r"\+?[0-9 \t\-./()\u00a0]+")
_IDD_00 = re.compile(r"^[^0-9]*0[^0-9]*0")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


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
        if text.lower().startswith("tel:"):
            text = strip_ws(text[4:])
        if not text:
            return Cleaned(None)
        if _ALLOWED.fullmatch(text) is None:
            return Cleaned(None, NOT_A_PHONE)
        digits = re.sub(r"[^0-9+]", "", text)
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
        return Cleaned(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    def validate(self, value: Any) -> bool:
        return (
            isinstance(value, str)
            and _E164.fullmatch(value) is not None
            and super().validate(value)
        )
