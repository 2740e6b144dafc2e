"""What is resolved, and how: one :class:`KindSpec` per entity kind.

A spec is plain data with no engine import (STYLE.md practice 1): the query that
turns a source table into comparison features (canonical SQL), the Splink
comparisons, the blocking rules that generate candidate pairs, the blocking rules
EM trains under, and the deterministic rules that estimate the prior. Splink
creators are built lazily by :meth:`KindSpec.settings`.

People are the hard kind: names written in Hanzi or pinyin, family name first or
last, given-name syllables joined or split, Russian and Arabic names in several
transliterations, nicknames, typos, and birth dates with day and month swapped or
a year off. Name parts are therefore compared **order-free** (either orientation
may match) after transliteration folding (:mod:`tessera.resolve.sql`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tessera.resolve.nicknames import nickname_values_sql
from tessera.resolve.sql import (
    address_key,
    joined,
    order_free_key,
    skeleton,
    token_jaccard,
    tokens,
    translit,
    without_particles,
)

if TYPE_CHECKING:
    from tessera.engines.base import Engine

# The version of the estimation procedure (tessera.resolve.stage._train), part of every
# model's fingerprint: a change that alters what the same comparisons estimate bumps it,
# so that stored models are estimated anew (2: u from every sampled pair)
ESTIMATION_VERSION = 2


@dataclass(frozen=True)
class KindSpec:
    """How one entity kind is resolved."""

    kind: str
    table: str
    description: str
    features: Callable[[], str]
    comparisons: Callable[[], list[Any]]
    blocking: tuple[str, ...]
    training_blocks: tuple[str, ...]
    prior_rules: tuple[str, ...]
    prior_recall: float = 0.8
    # re-estimate the prior from the trained model's scores of the candidate pairs
    # (stage.prior_from_pairs); the deterministic rules only give its starting point
    prior_from_pairs: bool = True
    # pairs at or above this probability may join records (see cluster.py) ...
    threshold: float = 0.9
    # ... and pairs at or above this one count as support between two clusters
    support: float = 0.5
    # share of the cross pairs between two clusters that must support their merge
    density: float = 0.5
    # pairs kept (with their explanation) for clustering and review
    keep: float = 0.01
    # record pairs sampled to estimate u
    u_pairs: float = 2e6
    # a condition over two records' features (``l.<col>``, ``r.<col>``, as in the
    # blocking rules) under which they are never one entity, by the kind's definition,
    # whatever their weights (two numbers are two lines): clustering keeps them apart
    apart: str | None = None

    def structure(self) -> str:
        """A fingerprint of what an estimated model depends on: the estimation
        procedure's version, the features query, the comparisons (level conditions,
        term-frequency columns, fixed m), the blocking and training rules and the
        estimation settings. A stored model whose
        fingerprint differs was estimated for other comparisons and is not reused."""
        import hashlib
        import json

        comparisons = [
            (
                c["output_column_name"],
                [
                    (
                        level["sql_condition"],
                        level.get("tf_adjustment_column"),
                        level.get("m_probability") if level.get("fix_m_probability") else None,
                    )
                    for level in c["comparison_levels"]
                ],
            )
            for c in self.settings().create_settings_dict("duckdb")["comparisons"]
        ]
        text = json.dumps(
            [
                ESTIMATION_VERSION,
                self.features(),
                comparisons,
                self.blocking,
                self.training_blocks,
                self.prior_rules,
                self.prior_recall,
                self.prior_from_pairs,
                self.u_pairs,
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def settings(self) -> Any:
        """The Splink settings (a ``SettingsCreator``) for this kind."""
        from splink import SettingsCreator

        return SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="unique_id",
            comparisons=self.comparisons(),
            blocking_rules_to_generate_predictions=[rule(r) for r in self.blocking],
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=True,
            probability_two_random_records_match=1e-4,
        )


def rule(sql: str, engine: Engine | None = None) -> Any:
    """A blocking rule from an SQL condition over ``l`` and ``r`` (canonical dialect),
    for ``engine``'s Splink API (translated to its dialect; canonical without one)."""
    from splink.blocking_rule_library import CustomRule

    if engine is None:
        return CustomRule(sql, sql_dialect="duckdb")
    return CustomRule(engine.splink_condition(sql), sql_dialect=engine.dialect)


