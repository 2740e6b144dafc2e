"""Cheap Argon2 parameters for the case tests (the defaults cost ~50 ms a hash)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from tessera.accounts import use_hasher

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_hasher() -> Iterator[PasswordHasher]:
    use_hasher(CHEAP)
    yield CHEAP
    use_hasher(None)
