"""Creating a meeting for a Teams user: their token, their request, Graph's answer."""

from __future__ import annotations

from datetime import datetime

from bot.identity import TeamsUser, TokenProvider
from graph import GraphClient, MeetingRequest, OnlineMeeting


class MeetingScheduler:
    """Creates meetings with the requester as organizer."""

    def __init__(
        self,
        graph: GraphClient,
        tokens: TokenProvider,
        *,
        passcode_required: bool,
        on_behalf_of_user: bool = False,
    ) -> None:
        self._graph = graph
        self._tokens = tokens
        self._passcode_required = passcode_required
        # Application mode: an app-only token creates the meeting for the requester through
        # /users/{id}; delegated mode uses the requester's own token on /me.
        self._on_behalf_of_user = on_behalf_of_user

    async def create(
        self,
        user: TeamsUser,
        *,
        subject: str,
        start: datetime,
        end: datetime,
        locale: str,
        passcode_required: bool | None = None,
    ) -> OnlineMeeting:
        """`passcode_required=None` follows the configured policy."""
        token = await self._tokens.token_for(user)
        request = MeetingRequest(
            subject=subject,
            start=start,
            end=end,
            passcode_required=(
                self._passcode_required if passcode_required is None else passcode_required
            ),
        )
        user_id = user.aad_object_id if self._on_behalf_of_user else None
        return await self._graph.create_meeting(token, request, user_id=user_id, locale=locale)