def _level(
    sql: str,
    label: str,
    tf: str | None = None,
    tf_floor: float = 1e-4,
    fixed_m: float | None = None,
) -> Any:
    """A comparison level; ``tf`` names the column whose term frequency adjusts its
    weight, never below a u of ``tf_floor`` (so one rare value cannot dominate).
    ``fixed_m`` fixes the level's m probability where the kind's definition says what
    a match looks like (a subscription line keeps its number), so EM cannot drift."""
    import splink.comparison_level_library as cll

    level: Any = cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")
    if tf is not None:
        level = level.configure(tf_adjustment_column=tf, tf_minimum_u_value=tf_floor)
    if fixed_m is not None:
        level = level.configure(m_probability=fixed_m, fix_m_probability=True)
    return level


def _else_fixed(m: float) -> Any:
    return _else().configure(m_probability=m, fix_m_probability=True)


def _comparison(name: str, levels: list[Any], description: str) -> Any:
    import splink.comparison_library as cl

    return cl.CustomComparison(
        comparison_levels=levels, output_column_name=name, comparison_description=description
    )


def _null(*columns: str, require: str = "any") -> Any:
    """Null level: any (or all) of ``columns`` missing on either side."""
    import splink.comparison_level_library as cll

    parts = [f"({c}_l IS NULL OR {c}_r IS NULL)" for c in columns]
    joiner = " OR " if require == "any" else " AND "
    level = cll.CustomLevel(joiner.join(parts), label_for_charts="missing").configure(
        is_null_level=True
    )
    return level


def _unshared(*columns: str) -> Any:
    """Null level for alternatives (a document or a national id; a phone or an
    e-mail): missing unless at least one of ``columns`` is present on both sides. A
    record with only a passport number says nothing about one with only a national id;
    without this level the pair would fall to the else level and count as disagreement."""
    import splink.comparison_level_library as cll

    shared = " OR ".join(f"({c}_l IS NOT NULL AND {c}_r IS NOT NULL)" for c in columns)
    return cll.CustomLevel(f"NOT ({shared})", label_for_charts="missing").configure(
        is_null_level=True
    )


def _else() -> Any:
    import splink.comparison_level_library as cll

    return cll.ElseLevel()


def _both(cond: str) -> str:
    """``cond`` written for (a, b) in either orientation: ``{a}``/``{b}`` are the two
    parts on the left and ``{A}``/``{B}`` the matching parts on the right."""
    straight = cond.format(a="family_l", b="given_l", A="family_r", B="given_r")
    swapped = cond.format(a="family_l", b="given_l", A="given_r", B="family_r")
    return f"(({straight}) OR ({swapped}))"


def _folded(cond: str) -> str:
    """``cond`` over the transliteration-folded name parts."""
    return cond.replace("family_", "family_t_").replace("given_", "given_t_")


def _skeletal(cond: str) -> str:
    """``cond`` over the consonant skeletons of the name parts."""
    return cond.replace("family_", "family_s_").replace("given_", "given_s_")


# -- people ------------------------------------------------------------------------------


_WHOLE_NAME = "coalesce(full_name_latin, concat_ws(' ', given_name_latin, family_name_latin))"


