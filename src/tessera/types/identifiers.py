"""Device and subscriber identifiers (IMEI, IMSI) and e-mail addresses.

* ``imei``: 15 digits whose last is a Luhn check digit. 14 digits (no check
  digit) get one computed; a 16-digit IMEISV (14 digits + 2-digit software
  version) becomes its IMEI. The all-zero placeholder is rejected, since
  sharing it is no evidence that two records are the same device.
* ``imsi``: 14 or 15 digits starting with a mobile country code 200-799.
* ``email``: trimmed, lower-cased, ``mailto:`` removed, simple syntax check.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tessera.types._common import python_text_input, strip_ws
from tessera.types.base import Cleaned, CleanOptions, Derived, ValueType

_DEFAULT_OPTIONS = CleanOptions()

IMEI_LENGTH = "IMEI must have 14-16 digits"
IMEI_CHECK = "IMEI check digit is wrong"
IMEI_ZERO = "IMEI is all zeros (a placeholder)"
IMSI_LENGTH = "IMSI must have 14 or 15 digits"
NOT_AN_EMAIL = "not an e-mail address"

_IMEI_SEPARATORS = re.compile(r"[\s\-/]")
_IMSI_SEPARATORS = re.compile(r"[\s\-]")
_DIGITS = re.compile(r"[0-9]+")


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit to append to ``digits`` (a string of ASCII digits)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: the digit next to the check digit, then every other
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def _digits_input(raw: Any, separators: re.Pattern[str]) -> str | None:
    """The raw value without separators ("" or None when missing)."""
    if isinstance(raw, bool):
        return "-"  # never all digits: rejected by the caller
    text = python_text_input(raw)
    if text is None:
        return None
    return separators.sub("", strip_ws(text))


class ImeiType(ValueType):
    """International Mobile Equipment Identity, canonically 15 digits."""

    name: ClassVar[str] = "imei"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "mobile device IMEI: 15 digits with a valid Luhn check digit"
    matchable: ClassVar[bool] = True
    pivot: ClassVar[bool] = True
    derived: ClassVar[tuple[Derived, ...]] = (
        Derived("tac", "VARCHAR", "type allocation code: first 8 digits"),
    )

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        digits = _digits_input(raw, _IMEI_SEPARATORS)
        if not digits:
            return Cleaned(None)
        if _DIGITS.fullmatch(digits) is None or not 14 <= len(digits) <= 16:
            return Cleaned(None, IMEI_LENGTH)
        if len(digits) == 15:
            if luhn_check_digit(digits[:14]) != digits[14]:
                return Cleaned(None, IMEI_CHECK)
            value = digits
        else:
            value = digits[:14] + luhn_check_digit(digits[:14])
        if value.strip("0") == "":
            return Cleaned(None, IMEI_ZERO)
        return Cleaned(value)

    def derive(self, value: Any) -> dict[str, Any]:
        return {"tac": value[:8] if isinstance(value, str) else None}


class ImsiType(ValueType):
    """International Mobile Subscriber Identity: MCC + MNC + MSIN."""

    name: ClassVar[str] = "imsi"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "SIM subscriber IMSI: 14-15 digits, MCC 200-799"
    matchable: ClassVar[bool] = True
    pivot: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        digits = _digits_input(raw, _IMSI_SEPARATORS)
        if not digits:
            return Cleaned(None)
        if _DIGITS.fullmatch(digits) is None or len(digits) not in (14, 15):
            return Cleaned(None, IMSI_LENGTH)
        mcc = int(digits[:3])
        if not 200 <= mcc <= 799:
            return Cleaned(None, f"IMSI country code (MCC) {digits[:3]} is not 200-799")
        return Cleaned(digits)


_LOCAL = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[^\W_](?:[^\W_]|-)*(?<!-)")


class EmailType(ValueType):
    """An e-mail address, lower-cased."""

    name: ClassVar[str] = "email"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "e-mail address, trimmed and lower-cased"
    matchable: ClassVar[bool] = True
    pivot: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        text = python_text_input(raw)
        if text is None:
            return Cleaned(None)
        text = strip_ws(text).lower()
        if text.startswith("mailto:"):
            text = strip_ws(text[len("mailto:") :])
        if text.startswith("<") and text.endswith(">"):
            text = text[1:-1]
        if not text:
            return Cleaned(None)
        local, at, domain = text.rpartition("@")
        if not at or len(text) > 254 or len(local) > 64 or _LOCAL.fullmatch(local) is None:
            return Cleaned(None, NOT_AN_EMAIL)
        labels = domain.split(".")
        if len(labels) < 2 or not all(
            _LABEL.fullmatch(label) and len(label) <= 63 for label in labels
        ):
            return Cleaned(None, NOT_AN_EMAIL)
        return Cleaned(text)
