"""Who is asking, and the seam through which the bot gets a Graph token on their behalf."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TeamsUser:
    """The person behind an activity, as Teams identifies them."""

    id: str
    aad_object_id: str | None
    tenant_id: str | None
    name: str | None = None

    @property
    def person_id(self) -> str:
        """Who this is, stably: the Entra object id, else the channel's account id."""
        return self.aad_object_id or self.id


class SignInRequired(Exception):
    """No usable delegated token for this user; they need to sign in."""


class TokenProvider(Protocol):
    async def token_for(self, user: TeamsUser) -> str:
        """A delegated Graph access token for `user`, or SignInRequired."""
        ...