def _person_features() -> str:
    """Features of ``reg_person``: family and given name split from whatever form the
    registry wrote ("FAMILY, Given", "Given Family", Hanzi, separate columns)."""
    toks = f"string_split({without_particles('full_name_latin')}, ' ')"
    before_comma = without_particles("lower(trim(split_part(full_name, ',', 1)))")
    n_family = f"CASE WHEN full_name LIKE '%,%' THEN len(string_split({before_comma}, ' ')) END"
    return f"""
WITH parts AS (
  SELECT obs_id AS unique_id, source, record_id, full_name, full_name_latin,
         given_name_latin, family_name_latin, birth_date, nationality,
         upper(regexp_replace(document_number, '[^A-Za-z0-9]', '', 'g')) AS document_number,
         upper(regexp_replace(national_id, '[^A-Za-z0-9]', '', 'g')) AS national_id,
         phone, lower(email) AS email, organisation_latin AS organisation, address,
         {toks} AS toks, {n_family} AS n_family,
         coalesce(regexp_matches(full_name, '\\p{{Han}}'), false) AS han
  FROM reg_person
), names AS (
  SELECT *,
    CASE WHEN given_name_latin IS NOT NULL OR family_name_latin IS NOT NULL
           THEN {joined(without_particles("family_name_latin"))}
         WHEN n_family IS NOT NULL THEN array_to_string(toks[1:n_family], '')
         WHEN han OR array_length(toks) = 1 THEN toks[1]
         ELSE toks[array_length(toks)] END AS family,
    CASE WHEN given_name_latin IS NOT NULL OR family_name_latin IS NOT NULL
           THEN {joined(without_particles("given_name_latin"))}
         WHEN n_family IS NOT NULL THEN nullif(array_to_string(toks[n_family + 1:], ''), '')
         WHEN han THEN nullif(array_to_string(toks[2:], ''), '')
         ELSE nullif(array_to_string(toks[1:array_length(toks) - 1], ''), '') END AS given
  FROM parts
), folded AS (
  SELECT *, {translit("family")} AS family_t, {translit("given")} AS given_t,
    {tokens(translit(without_particles(_WHOLE_NAME)))} AS name_tokens
  FROM names
), nick AS (
  SELECT {translit("short")} AS short, list(DISTINCT {translit("canonical")}) AS canonical
  FROM {nickname_values_sql()} GROUP BY 1
)
SELECT unique_id, source, record_id, family, given, family_t, given_t, name_tokens,
  list_sort(list_distinct(list_concat([given_t], coalesce(nick.canonical, [])))) AS given_alts,
  {skeleton("family_t")} AS family_s, {skeleton("given_t")} AS given_s,
  {order_free_key("family", "given")} AS name_key,
  {order_free_key("family_t", "given_t")} AS name_t_key,
  birth_date, CAST(birth_date AS VARCHAR) AS birth_text,
  nationality, document_number, national_id, phone, email, organisation,
  {tokens(address_key("address"))} AS address_tokens,
  array_to_string({tokens(address_key("address"))}, ' ') AS address_text
FROM folded LEFT JOIN nick ON nick.short = folded.given_t
"""


