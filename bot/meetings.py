"""Creating a meeting for a Teams user: their token, their request, Graph's answer."""

from __future__ import annotations

from datetime import datetime

from bot.identity import TeamsUser, TokenProvider
from graph import GraphClient, MeetingRequest, OnlineMeeting


class MeetingScheduler:
    """Creates meetings with the requester's own delegated token, so they are the organizer."""

    def __init__(
        self, graph: GraphClient, tokens: TokenProvider, *, passcode_required: bool
    ) -> None:
        self._graph = graph
        self._tokens = tokens
        self._passcode_required = passcode_required

    async def create(
        self, user: TeamsUser, *, subject: str, start: datetime, end: datetime, locale: str
    ) -> OnlineMeeting:
        token = await self._tokens.token_for(user)
        request = MeetingRequest(
            subject=subject, start=start, end=end, passcode_required=self._passcode_required
        )
        return await self._graph.create_meeting(token, request, locale=locale)
