from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SqliteRepository
from shared.auth import AuthMethod, Role
from shared.auth.passwords import PasswordPolicyError, hash_password, verify_password
from shared.auth.users import USER_KIND, UserStore


def test_a_hash_is_salted_slow_scrypt_and_verifies_only_its_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second  # a fresh salt each time
    scheme, log2_n, r, p, _salt, _digest = first.split("$")
    assert (scheme, int(log2_n), int(r), int(p)) == ("scrypt", 15, 8, 1)
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert "correct horse" not in first


@pytest.mark.parametrize("stored", ["", "plain", "md5$1$2$3$4$5", "scrypt$99$8$1$AAAA$AAAA", "scrypt$15$8$1$%%$%%"])
def test_a_malformed_stored_hash_matches_nothing(stored: str) -> None:
    assert not verify_password("anything at all", stored)


def test_passwords_too_short_or_too_long_are_refused() -> None:
    with pytest.raises(PasswordPolicyError):
        hash_password("short")
    with pytest.raises(PasswordPolicyError):
        hash_password("x" * 2000)
    assert not verify_password("x" * 2000, hash_password("long enough"))


def test_users_are_stored_as_items_and_authenticate(tmp_path: Path) -> None:
    repo = SqliteRepository(tmp_path / "db.sqlite3")
    users = UserStore(repo)
    users.add(" Ada@Example.com ", "a good password", frozenset({Role.APPROVER}), name="Ada")
    stored = repo.get_item(USER_KIND, "ada@example.com")
    assert stored is not None and stored["password_hash"].startswith("scrypt$") and "a good password" not in str(stored)
    user = users.authenticate("ADA@example.com", "a good password")
    assert user is not None
    principal = user.principal()
    assert (principal.id, principal.name, principal.method) == ("ada@example.com", "Ada", AuthMethod.PASSWORD)
    assert principal.has(Role.APPROVER) and not principal.has(Role.CLERK)
    assert users.authenticate("ada@example.com", "a wrong password") is None
    assert users.authenticate("nobody@example.com", "a good password") is None
    with pytest.raises(ValueError, match="at least one role"):
        users.add("x@example.com", "a good password", frozenset())

    assert users.remove("ada@example.com") and not users.remove("ada@example.com")
    assert users.get("ada@example.com") is None and users.list() == []
    assert users.authenticate("ada@example.com", "a good password") is None