def _person_comparisons() -> list[Any]:
    jw = "jaro_winkler_similarity"
    name = _comparison(
        "name",
        [
            _null("name_key"),
            _level("name_key_l = name_key_r", "same name, any order", tf="name_key", tf_floor=1e-6),
            _level("name_t_key_l = name_t_key_r", "same name after transliteration folding"),
            _level(
                _folded(_both(f"{jw}({{a}}, {{A}}) >= 0.92 AND {jw}({{b}}, {{B}}) >= 0.92")),
                "both parts similar (Jaro-Winkler >= 0.92)",
            ),
            _level(
                "family_t_l = family_t_r AND list_has_any(given_alts_l, given_alts_r)",
                "family name equal, given names a nickname of each other",
            ),
            _level(
                _folded(
                    _both(
                        f"({{a}} = {{A}} AND (starts_with({{b}}, {{B}}) OR "
                        f"starts_with({{B}}, {{b}}) OR {jw}({{b}}, {{B}}) >= 0.8)) OR "
                        f"({{b}} = {{B}} AND {jw}({{a}}, {{A}}) >= 0.8)"
                    )
                ),
                "one part equal, the other similar or a prefix",
            ),
            _level(_skeletal(_both("{a} = {A} AND {b} = {B}")), "same consonant skeleton"),
            _level(
                token_jaccard("name_tokens_l", "name_tokens_r") + " >= 0.6",
                "most name words shared",
            ),
            _level(_folded(_both(f"{jw}({{a}}, {{A}}) >= 0.9")), "family names similar"),
            _level(
                "(family_t_l IS NULL OR given_t_l IS NULL OR family_t_r IS NULL "
                "OR given_t_r IS NULL) "  # list_has_any never matches two NULLs
                "AND list_has_any([family_t_l, given_t_l], [family_t_r, given_t_r])",
                "a name part missing, the part both have equal",
            ),
            _else(),
        ],
        "Family and given names, either order, transliteration-folded",
    )
    birth = _comparison(
        "birth_date",
        [
            _null("birth_date"),
            _level("birth_date_l = birth_date_r", "same date", tf="birth_date", tf_floor=1e-6),
            _level(
                "year(birth_date_l) = year(birth_date_r) "
                "AND month(birth_date_l) = day(birth_date_r) "
                "AND day(birth_date_l) = month(birth_date_r)",
                "day and month swapped",
            ),
            _level(
                "abs(date_diff('day', birth_date_l, birth_date_r)) <= 3 OR "
                "(month(birth_date_l) = month(birth_date_r) AND "
                "day(birth_date_l) = day(birth_date_r) AND "
                "abs(year(birth_date_l) - year(birth_date_r)) = 1)",
                "up to 3 days or a year off",
            ),
            _level("levenshtein(birth_text_l, birth_text_r) <= 1", "one digit different"),
            # looser levels for registers with many typing errors (EM weighs them; where
            # true matches never reach them their weight is that of disagreement)
            _level("levenshtein(birth_text_l, birth_text_r) <= 2", "two digits different"),
            _level("abs(date_diff('day', birth_date_l, birth_date_r)) <= 366", "within a year"),
            _level("abs(date_diff('day', birth_date_l, birth_date_r)) <= 3653", "within ten years"),
            _else(),
        ],
        "Date of birth",
    )
    ids = _comparison(
        "identity_document",
        [
            _unshared("document_number", "national_id"),
            _level(
                "document_number_l = document_number_r OR national_id_l = national_id_r",
                "same document or national id",
            ),
            _level(
                "levenshtein(document_number_l, document_number_r) <= 1 "
                "OR levenshtein(national_id_l, national_id_r) <= 1",
                "one character different",
            ),
            _else(),
        ],
        "Passport or identity document number, national identity number",
    )
    nationality = _exact("nationality", "Nationality")
    contact = _contact()
    address = _address("Address (same, with tf; words, Jaccard)", some=True, exact=True)
    organisation = _comparison(
        "organisation",
        [
            _null("organisation"),
            _level(f"{jw}(organisation_l, organisation_r) >= 0.9", "similar"),
            _else(),
        ],
        "Employer or accrediting organisation",
    )
    return [name, birth, ids, nationality, contact, address, organisation, _source()]


PERSON = KindSpec(
    kind="person",
    table="reg_person",
    description="People from person registries (residents, accreditations, staff lists).",
    features=_person_features,
    comparisons=_person_comparisons,
    blocking=(
        "l.birth_date = r.birth_date",
        "l.document_number = r.document_number",
        "l.national_id = r.national_id",
        "l.name_t_key = r.name_t_key",
        "l.family_s = r.family_s AND l.given_s = r.given_s",
        "l.family_s = r.given_s AND l.given_s = r.family_s",
        "l.phone = r.phone",
        "l.email = r.email",
        # recall where a name part or the date has an error: one name part and the
        # birth year (either name order), the e-mail's user name
        "l.family_t = r.family_t AND year(l.birth_date) = year(r.birth_date)",
        "l.given_t = r.given_t AND year(l.birth_date) = year(r.birth_date)",
        "l.family_t = r.given_t AND year(l.birth_date) = year(r.birth_date)",
        "l.given_t = r.family_t AND year(l.birth_date) = year(r.birth_date)",
        "l.family_t = r.family_t AND l.given_s = r.given_s",
        # a short form of the given name and no birth date (Tom and Thomas Schmidt)
        "l.family_t = r.family_t AND left(l.given_t, 1) = left(r.given_t, 1)",
        "l.given_t = r.given_t AND left(l.family_t, 1) = left(r.family_t, 1)",
        "split_part(l.email, '@', 1) = split_part(r.email, '@', 1)",
    ),
    training_blocks=("l.birth_date = r.birth_date", "l.name_t_key = r.name_t_key"),
    prior_rules=(
        "l.document_number = r.document_number",
        "l.name_t_key = r.name_t_key AND l.birth_date = r.birth_date",
    ),
    # the model is calibrated (deduplicated term frequencies, the source comparison):
    # a pair more likely a match than not may join records; records typed with many
    # errors leave true cross pairs of a cluster well above the prior but under 0.5,
    # so a pair at 0.05 already supports a merge and 30% of the cross pairs must
    threshold=0.5,
    support=0.05,
    density=0.3,
)


