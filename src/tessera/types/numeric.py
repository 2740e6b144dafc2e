"""Numbers: ``float`` (DOUBLE) and ``integer`` (BIGINT).

Strings are trimmed and must look like a plain decimal number; ``float``
also accepts a decimal comma when there is no dot (``"12,5"``) and an
exponent, ``integer`` also accepts a zero fraction (``"12.0"``, common in
spreadsheet exports). NaN and infinities are invalid, as are values outside
``options.minimum`` / ``options.maximum`` (inclusive bounds).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, ClassVar

from tessera.errors import MappingError
from tessera.types._common import arrow_kind, format_number, sql_strip, strip_ws
from tessera.types.base import Cleaned, CleanOptions, SqlClean, ValueType

_DEFAULT_OPTIONS = CleanOptions()

_FLOAT_RE = r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?"
_INT_RE = r"[+-]?[0-9]+(?:\.0*)?"
_FLOAT = re.compile(_FLOAT_RE)
_INT = re.compile(_INT_RE)

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

NOT_A_NUMBER = "not a number"
NOT_AN_INTEGER = "not an integer"
NOT_FINITE = "value is not finite"
OUT_OF_RANGE = "integer out of range"


def _check_bound(name: str, bound: float | None) -> float | None:
    if bound is None:
        return None
    if isinstance(bound, bool) or not isinstance(bound, int | float) or math.isnan(bound):
        raise MappingError(f"{name} must be a number, not {bound!r}")
    return None if math.isinf(bound) else float(bound)


def _bounds(options: CleanOptions) -> tuple[float | None, float | None]:
    return _check_bound("minimum", options.minimum), _check_bound("maximum", options.maximum)


def _bound_reason(value: str, minimum: float | None, maximum: float | None, x: float) -> str | None:
    if minimum is not None and x < minimum:
        return f"value {value} below minimum {format_number(minimum)}"
    if maximum is not None and x > maximum:
        return f"value {value} above maximum {format_number(maximum)}"
    return None


def _sql_double(value: float) -> str:
    return f"CAST('{value!r}' AS DOUBLE)"


class FloatType(ValueType):
    """A finite floating-point number."""

    name: ClassVar[str] = "float"
    sql_type: ClassVar[str] = "DOUBLE"
    description: ClassVar[str] = "finite number (decimal comma accepted), optional bounds"
    vectorized: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        minimum, maximum = _bounds(options)
        if raw is None:
            return Cleaned(None)
        if isinstance(raw, bool):
            return Cleaned(None, NOT_A_NUMBER)
        if isinstance(raw, str):
            text = strip_ws(raw)
            if not text:
                return Cleaned(None)
            if _FLOAT.fullmatch(text) is None:
                return Cleaned(None, NOT_A_NUMBER)
            x = float(text.replace(",", "."))
        elif isinstance(raw, int | float | Decimal):
            try:
                x = float(raw)
            except OverflowError:
                return Cleaned(None, NOT_FINITE)
        else:
            return Cleaned(None, NOT_A_NUMBER)
        if not math.isfinite(x):
            return Cleaned(None, NOT_FINITE)
        x += 0.0  # -0.0 becomes 0.0
        reason = _bound_reason(repr(x), minimum, maximum, x)
        if reason is not None:
            return Cleaned(None, reason)
        return Cleaned(x)

    def validate(self, value: Any) -> bool:
        return isinstance(value, float) and super().validate(value)

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = _DEFAULT_OPTIONS
    ) -> SqlClean:
        minimum, maximum = _bounds(options)
        kind = arrow_kind(arrow_type)
        if kind == "null":
            return SqlClean("CAST(NULL AS DOUBLE)", "FALSE", "CAST(NULL AS VARCHAR)")
        if kind == "string":
            text = sql_strip(column)
            present = f"({text} IS NOT NULL)"
            syntax = f"regexp_full_match({text}, '{_FLOAT_RE}')"
            x = f"(CASE WHEN {syntax} THEN try_cast(replace({text}, ',', '.') AS DOUBLE) END + 0.0)"
        elif kind in ("integer", "float", "decimal"):
            present = f"({column} IS NOT NULL)"
            syntax = "TRUE"
            x = f"(CAST({column} AS DOUBLE) + 0.0)"
        else:
            raise MappingError(f"cannot clean a column of Arrow type {arrow_type} as float")
        finite = f"coalesce(isfinite({x}), FALSE)"
        in_bounds = [finite]
        reasons = [
            f"WHEN NOT {syntax} THEN '{NOT_A_NUMBER}'",
            f"WHEN NOT {finite} THEN '{NOT_FINITE}'",
        ]
        if minimum is not None:
            in_bounds.append(f"{x} >= {_sql_double(minimum)}")
            reasons.append(
                f"WHEN {x} < {_sql_double(minimum)} THEN 'value ' || CAST({x} AS VARCHAR) || "
                f"' below minimum {format_number(minimum)}'"
            )
        if maximum is not None:
            in_bounds.append(f"{x} <= {_sql_double(maximum)}")
            reasons.append(
                f"WHEN {x} > {_sql_double(maximum)} THEN 'value ' || CAST({x} AS VARCHAR) || "
                f"' above maximum {format_number(maximum)}'"
            )
        value = f"CASE WHEN {' AND '.join(in_bounds)} THEN {x} END"
        return SqlClean(
            value=value,
            invalid=f"({present} AND ({value}) IS NULL)",
            reason=f"CASE {' '.join(reasons)} END",
        )


def _int_bounds(options: CleanOptions) -> tuple[float | None, float | None, int, int]:
    """Float bounds (for messages) and the equivalent inclusive int64 bounds."""
    minimum, maximum = _bounds(options)
    low = _INT64_MIN if minimum is None else max(_INT64_MIN, math.ceil(minimum))
    high = _INT64_MAX if maximum is None else min(_INT64_MAX, math.floor(maximum))
    return minimum, maximum, low, high


class IntegerType(ValueType):
    """A 64-bit signed integer."""

    name: ClassVar[str] = "integer"
    sql_type: ClassVar[str] = "BIGINT"
    description: ClassVar[str] = '64-bit integer ("12.0" accepted), optional bounds'
    vectorized: ClassVar[bool] = True

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        minimum, maximum, low, high = _int_bounds(options)
        if raw is None:
            return Cleaned(None)
        if isinstance(raw, bool):
            return Cleaned(None, NOT_AN_INTEGER)
        if isinstance(raw, str):
            text = strip_ws(raw)
            if not text:
                return Cleaned(None)
            if _INT.fullmatch(text) is None:
                return Cleaned(None, NOT_AN_INTEGER)
            value = int(text.split(".", 1)[0])
        elif isinstance(raw, int):
            value = raw
        elif isinstance(raw, float | Decimal):
            if not math.isfinite(raw):
                return Cleaned(None, NOT_FINITE)
            if raw != int(raw):
                return Cleaned(None, NOT_AN_INTEGER)
            value = int(raw)
        else:
            return Cleaned(None, NOT_AN_INTEGER)
        if not _INT64_MIN <= value <= _INT64_MAX:
            return Cleaned(None, OUT_OF_RANGE)
        if value < low:
            return Cleaned(None, _bound_reason(str(value), minimum, None, value))
        if value > high:
            return Cleaned(None, _bound_reason(str(value), None, maximum, value))
        return Cleaned(value)

    def validate(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and super().validate(value)

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = _DEFAULT_OPTIONS
    ) -> SqlClean:
        minimum, maximum, low, high = _int_bounds(options)
        kind = arrow_kind(arrow_type)
        if kind == "null":
            return SqlClean("CAST(NULL AS BIGINT)", "FALSE", "CAST(NULL AS VARCHAR)")
        reasons: list[str] = []
        if kind == "string":
            text = sql_strip(column)
            present = f"({text} IS NOT NULL)"
            syntax = f"regexp_full_match({text}, '{_INT_RE}')"
            v = (
                f"(CASE WHEN {syntax} THEN "
                f"try_cast(regexp_replace({text}, '\\.0*$', '') AS BIGINT) END)"
            )
            reasons.append(f"WHEN NOT {syntax} THEN '{NOT_AN_INTEGER}'")
        elif kind == "integer":
            present = f"({column} IS NOT NULL)"
            v = f"try_cast({column} AS BIGINT)"
        elif kind in ("float", "decimal"):
            present = f"({column} IS NOT NULL)"
            x = f"CAST({column} AS DOUBLE)"
            finite = f"isfinite({x})"
            integral = f"({x} = trunc({x}))"
            fits = f"({x} >= -9223372036854775808.0 AND {x} < 9223372036854775808.0)"
            v = f"(CASE WHEN {finite} AND {integral} AND {fits} THEN CAST({x} AS BIGINT) END)"
            reasons.append(f"WHEN NOT {finite} THEN '{NOT_FINITE}'")
            reasons.append(f"WHEN NOT {integral} THEN '{NOT_AN_INTEGER}'")
        else:
            raise MappingError(f"cannot clean a column of Arrow type {arrow_type} as integer")
        reasons.append(f"WHEN {v} IS NULL THEN '{OUT_OF_RANGE}'")
        checks = []
        if low > _INT64_MIN or minimum is not None:
            checks.append(f"{v} >= {low}")
            reasons.append(
                f"WHEN {v} < {low} THEN 'value ' || CAST({v} AS VARCHAR) || "
                f"' below minimum {format_number(minimum if minimum is not None else low)}'"
            )
        if high < _INT64_MAX or maximum is not None:
            checks.append(f"{v} <= {high}")
            reasons.append(
                f"WHEN {v} > {high} THEN 'value ' || CAST({v} AS VARCHAR) || "
                f"' above maximum {format_number(maximum if maximum is not None else high)}'"
            )
        value = f"CASE WHEN {' AND '.join(checks)} THEN {v} END" if checks else v
        return SqlClean(
            value=value,
            invalid=f"({present} AND ({value}) IS NULL)",
            reason=f"CASE {' '.join(reasons)} END",
        )
