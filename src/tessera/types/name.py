"""Names of people and organisations.

``clean`` keeps the name as written (script and case): NFC, whitespace
collapsed, trimmed. The derived ``latin`` form is what matching compares: a
lower-case ASCII rendering in which

* Chinese characters become toneless pinyin (``pypinyin``); in a name of two
  to four characters the first (or a known two-character compound surname)
  is the family name and the remaining syllables form one given name, so
  ``王小明`` becomes ``wang xiaoming``, as in passports;
* other scripts are transliterated with ``anyascii`` (``Дмитрий`` ->
  ``dmitriy``, ``José`` -> ``jose``);
* hyphens and name separators (``·``, ``,``) become spaces, other punctuation
  is dropped, whitespace collapsed.

``compare`` is order-insensitive: tokens are matched with Jaro-Winkler in
both directions, after merging tokens of one name that together spell a
token of the other (``xiao ming`` vs ``xiaoming``), and the space-less
concatenations of the sorted tokens are compared too; the best score wins.
Raw Jaro-Winkler scores of unrelated strings are around 0.5, so scores are
rescaled to make 0.5 and below count as nothing.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any, ClassVar

from tessera.types._common import normalize_text, python_text_input
from tessera.types.base import Cleaned, CleanOptions, Derived, ValueType

_DEFAULT_OPTIONS = CleanOptions()

_HAN = (
    "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002a6df\U0002a700-\U0002ebef\U00030000-\U0003134f"
)
_HAN_SPLIT = re.compile(f"([{_HAN}]+)")
_ONLY_HAN = re.compile(f"[{_HAN}]+")
_SEPARATORS = re.compile(r"[\-\u2010-\u2015\u00b7\u2022\u2027\u30fb\u318d,;/_]")
_NOT_LATIN = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")

# Two-character Chinese surnames (the common ones).
_COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "令狐",
        "端木",
        "轩辕",
        "澹台",
        "南宫",
        "独孤",
        "西门",
        "闻人",
        "赫连",
        "申屠",
        "呼延",
        "完颜",
        "太史",
        "公冶",
        "濮阳",
        "钟离",
    ]
)

MAX_TOKENS_FOR_MERGE = 8


@functools.lru_cache(maxsize=4096)
def _pinyin(han: str) -> tuple[str, ...]:
    from anyascii import anyascii
    from pypinyin import lazy_pinyin

    # v_to_u then anyascii: 吕 -> "lu" (the pre-2012 passport spelling).
    return tuple(anyascii(s).lower() for s in lazy_pinyin(han, v_to_u=True))


def _han_token(token: str, *, whole_name: bool) -> list[str]:
    syllables = list(_pinyin(token))
    if whole_name and 2 <= len(token) <= 4:
        family = 2 if len(token) >= 3 and token[:2] in _COMPOUND_SURNAMES else 1
        return ["".join(syllables[:family]), "".join(syllables[family:])]
    return ["".join(syllables)]


def _other_token(token: str) -> list[str]:
    from anyascii import anyascii

    # re.split with a group alternates non-Han and Han parts.
    parts = _HAN_SPLIT.split(token)
    text = " ".join(
        "".join(_pinyin(part)) if index % 2 else anyascii(part) for index, part in enumerate(parts)
    )
    return _NOT_LATIN.sub("", _SEPARATORS.sub(" ", text.lower())).split()


@functools.lru_cache(maxsize=65536)
def latin_name(name: str) -> str:
    """The lower-case ASCII form of a (clean) name; see the module docstring."""
    text = unicodedata.normalize("NFKC", name)
    tokens = _SEPARATORS.sub(" ", text).split()
    out: list[str] = []
    for token in tokens:
        if _ONLY_HAN.fullmatch(token):
            out.extend(_han_token(token, whole_name=len(tokens) == 1))
        else:
            out.extend(_other_token(token))
    return _SPACES.sub(" ", " ".join(out)).strip()


def jaro_winkler(left: str, right: str, *, prefix_scale: float = 0.1) -> float:
    """Jaro-Winkler similarity in [0, 1] (common prefix up to 4 characters).

    The greedy matching of Jaro is not always symmetric; the arguments are put
    in a fixed order so that ``jaro_winkler(a, b) == jaro_winkler(b, a)``.
    """
    if left > right:
        left, right = right, left
    if left == right:
        return 1.0
    if not left or not right:
        return 0.0
    window = max(0, max(len(left), len(right)) // 2 - 1)
    left_matched = [False] * len(left)
    right_matched = [False] * len(right)
    matches = 0
    for i, char in enumerate(left):
        for j in range(max(0, i - window), min(len(right), i + window + 1)):
            if not right_matched[j] and right[j] == char:
                left_matched[i] = right_matched[j] = True
                matches += 1
                break
    if matches == 0:
        return 0.0
    left_chars = [c for c, m in zip(left, left_matched, strict=True) if m]
    right_chars = [c for c, m in zip(right, right_matched, strict=True) if m]
    transpositions = sum(a != b for a, b in zip(left_chars, right_chars, strict=True)) / 2
    jaro = (matches / len(left) + matches / len(right) + (matches - transpositions) / matches) / 3
    prefix = 0
    for a, b in zip(left[:4], right[:4], strict=False):
        if a != b:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


def _rescale(score: float) -> float:
    """Map Jaro-Winkler's "unrelated" level (0.5 and below) to 0."""
    return max(0.0, (score - 0.5) / 0.5)


