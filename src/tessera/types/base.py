"""The value-type protocol: one class per kind of value (phone, IMEI, plate, ...).

Each type knows how to

* ``clean`` a raw source string into its canonical form (or say why it cannot),
* ``validate`` that a value already is canonical,
* ``compare`` two canonical values (similarity in [0, 1]),
* optionally ``derive`` extra canonical columns from a clean value (a name's
  Latin form, a plate's OCR-confusion key), and
* when ``vectorized`` is true, express cleaning as SQL (``sql_clean``) so that
  ingest never loops over rows in Python. Types that are not vectorized are
  cleaned once per *distinct* raw value in Python and joined back.

``matchable`` says whether two entities sharing a value of this type are
evidence of sameness; ``pivot`` says whether the value is worth a "what else
shares this value" lookup (followthemoney's flags of the same names).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple


class Cleaned(NamedTuple):
    """Result of cleaning one raw value.

    ``value is None and error is None`` means the raw value was missing/blank.
    ``error`` is a short human reason, e.g. ``"IMEI check digit is wrong"``.
    """

    value: Any
    error: str | None = None


@dataclass(frozen=True)
class CleanOptions:
    """Per-source or per-column options that steer cleaning.

    * ``phone_region``: ISO 3166 alpha-2 default region for national numbers.
    * ``timezone``: IANA zone for timestamps that carry none.
    * ``formats``: strptime patterns tried in order (timestamps, dates), or
      the special values ``"epoch_s"`` / ``"epoch_ms"``. Empty means ISO 8601.
    * ``minimum`` / ``maximum``: inclusive bounds for numbers.
    * ``values``: for enums, the allowed canonical values.
    * ``aliases``: for enums, raw value (case-insensitive) to canonical value.
    """

    phone_region: str | None = None
    timezone: str | None = None
    formats: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SqlClean:
    """SQL (DuckDB dialect) that cleans one column.

    * ``value``: expression of the canonical value (NULL when missing or invalid);
    * ``invalid``: boolean expression, true when a non-missing raw value is invalid;
    * ``reason``: VARCHAR expression explaining the failure (evaluated only when invalid).
    """

    value: str
    invalid: str
    reason: str


@dataclass(frozen=True)
class Derived:
    """A column derived from a cleaned value: stored as ``<property>_<suffix>``."""

    suffix: str
    sql_type: str
    description: str


class ValueType(ABC):
    """Base class of value types; subclasses are stateless singletons."""

    name: ClassVar[str]
    sql_type: ClassVar[str]  # DuckDB storage type of the canonical value
    description: ClassVar[str]
    matchable: ClassVar[bool] = False
    pivot: ClassVar[bool] = False
    vectorized: ClassVar[bool] = False
    derived: ClassVar[tuple[Derived, ...]] = ()

    @abstractmethod
    def clean(self, raw: Any, options: CleanOptions = CleanOptions()) -> Cleaned:
        """Clean one raw value (usually ``str``; ``None`` or blank means missing)."""

    def validate(self, value: Any) -> bool:
        """True when ``value`` is already a canonical value of this type."""
        cleaned = self.clean(value)
        return cleaned.error is None and cleaned.value == value

    def compare(self, left: Any, right: Any) -> float:
        """Similarity of two canonical values in [0, 1]; 1.0 means the same."""
        return 1.0 if left == right else 0.0

    def derive(self, value: Any) -> dict[str, Any]:
        """Derived values of a clean value, keyed by ``Derived.suffix``."""
        return {}

    def sql_clean(
        self, column: str, arrow_type: str, options: CleanOptions = CleanOptions()
    ) -> SqlClean:
        """SQL cleaning of ``column`` (a quoted identifier) whose Arrow type is
        ``arrow_type`` (``str(pyarrow.DataType)``, e.g. ``"string"``,
        ``"double"``, ``"timestamp[ms, tz=UTC]"``). Only for vectorized types."""
        raise NotImplementedError(f"value type {self.name!r} is not vectorized")

    def __repr__(self) -> str:
        return f"<ValueType {self.name}>"


@dataclass(frozen=True)
class TypeInfo:
    """Public, documentation-friendly description of a registered type."""

    name: str
    sql_type: str
    description: str
    matchable: bool
    pivot: bool
    vectorized: bool
    derived: tuple[Derived, ...] = field(default_factory=tuple)