# -- shared pieces for the other kinds -------------------------------------------------

_COLOURS = {
    "schwarz": "black", "weiss": "white", "weiß": "white", "rot": "red", "blau": "blue",
    "dunkelblau": "dark blue", "hellblau": "light blue", "silber": "silver",
    "grau": "grey", "gray": "grey", "dunkelgrau": "dark grey", "grün": "green",
    "gruen": "green", "gelb": "yellow", "braun": "brown", "orange": "orange",
    "beige": "beige", "violett": "purple", "lila": "purple", "gold": "gold",
}  # fmt: skip


def _colour(expr: str) -> str:
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in sorted(_COLOURS.items()))
    low = f"lower(trim({expr}))"
    return f"CASE {low} {cases} ELSE {low} END"


def _party_key(latin: str) -> str:
    """A person or organisation name as an order-free key of its sorted words."""
    return f"array_to_string(list_sort({tokens(translit(latin))}), ' ')"


def _ident(expr: str) -> str:
    """An identifier folded for comparison: upper case, letters and digits only."""
    return f"nullif(upper(regexp_replace({expr}, '[^A-Za-z0-9]', '', 'g')), '')"


def _party(name: str) -> Any:
    """Comparison of a keeper or subscriber: id, then name words."""
    jw = "jaro_winkler_similarity"
    return _comparison(
        name,
        [
            _unshared(f"{name}_key", f"{name}_id"),
            _level(f"{name}_id_l = {name}_id_r", "same document or registration number"),
            _level(f"{name}_key_l = {name}_key_r", "same name words", tf=f"{name}_key"),
            _level(
                token_jaccard(f"{name}_tokens_l", f"{name}_tokens_r") + " >= 0.5 OR "
                f"{jw}({name}_key_l, {name}_key_r) >= 0.9",
                "similar name",
            ),
            _else(),
        ],
        f"The {name}: document number, else name words",
    )


def _consecutive(start: str, end: str) -> Any:
    """Whether one registration or contract ended where the other began. Missing only
    when neither has ended (two current records say nothing about succession)."""
    import splink.comparison_level_library as cll

    missing = cll.CustomLevel(
        f"({end}_l IS NULL AND {end}_r IS NULL) OR {start}_l IS NULL OR {start}_r IS NULL",
        label_for_charts="neither has ended",
    ).configure(is_null_level=True)
    return _comparison(
        "periods",
        [
            missing,
            _level(
                f"{end}_l = {start}_r OR {end}_r = {start}_l OR "
                f"{end}_l + 1 = {start}_r OR {end}_r + 1 = {start}_l",
                "one period ends where the other begins",
            ),
            _else(),
        ],
        "Registration or contract periods",
    )


def _address(description: str, *, some: bool = False, exact: bool = False) -> Any:
    """Address words: with ``exact`` first the same address (term-frequency adjusted on
    ``address_text``: one town of a list of towns says less than one flat), then most
    words shared (Jaccard >= 0.7), and with ``some`` a level for some shared (>= 0.4)."""
    jaccard = token_jaccard("address_tokens_l", "address_tokens_r")
    levels = [_null("address_tokens")]
    if exact:
        levels.append(_level("address_text_l = address_text_r", "same address", tf="address_text"))
    levels.append(_level(f"{jaccard} >= 0.7", "most words"))
    if some:
        levels.append(_level(f"{jaccard} >= 0.4", "some words"))
    return _comparison("address", [*levels, _else()], description)


def _contact() -> Any:
    return _comparison(
        "contact",
        [
            _unshared("phone", "email"),
            _level("phone_l = phone_r OR email_l = email_r", "same phone or e-mail"),
            # a typo in the user name; the domain must agree (two namesakes at two
            # employers have e-mails a few letters apart)
            _level(
                "split_part(email_l, '@', 2) = split_part(email_r, '@', 2) AND "
                "levenshtein(split_part(email_l, '@', 1), split_part(email_r, '@', 1)) <= 2",
                "same e-mail domain, user name up to two typing errors away",
            ),
            _else(),
        ],
        "Phone number or e-mail address",
    )