def _token_score(left: list[str], right: list[str]) -> float:
    """Symmetric Monge-Elkan over rescaled Jaro-Winkler token similarities."""

    def directed(a: list[str], b: list[str]) -> float:
        return sum(max(_rescale(jaro_winkler(x, y)) for y in b) for x in a) / len(a)

    return (directed(left, right) + directed(right, left)) / 2


def _merge_into(tokens: list[str], targets: list[str]) -> list[str]:
    """Replace tokens that together spell one of ``targets`` by that target.

    Works on the sorted multiset, so the result does not depend on order.
    """
    remaining = sorted(tokens)
    if len(remaining) > MAX_TOKENS_FOR_MERGE:
        return remaining
    merged: list[str] = []
    for target in sorted(set(targets), key=lambda t: (-len(t), t)):
        if target in remaining:
            continue
        used = _spell(target, remaining)
        if used is not None and len(used) > 1:
            for token in used:
                remaining.remove(token)
            merged.append(target)
    return sorted(merged + remaining)


def _spell(target: str, tokens: list[str]) -> list[str] | None:
    """Tokens (each used once) whose concatenation in some order is ``target``."""
    if not target:
        return []
    for index, token in enumerate(tokens):
        if token and target.startswith(token):
            rest = _spell(target[len(token) :], tokens[:index] + tokens[index + 1 :])
            if rest is not None:
                return [token, *rest]
    return None


@functools.lru_cache(maxsize=65536)
def compare_latin(left: str, right: str) -> float:
    """Similarity of two latin forms (see the module docstring)."""
    if left == right:
        return 1.0
    a, b = left.split(), right.split()
    if not a or not b:
        return 0.0
    if sorted(a) == sorted(b):
        return 1.0
    scores = [
        _token_score(_merge_into(a, b), b),
        _token_score(a, _merge_into(b, a)),
        _rescale(jaro_winkler("".join(sorted(a)), "".join(sorted(b)))),
    ]
    return min(1.0, max(scores))


class NameType(ValueType):
    """A person's or organisation's name, kept as written."""

    name: ClassVar[str] = "name"
    sql_type: ClassVar[str] = "VARCHAR"
    description: ClassVar[str] = (
        "person or organisation name as written; derived latin form for matching"
    )
    matchable: ClassVar[bool] = True
    derived: ClassVar[tuple[Derived, ...]] = (
        Derived("latin", "VARCHAR", "lower-case ASCII form (pinyin, transliteration)"),
    )

    def clean(self, raw: Any, options: CleanOptions = _DEFAULT_OPTIONS) -> Cleaned:
        text = python_text_input(raw)
        if text is None:
            return Cleaned(None)
        return Cleaned(normalize_text(text) or None)

    def derive(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, str):
            return {"latin": None}
        return {"latin": latin_name(value) or None}

    def compare(self, left: Any, right: Any) -> float:
        if left == right:
            return 1.0
        if not isinstance(left, str) or not isinstance(right, str):
            return 0.0
        return compare_latin(latin_name(left), latin_name(right))
