"""The access context: valid values pass, every invalid one names its field and what it
accepts; ``from_env`` says which variables are missing."""

from __future__ import annotations

import dataclasses

import pytest

from tessera.audit import LEGAL_BASES, Access, LegalBasis
from tessera.errors import AccessError, TesseraError


def test_valid_access_keeps_its_values() -> None:
    a = Access("alice", "OP-2024/017", "court_order", note="  approved by J. Doe  ")
    assert (a.user, a.case, a.legal_basis, a.note) == (
        "alice",
        "OP-2024/017",
        "court_order",
        "approved by J. Doe",
    )
    assert a.as_dict() == {
        "user": "alice",
        "case": "OP-2024/017",
        "legal_basis": "court_order",
        "note": "approved by J. Doe",
    }


def test_legal_basis_enum_is_stored_as_its_value() -> None:
    a = Access("bob_2", "case.7", LegalBasis.OPSEC_SELF_ASSESSMENT)
    assert a.legal_basis == "opsec_self_assessment"
    assert type(a.legal_basis) is str
    assert set(LEGAL_BASES) == {
        "court_order",
        "warrant",
        "statutory_power",
        "consent",
        "opsec_self_assessment",
        "research",
        "synthetic_demo",
    }


def test_access_is_frozen() -> None:
    a = Access("alice", "OP-1", "warrant")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.user = "mallory"  # type: ignore[misc]


def test_empty_note_becomes_none() -> None:
    assert Access("alice", "OP-1", "warrant", note="   ").note is None


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("user", {"user": ""}),
        ("user", {"user": "al ice"}),
        ("user", {"user": "1alice"}),
        ("user", {"user": "alice;drop"}),
        ("user", {"user": "a" * 65}),
        ("case", {"case": "ab"}),
        ("case", {"case": ""}),
        ("case", {"case": "OP 1"}),
        ("case", {"case": "-OP1"}),
        ("case", {"case": "x" * 101}),
    ],
)
def test_invalid_user_or_case_names_the_field(field: str, kwargs: dict[str, str]) -> None:
    values = {"user": "alice", "case": "OP-1", "legal_basis": "warrant", **kwargs}
    with pytest.raises(AccessError) as info:
        Access(**values)
    message = str(info.value)
    assert message.startswith(field)
    assert "A-Z a-z 0-9" in message  # says what it accepts
    assert isinstance(info.value, TesseraError)


def test_non_text_user_is_refused() -> None:
    with pytest.raises(AccessError, match="user must be text"):
        Access(42, "OP-1", "warrant")  # type: ignore[arg-type]


@pytest.mark.parametrize("basis", ["because", "", "Warrant", "court order"])
def test_unknown_legal_basis_lists_the_allowed_values(basis: str) -> None:
    with pytest.raises(AccessError) as info:
        Access("alice", "OP-1", basis)
    message = str(info.value)
    assert message.startswith("legal_basis")
    for allowed in LEGAL_BASES:
        assert allowed in message


def test_note_limits() -> None:
    Access("alice", "OP-1", "warrant", note="line one\nline two\twith tab")
    with pytest.raises(AccessError, match="1,000"):
        Access("alice", "OP-1", "warrant", note="x" * 1001)
    with pytest.raises(AccessError, match="control characters"):
        Access("alice", "OP-1", "warrant", note="bell\x07")


def test_from_env_reads_the_three_variables_and_the_note() -> None:
    env = {
        "TESSERA_USER": "alice",
        "TESSERA_CASE": " OP-2024/017 ",
        "TESSERA_LEGAL_BASIS": "warrant",
        "TESSERA_NOTE": "warrant 17/2024",
        "OTHER": "x",
    }
    assert Access.from_env(env) == Access("alice", "OP-2024/017", "warrant", "warrant 17/2024")


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_USER", "carol")
    monkeypatch.setenv("TESSERA_CASE", "R-001")
    monkeypatch.setenv("TESSERA_LEGAL_BASIS", "research")
    monkeypatch.delenv("TESSERA_NOTE", raising=False)
    assert Access.from_env() == Access("carol", "R-001", "research")


def test_from_env_names_every_missing_variable() -> None:
    with pytest.raises(AccessError) as info:
        Access.from_env({"TESSERA_USER": "alice", "TESSERA_LEGAL_BASIS": "  "})
    message = str(info.value)
    assert "TESSERA_CASE, TESSERA_LEGAL_BASIS are not set" in message
    assert "TESSERA_USER," not in message.split("are not set")[0]
    for allowed in LEGAL_BASES:
        assert allowed in message


def test_from_env_with_one_missing_variable() -> None:
    with pytest.raises(AccessError, match="TESSERA_USER is not set"):
        Access.from_env({"TESSERA_CASE": "OP-1", "TESSERA_LEGAL_BASIS": "warrant"})


def test_from_env_invalid_value_says_it_came_from_the_environment() -> None:
    env = {"TESSERA_USER": "alice", "TESSERA_CASE": "OP-1", "TESSERA_LEGAL_BASIS": "hunch"}
    with pytest.raises(AccessError, match=r"legal_basis 'hunch'.*environment variables"):
        Access.from_env(env)
