from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Role(StrEnum):
    CLERK = "clerk"  # reviews the queue, corrects fields, uploads
    APPROVER = "approver"  # decides invoices routed to them
    ADMIN = "admin"  # manages users, policy, mailboxes; may do everything


class AuthMethod(StrEnum):
    PASSWORD = "password"  # local user, dashboard session
    ENTRA = "entra"  # App Service authentication (Easy Auth) headers or an Entra ID bearer token
    ACTION_TOKEN = "action_token"  # signed single-use token from an approval card or mail link


class Principal(BaseModel):
    """An authenticated caller. ``id`` is the lower-cased e-mail / UPN: the name approvers carry
    in routes and decisions, so 'is this the approver of level 2?' is a string comparison."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    name: str | None = None
    roles: frozenset[Role] = frozenset()
    method: AuthMethod

    @field_validator("id")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return value.strip().lower()

    def has(self, role: Role) -> bool:
        return Role.ADMIN in self.roles or role in self.roles
