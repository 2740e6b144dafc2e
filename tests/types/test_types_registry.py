"""The registry, the declared flags of every type, and lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tessera.errors import MappingError, ModelError
from tessera.types import (
    CleanOptions,
    ValueType,
    all_types,
    get_type,
    type_info,
    type_names,
)
from tessera.types._common import arrow_kind

# name: (sql_type, vectorized, matchable, pivot, derived suffixes)
EXPECTED = {
    "text": ("VARCHAR", True, False, False, []),
    "identifier": ("VARCHAR", True, True, True, []),
    "name": ("VARCHAR", False, True, False, ["latin"]),
    "phone": ("VARCHAR", False, True, True, []),
    "imei": ("VARCHAR", False, True, True, ["tac"]),
    "imsi": ("VARCHAR", False, True, True, []),
    "plate": ("VARCHAR", False, True, True, ["key"]),
    "timestamp": ("TIMESTAMPTZ", True, False, False, []),
    "date": ("DATE", True, False, False, []),
    "float": ("DOUBLE", True, False, False, []),
    "integer": ("BIGINT", True, False, False, []),
    "enum": ("VARCHAR", True, False, False, []),
    "country": ("VARCHAR", False, False, False, []),
    "email": ("VARCHAR", False, True, True, []),
}


def test_names() -> None:
    assert type_names() == sorted(EXPECTED)
    assert [t.name for t in all_types()] == type_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_declared_flags(name: str) -> None:
    vtype = get_type(name)
    assert isinstance(vtype, ValueType)
    assert get_type(name) is vtype  # singletons
    sql_type, vectorized, matchable, pivot, derived = EXPECTED[name]
    assert (vtype.sql_type, vtype.vectorized, vtype.matchable, vtype.pivot) == (
        sql_type,
        vectorized,
        matchable,
        pivot,
    )
    assert [d.suffix for d in vtype.derived] == derived
    assert vtype.description
    assert repr(vtype) == f"<ValueType {name}>"
    info = type_info(name)
    assert (info.name, info.sql_type, info.vectorized) == (name, sql_type, vectorized)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if not e[1]))
def test_non_vectorized_types_have_no_sql(name: str) -> None:
    with pytest.raises(NotImplementedError):
        get_type(name).sql_clean('"c"', "string")


def test_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(ModelError, match=r"'telephone'.*known types: country, date"):
        get_type("telephone")


def test_import_is_lazy() -> None:
    code = (
        "import sys, tessera.types as t\n"
        "t.get_type('text').clean(' a ')\n"
        "mods = ('duckdb', 'pyarrow', 'phonenumbers', 'pypinyin')\n"
        "heavy = [m for m in mods if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("arrow_type", "kind"),
    [
        ("string", "string"),
        ("large_string", "string"),
        ("dictionary<values=string, indices=int32, ordered=0>", "string"),
        ("int64", "integer"),
        ("uint8", "integer"),
        ("double", "float"),
        ("halffloat", "float"),
        ("decimal128(10, 2)", "decimal"),
        ("bool", "bool"),
        ("timestamp[ms]", "timestamp"),
        ("timestamp[us, tz=UTC]", "timestamp_tz"),
        ("date32[day]", "date"),
        ("null", "null"),
    ],
)
def test_arrow_kind(arrow_type: str, kind: str) -> None:
    assert arrow_kind(arrow_type) == kind


def test_unsupported_arrow_type() -> None:
    with pytest.raises(MappingError):
        arrow_kind("list<item: string>")
    with pytest.raises(MappingError):
        get_type("float").sql_clean('"c"', "bool", CleanOptions())
