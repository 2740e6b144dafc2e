"""Value types and their registry.

``get_type("phone")`` returns the stateless singleton of a type; see
:mod:`tessera.types.base` for the protocol. Importing this package is cheap:
heavy libraries (duckdb, pyarrow, phonenumbers, pypinyin) are imported only
by the functions that need them.
"""

from __future__ import annotations

from tessera.errors import ModelError
from tessera.types.base import Cleaned, CleanOptions, Derived, SqlClean, TypeInfo, ValueType
from tessera.types.enum import CountryType, EnumType
from tessera.types.identifiers import EmailType, ImeiType, ImsiType
from tessera.types.name import NameType
from tessera.types.numeric import FloatType, IntegerType
from tessera.types.phone import PhoneType
from tessera.types.plate import PlateType
from tessera.types.temporal import DateType, TimestampType
from tessera.types.text import IdentifierType, TextType

__all__ = [
    "CleanOptions",
    "Cleaned",
    "Derived",
    "SqlClean",
    "TypeInfo",
    "ValueType",
    "all_types",
    "get_type",
    "type_info",
    "type_names",
]

_TYPES: dict[str, ValueType] = {
    t.name: t
    for t in (
        TextType(),
        IdentifierType(),
        NameType(),
        PhoneType(),
        ImeiType(),
        ImsiType(),
        PlateType(),
        TimestampType(),
        DateType(),
        FloatType(),
        IntegerType(),
        EnumType(),
        CountryType(),
        EmailType(),
    )
}


def get_type(name: str) -> ValueType:
    """The registered value type called ``name``; ModelError if there is none."""
    try:
        return _TYPES[name]
    except (KeyError, TypeError):
        known = ", ".join(type_names())
        raise ModelError(f"unknown value type {name!r}; known types: {known}") from None


def type_names() -> list[str]:
    """Names of all registered value types, sorted."""
    return sorted(_TYPES)


def all_types() -> list[ValueType]:
    """All registered value types, sorted by name."""
    return [_TYPES[name] for name in type_names()]


def type_info(name: str) -> TypeInfo:
    """A documentation-friendly description of one type."""
    t = get_type(name)
    return TypeInfo(
        name=t.name,
        sql_type=t.sql_type,
        description=t.description,
        matchable=t.matchable,
        pivot=t.pivot,
        vectorized=t.vectorized,
        derived=t.derived,
    )