def _source() -> Any:
    """Whether the two records come from one source. Most registers list an entity
    once (a residents register, a staff list), so a match within one source is rarer
    than the share of same-source pairs among all pairs; EM learns how much rarer from
    the data. With a single source every pair is at one level and the comparison
    weighs nothing; a source that does repeat its entities gets an m that says so."""
    return _comparison(
        "source",
        [_level("source_l = source_r", "same source"), _else()],
        "Record source (the registry the records come from)",
    )


def _exact(name: str, description: str, tf: bool = False) -> Any:
    return _comparison(
        name,
        [
            _null(name),
            _level(f"{name}_l = {name}_r", "same", tf=name if tf else None),
            _else(),
        ],
        description,
    )


# -- vehicles --------------------------------------------------------------------------


def _vehicle_features() -> str:
    return f"""
SELECT obs_id AS unique_id, source, record_id,
  {_ident("vin")} AS vin, plate_key, lower(make) AS make, lower(model) AS model,
  {_colour("colour")} AS colour,
  {_ident("owner_id")} AS keeper_id,
  {_party_key("owner_name_latin")} AS keeper_key,
  {tokens(translit("owner_name_latin"))} AS keeper_tokens,
  registered_from, registered_to
FROM reg_vehicle
"""


def _vehicle_comparisons() -> list[Any]:
    vin = _comparison(
        "vin",
        [
            _null("vin"),
            _level("vin_l = vin_r", "same VIN"),
            _level("levenshtein(vin_l, vin_r) <= 1", "one character different"),
            _else(),
        ],
        "Vehicle identification number",
    )
    plate = _comparison(
        "plate",
        [
            _null("plate_key"),
            _level("plate_key_l = plate_key_r", "same plate", tf="plate_key"),
            _level("levenshtein(plate_key_l, plate_key_r) <= 1", "one character different"),
            _else(),
        ],
        "Plate (OCR-folded key)",
    )
    make_model = _comparison(
        "make_model",
        [
            _null("make"),
            _level("make_l = make_r AND model_l = model_r", "same make and model"),
            _level("make_l = make_r", "same make"),
            _else(),
        ],
        "Make and model",
    )
    return [
        vin,
        plate,
        make_model,
        _exact("colour", "Colour (German and English folded)"),
        _party("keeper"),
        _consecutive("registered_from", "registered_to"),
    ]


VEHICLE = KindSpec(
    kind="vehicle",
    table="reg_vehicle",
    description="Vehicles from registrations (current and ended), by VIN, plate and keeper.",
    features=_vehicle_features,
    comparisons=_vehicle_comparisons,
    blocking=(
        "l.vin = r.vin",
        "l.plate_key = r.plate_key",
        "l.keeper_id = r.keeper_id",
        "l.keeper_key = r.keeper_key AND l.make = r.make",
    ),
    training_blocks=("l.plate_key = r.plate_key", "l.vin = r.vin"),
    prior_rules=("l.vin = r.vin",),
)


# -- subscriptions -----------------------------------------------------------------------


def _subscription_features() -> str:
    party = "coalesce(subscriber_name_latin, subscriber_organisation_latin)"
    return f"""
SELECT obs_id AS unique_id, source, record_id, msisdn, imsi, substr(imsi, 1, 5) AS imsi_operator,
  imei, imei_tac,
  {_ident("subscriber_id")} AS subscriber_id,
  {_party_key(party)} AS subscriber_key,
  {tokens(translit(party))} AS subscriber_tokens,
  {tokens(address_key("address"))} AS address_tokens,
  start_date, end_date
FROM reg_subscription
"""


