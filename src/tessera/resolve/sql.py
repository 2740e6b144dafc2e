"""SQL building blocks for resolution features (canonical dialect, no engine import).

Every helper takes an SQL expression and returns an SQL expression, so that the
feature queries in :mod:`tessera.resolve.kinds` read as a list of named columns.
They work on the lower-case ASCII ``*_latin`` columns the name type derives at
ingest (Hanzi already in pinyin, Cyrillic transliterated).
"""

from __future__ import annotations

# Spelling differences between transliteration systems (ISO 9, BGN/PCGN, German
# Duden, French, passport practice) folded into one form, in order. Applied to both
# sides of a comparison, so a fold only has to be consistent, not linguistically right.
_TRANSLIT_FOLDS: tuple[tuple[str, str], ...] = (
    ("tsch", "ch"),
    ("sch", "sh"),
    ("tz", "ts"),
    ("kh", "h"),
    ("ch", "h"),
    ("ph", "f"),
    ("w", "v"),
    ("j", "i"),
    ("y", "i"),
    ("ks", "x"),
    ("z", "s"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("io", "e"),
    ("eo", "e"),
    ("gu", "g"),
    ("ss", "s"),
    ("ll", "l"),
    ("nn", "n"),
    ("mm", "m"),
    ("tt", "t"),
    ("rr", "r"),
    ("dd", "d"),
    ("ff", "f"),
    ("ii", "i"),
)


def translit(expr: str) -> str:
    """Fold transliteration variants: Iwanow, Ivanoff and Ivanov become ``ivanov``;
    Sergej, Sergey and Serguei become ``sergei``; a trailing ``off`` becomes ``ov``."""
    out = f"regexp_replace({expr}, 'off$', 'ov')"
    for old, new in _TRANSLIT_FOLDS:
        out = f"replace({out}, '{old}', '{new}')"
    # Elena, Jelena, Yelena
    return f"regexp_replace({out}, '^ie', 'e')"


def skeleton(expr: str) -> str:
    """Consonant skeleton of a folded name (vowels, ``h`` and spaces dropped):
    Mohammed, Muhammad and Mohamed all become ``mmd``."""
    return f"regexp_replace({expr}, '[aeiouh ]', '', 'g')"


def tokens(expr: str) -> str:
    """Words of a lower-case ASCII text as a list (empty words dropped)."""
    text = f"trim(regexp_replace({expr}, '[^a-z0-9]+', ' ', 'g'))"
    return f"CASE WHEN {text} <> '' THEN string_split({text}, ' ') END"


def joined(expr: str) -> str:
    """A name with its spaces removed: ``xiao ming`` and ``xiaoming`` compare equal."""
    return f"nullif(replace({expr}, ' ', ''), '')"


def order_free_key(a: str, b: str) -> str:
    """One key for a pair of name parts, whatever their order."""
    return (
        f"CASE WHEN {a} IS NULL AND {b} IS NULL THEN NULL "
        f"ELSE least(coalesce({a}, ''), coalesce({b}, '')) || '|' || "
        f"greatest(coalesce({a}, ''), coalesce({b}, '')) END"
    )


def token_jaccard(left: str, right: str) -> str:
    """Jaccard similarity of two token lists (SQL, for comparison levels)."""
    return (
        f"(len(list_intersect({left}, {right}))::DOUBLE / "
        f"greatest(len(list_distinct(list_concat({left}, {right}))), 1))"
    )


def address_key(expr: str) -> str:
    """An address folded for comparison: lower-case ASCII, street-word variants unified."""
    out = f"lower({expr})"
    for old, new in (("ß", "ss"), ("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        out = f"replace({out}, '{old}', '{new}')"
    out = f"regexp_replace({out}, 'str\\.|strasse', 'str', 'g')"
    return out


# Name particles that registries write or leave out at will ("Al-Haddad", "Haddad",
# "Omar Al Shamsi"): the Arabic article in its usual transliterations. A particle
# word is dropped from a name unless it is the name's only word.
NAME_PARTICLES: tuple[str, ...] = ("al", "el")


def without_particles(expr: str) -> str:
    """A lower-case name without its particle words (:data:`NAME_PARTICLES`):
    ``al haddad`` and ``omar al shamsi`` become ``haddad`` and ``omar shamsi``; a name
    that is only a particle, and NULL, stay as they are. Words are separated by spaces
    or hyphens (``al-haddad``)."""
    words = "|".join(NAME_PARTICLES)
    padded = f"(' ' || regexp_replace({expr}, '[\\s\\-]+', ' ', 'g') || ' ')"
    # twice: the first pass consumes the space that ends one particle and starts the next
    once = f"regexp_replace({padded}, ' ({words}) ', ' ', 'g')"
    stripped = f"trim(regexp_replace({once}, ' ({words}) ', ' ', 'g'))"
    return f"CASE WHEN {stripped} <> '' THEN {stripped} ELSE {expr} END"
