"""The sandbox side of the bot's token-provider seam: a token straight from the sandbox signer."""

from __future__ import annotations

from bot.identity import SignInRequired, TeamsUser
from sandbox.identity import SandboxIdentity


class SandboxTokenProvider:
    """Issues each Teams user a delegated Graph token for the matching sandbox directory user."""

    def __init__(self, identity: SandboxIdentity) -> None:
        self._identity = identity

    async def token_for(self, user: TeamsUser) -> str:
        directory_user = self._identity.user(user.aad_object_id) if user.aad_object_id else None
        if directory_user is None:
            raise SignInRequired(
                "This chat account has no work or school identity in the sandbox directory."
            )
        return self._identity.issue_user_token(directory_user)
