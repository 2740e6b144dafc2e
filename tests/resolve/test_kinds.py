"""Known-answer tests of the resolution features, term frequencies and the rules that
keep records apart (tessera.resolve.sql, .kinds, .stage), on hand-built records."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pyarrow as pa
import pytest

from tessera.engines import open_engine
from tessera.engines.base import Engine
from tessera.resolve.kinds import PERSON, SUBSCRIPTION
from tessera.resolve.sql import without_particles
from tessera.resolve.stage import (
    JUDGEMENTS,
    TF_MIN_RECORDS,
    cluster_kind,
    features_table,
    pair_table,
    term_frequencies,
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    e = open_engine("duckdb")
    try:
        yield e
    finally:
        e.close()


def test_name_particles_are_dropped(engine: Engine) -> None:
    """The Arabic article is written or left out at will; a name that is only a
    particle, and a name with "al" inside a word, stay as they are."""
    cases = {
        "al haddad": "haddad",
        "al-haddad amin": "haddad amin",
        "omar al shamsi": "omar shamsi",
        "el sayed": "sayed",
        "al el omar": "omar",
        "al": "al",
        "kamal alina": "kamal alina",
    }
    for text, expected in cases.items():
        [(got,)] = engine.fetch_rows(
            f"SELECT {without_particles('t')} FROM (SELECT ? AS t)", [text]
        )
        assert got == expected, text
    [(null,)] = engine.fetch_rows(f"SELECT {without_particles('CAST(NULL AS VARCHAR)')}")
    assert null is None


PERSON_COLUMNS = (
    "obs_id BIGINT, source VARCHAR, record_id VARCHAR, full_name VARCHAR, "
    "full_name_latin VARCHAR, given_name_latin VARCHAR, family_name_latin VARCHAR, "
    "birth_date DATE, nationality VARCHAR, document_number VARCHAR, national_id VARCHAR, "
    "phone VARCHAR, email VARCHAR, organisation_latin VARCHAR, address VARCHAR"
)


def test_one_person_written_with_and_without_the_article_gets_one_name_key(
    engine: Engine,
) -> None:
    """ "AL-HADDAD, Amin" (family first, comma), "Amin Al Haddad" (given first) and
    separate columns "Amin" / "Al-Haddad" all split into family "haddad" and given
    "amin": before, the first became "alhaddad" and the second given "aminal"."""
    engine.execute(f"CREATE TABLE reg_person ({PERSON_COLUMNS})")
    engine.execute(
        "INSERT INTO reg_person (obs_id, source, record_id, full_name, full_name_latin, "
        "given_name_latin, family_name_latin) VALUES "
        "(1, 'a', '1', 'AL-HADDAD, Amin', 'al haddad amin', NULL, NULL), "
        "(2, 'b', '2', 'Amin Al Haddad', 'amin al haddad', NULL, NULL), "
        "(3, 'c', '3', NULL, NULL, 'amin', 'al haddad'), "
        "(4, 'c', '4', NULL, NULL, 'alina', 'kamal')"
    )
    rows = engine.fetch_rows(
        f"SELECT unique_id, family, given, name_key FROM ({PERSON.features()}) ORDER BY 1"
    )
    assert [r[1:] for r in rows[:3]] == [("haddad", "amin", "amin|haddad")] * 3
    assert rows[3][1:] == ("kamal", "alina", "alina|kamal")


def test_term_frequencies_discount_the_record_and_its_own_duplicates(engine: Engine) -> None:
    """Ten records: "smith" five times, "rare" twice, one each of three others. With
    one other record of its own entity expected per record (``others = 1``) the
    frequency of "smith" is (5 - 1 - 1) / 10 and that of "rare", seen only within
    what may be one entity, the floor of half a record over ten."""
    values = ["smith"] * 5 + ["rare"] * 2 + ["x", "y", "z"] + [None]
    engine.register_arrow("people", pa.table({"name": pa.array(values, pa.string())}))
    engine.execute("CREATE TABLE names AS SELECT * FROM people")
    tf = term_frequencies(engine, "person", "names", "name", 1.0).to_pylist()
    got = {r["value"]: r["tf"] for r in tf}
    assert got["smith"] == pytest.approx(3 / 10)
    assert got["rare"] == pytest.approx(TF_MIN_RECORDS / 10)
    assert got["x"] == pytest.approx(TF_MIN_RECORDS / 10)
    assert {r["column_name"] for r in tf} == {"name"}
    assert len(tf) == 5
    # with no duplicates expected, only the record itself is discounted
    plain = {r["value"]: r["tf"] for r in term_frequencies(engine, "p", "names", "name", 0.0)
             .to_pylist()}  # fmt: skip
    assert plain["smith"] == pytest.approx(4 / 10)
    assert plain["rare"] == pytest.approx(1 / 10)


def test_a_new_number_is_a_new_line_however_alike_the_records(engine: Engine) -> None:
    """Records 1 and 2 are one line (same number, a SIM swap); record 3 is the same
    subscriber's new number on the same handset, its contract starting when record 2's
    ended: the model scores 2-3 as a near-certain match (handset, subscriber, periods),
    but by the kind's definition (``KindSpec.apart``) they stay two entities."""
    engine.execute(
        f"CREATE TABLE {features_table('subscription')} AS SELECT * FROM (VALUES "
        "(1, 's', 'r1', '+491'), (2, 's', 'r2', '+491'), (3, 's', 'r3', '+492')) "
        "t(unique_id, source, record_id, msisdn)"
    )
    engine.execute(
        f"CREATE TABLE {pair_table('subscription')} AS SELECT * FROM (VALUES "
        "(1, 2, 0.999), (2, 3, 0.99999), (1, 3, 0.98)) "
        "t(unique_id_l, unique_id_r, match_probability)"
    )
    engine.execute(
        f"CREATE TABLE {JUDGEMENTS} (judgement_id BIGINT, kind VARCHAR, record_a BIGINT, "
        "record_b BIGINT, verdict VARCHAR, created_at TIMESTAMPTZ)"
    )
    clusters = dict(cluster_kind(engine, SUBSCRIPTION))
    assert clusters == {1: 1, 2: 1, 3: 3}
    # without the rule the three records chain into one entity
    loose = dataclasses.replace(SUBSCRIPTION, apart=None)
    assert set(dict(cluster_kind(engine, loose)).values()) == {1}
