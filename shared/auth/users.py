"""Local users of the embedded host: e-mail, display name, roles, scrypt password hash.

Stored as repository items of kind ``user`` keyed by the lower-cased e-mail. The repository has no
delete, so removing a user keeps a tombstone (``removed``): the address cannot sign in, and its
past entries in audit trails still name a known person.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from shared.auth.passwords import burn_time, hash_password, verify_password
from shared.auth.principal import AuthMethod, Principal, Role
from shared.domain import utcnow
from shared.ports import Repository

USER_KIND = "user"


class User(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    name: str | None = None
    roles: frozenset[Role]
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    password_changed_at: datetime = Field(default_factory=utcnow)
    removed: bool = False

    @field_validator("email")
    @classmethod
    def _normalise(cls, value: str) -> str:
        value = value.strip().lower()
        if "@" not in value or any(ch.isspace() for ch in value):
            raise ValueError(f"not an e-mail address: {value!r}")
        return value

    def principal(self) -> Principal:
        return Principal(id=self.email, name=self.name, roles=self.roles, method=AuthMethod.PASSWORD)


class UserStore:
    def __init__(self, repo: Repository) -> None:
        self._repo = repo

    def get(self, email: str) -> User | None:
        data = self._repo.get_item(USER_KIND, email.strip().lower())
        user = User.model_validate(data) if data is not None else None
        return user if user is not None and not user.removed else None

    def list(self) -> list[User]:
        users = (User.model_validate(item) for item in self._repo.list_items(USER_KIND))
        return [user for user in users if not user.removed]

    def add(self, email: str, password: str, roles: frozenset[Role], name: str | None = None) -> User:
        """Create the user, or replace the roles, name and password of an existing one."""
        if not roles:
            raise ValueError("a user needs at least one role")
        existing = self.get(email)
        user = User(email=email, name=name or (existing.name if existing else None), roles=roles,
                    password_hash=hash_password(password),
                    created_at=existing.created_at if existing else utcnow())
        self._save(user)
        return user

    def remove(self, email: str) -> bool:
        user = self.get(email)
        if user is None:
            return False
        self._save(user.model_copy(update={"removed": True, "password_hash": "", "roles": frozenset()}))
        return True

    def authenticate(self, email: str, password: str) -> User | None:
        user = self.get(email)
        if user is None:
            burn_time(password)  # the same cost as a wrong password: no probing which e-mails exist
            return None
        return user if verify_password(password, user.password_hash) else None

    def _save(self, user: User) -> None:
        self._repo.put_item(USER_KIND, user.email, user.model_dump(mode="json"))
