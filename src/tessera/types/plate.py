"""Vehicle licence plates.

The canonical plate is its letters and digits only: NFKC, upper case, with
spaces, dashes, dots, middle dots and any other punctuation removed. Letters
of any script stay (Cyrillic, Greek, CJK characters occur on real plates).

Plates are often read by cameras (ANPR/OCR), which confuse look-alike
characters. The derived ``key`` maps every character to a representative of
its confusion class, so plates that differ only by such confusions share a
key: Cyrillic and Greek capitals that look Latin become Latin (Cyrillic A),
then ``O D Q -> 0``, ``I L -> 1``, ``B -> 8``, ``S -> 5``, ``Z -> 2``,
``G -> 6``. ``compare`` is an edit-distance similarity in which substituting
two characters of the same class costs 0.2 instead of 1.
"""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

from tessera.types._common import python_text_input
from tessera.types.base import Cleaned, CleanOptions, Derived, ValueType

_DEFAULT_OPTIONS = CleanOptions()

MAX_LENGTH = 12
EMPTY = "plate has no letters or digits"
TOO_LONG = f"plate is longer than {MAX_LENGTH} characters"

# Cyrillic letters used on plates because they look Latin, then Greek
# capitals that look Latin (escaped: they are indistinguishable in source).
_HOMOGLYPHS = str.maketrans(
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "ABEKMHOPCTYXABEZHIKMNOPTYX",
)
_CONFUSIONS = str.maketrans("ODQILBSZG", "000118526")
SUBSTITUTION_COST_CONFUSABLE = 0.2


def plate_key(plate: str) -> str:
    """The OCR-confusion key of a clean plate."""
    return plate.translate(_HOMOGLYPHS).translate(_CONFUSIONS)


def confusion_distance(left: str, right: str) -> float:
    """Levenshtein distance; substituting confusable characters costs 0.2."""
    left_keys, right_keys = plate_key(left), plate_key(right)
    previous = [float(j) for j in range(len(right) + 1)]
    for i in range(1, len(left) + 1):
        current = [float(i)] + [0.0] * len(right)
        for j in range(1, len(right) + 1):
            if left[i - 1] == right[j - 1]:
                substitution = 0.0
            elif left_keys[i - 1] == right_keys[j - 1]:
                substitution = SUBSTITUTION_COST_CONFUSABLE
            else:
                substitution = 1.0
            current[j] = min(
                previous[j] + 1.0, current[j - 1] + 1.0, previous[j - 1] + substitution
            )
        previous = current
    return previous[-1]


def _fold(text: str) -> str:
    """NFKC, upper case, letters and digits only; repeated until stable (removing
    characters can make neighbours compose, e.g. Hangul jamo)."""
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
        folded = "".join(char for char in folded if char.isalnum())
        if folded == text:
            break
        text = folded
    return text


class PlateType(ValueType):
    """A licence plate: letters and digits, upper case."""

    name: ClassVar[str] = "plate"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = "vehicle licence plate: letters and digits only, upper case"
    matchable: ClassVar[bool] = True
    pivot: ClassVar[bool] = True
    derived: ClassVar[tuple[Derived, ...]] = (
        Derived("key", "VARCHAR", "OCR-confusion key (look-alike characters merged)"),
    )

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        text = python_text_input(raw)
        if text is None or not text.strip():
            return Cleaned(None)
        plate = _fold(text)
        if not plate:
            return Cleaned(None, EMPTY)
        if len(plate) > MAX_LENGTH:
            return Cleaned(None, TOO_LONG)
        return Cleaned(plate)

    def derive(self, value: Any) -> dict[str, Any]:
        return {"key": plate_key(value) if isinstance(value, str) else None}

    def compare(self, left: Any, right: Any) -> float:
        if left == right:
            return 1.0
        if not isinstance(left, str) or not isinstance(right, str) or not (left or right):
            return 0.0
        cost = confusion_distance(left, right)
        return max(0.0, 1.0 - cost / max(len(left), len(right)))