def _subscription_comparisons() -> list[Any]:
    imsi = _comparison(
        "imsi",
        [
            _null("imsi"),
            _level("imsi_l = imsi_r", "same SIM"),
            _level("imsi_operator_l = imsi_operator_r", "same operator (MCC+MNC)"),
            _else(),
        ],
        "SIM identity",
    )
    imei = _comparison(
        "imei",
        [
            _null("imei"),
            _level("imei_l = imei_r", "same handset"),
            _level("imei_tac_l = imei_tac_r", "same handset model (TAC)"),
            _else(),
        ],
        "Handset identity",
    )
    address = _address("Billing address words (Jaccard)")
    # a line is its number: a SIM replacement keeps it, a new number is a new line
    msisdn = _comparison(
        "msisdn",
        [
            _null("msisdn"),
            _level("msisdn_l = msisdn_r", "same number", fixed_m=0.995),
            _else_fixed(0.005),
        ],
        "Phone number (E.164); defines the line",
    )
    return [
        msisdn,
        imsi,
        imei,
        _party("subscriber"),
        address,
        _consecutive("start_date", "end_date"),
    ]


SUBSCRIPTION = KindSpec(
    kind="subscription",
    table="reg_subscription",
    description="Phone subscriptions (current and ended SIMs of one line), by number, SIM "
    "and subscriber.",
    features=_subscription_features,
    comparisons=_subscription_comparisons,
    blocking=(
        "l.msisdn = r.msisdn",
        "l.imsi = r.imsi",
        "l.imei = r.imei",
        "l.subscriber_id = r.subscriber_id",
    ),
    training_blocks=("l.msisdn = r.msisdn", "l.subscriber_id = r.subscriber_id"),
    prior_rules=("l.msisdn = r.msisdn",),
    # a subscriber who takes a new number on the same handset when the old contract
    # ends agrees on handset, subscriber and periods (some 40 bits) but has a new line
    apart="l.msisdn <> r.msisdn",
)


# -- organisations -----------------------------------------------------------------------

LEGAL_FORMS = (
    "gmbh", "ag", "kg", "ohg", "ev", "ug", "se", "gbr", "mbh", "co", "ltd", "llc", "inc",
    "plc", "sa", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as",
)  # fmt: skip


def without_legal_forms(expr: str) -> str:
    """``expr`` (lower-case SQL text) with the words of :data:`LEGAL_FORMS` removed."""
    forms = "|".join(LEGAL_FORMS)
    return f"regexp_replace({expr}, '\\b({forms})\\b', '', 'g')"


def _organisation_features() -> str:
    name = f"trim({without_legal_forms('name_latin')})"
    return f"""
SELECT obs_id AS unique_id, source, record_id,
  {_party_key(name)} AS name_key, {tokens(translit(name))} AS name_tokens,
  {_ident("registration_number")} AS registration_number, country,
  {tokens(address_key("address"))} AS address_tokens, phone, lower(email) AS email
FROM reg_organisation
"""


def _organisation_comparisons() -> list[Any]:
    jw = "jaro_winkler_similarity"
    name = _comparison(
        "name",
        [
            _null("name_key"),
            _level("name_key_l = name_key_r", "same name words", tf="name_key"),
            _level(
                token_jaccard("name_tokens_l", "name_tokens_r") + " >= 0.6 OR "
                f"{jw}(name_key_l, name_key_r) >= 0.92",
                "similar name",
            ),
            _else(),
        ],
        "Organisation name without legal form",
    )
    address = _address("Address words (Jaccard)")
    contact = _contact()
    return [
        name,
        _exact("registration_number", "Company or registration number"),
        _exact("country", "Country"),
        address,
        contact,
    ]


ORGANISATION = KindSpec(
    kind="organisation",
    table="reg_organisation",
    description="Organisations (companies, missions, ministries), by registration number and name.",
    features=_organisation_features,
    comparisons=_organisation_comparisons,
    blocking=(
        "l.registration_number = r.registration_number",
        "l.name_key = r.name_key",
        "l.phone = r.phone",
    ),
    training_blocks=("l.name_key = r.name_key", "l.registration_number = r.registration_number"),
    prior_rules=("l.registration_number = r.registration_number",),
)

KINDS: dict[str, KindSpec] = {s.kind: s for s in (PERSON, ORGANISATION, VEHICLE, SUBSCRIPTION)}
