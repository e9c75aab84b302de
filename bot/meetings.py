"""Creating a meeting for a Teams user: their token, their request, Graph's answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.identity import TeamsUser, TokenProvider
from bot.ledger import RequestLedger
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
        ledger: RequestLedger | None = None,
    ) -> None:
        self._graph = graph
        self._tokens = tokens
        self._passcode_required = passcode_required
        # Application mode: an app-only token creates the meeting for the requester through
        # /users/{id}; delegated mode uses the requester's own token on /me.
        self._on_behalf_of_user = on_behalf_of_user
        self._ledger = ledger

    async def create(
        self,
        user: TeamsUser,
        *,
        subject: str,
        start: datetime,
        end: datetime,
        locale: str,
        passcode_required: bool | None = None,
        request_id: str | None = None,
    ) -> OnlineMeeting:
        """Create the meeting; with a `request_id`, once, however often it is asked for.

        `passcode_required=None` follows the configured policy.
        """
        passcode = self._passcode_required if passcode_required is None else passcode_required
        token = await self._tokens.token_for(user)
        # Without a passcode Graph's createOrGet makes the call itself idempotent (it ignores the
        # passcode flag, so meetings that need one use a plain create).
        external_id = (
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"meet-bot/{request_id}"))
            if request_id and not passcode
            else None
        )
        request = MeetingRequest(
            subject=subject,
            start=start,
            end=end,
            passcode_required=passcode,
            external_id=external_id,
        )
        user_id = user.aad_object_id if self._on_behalf_of_user else None

        async def create() -> OnlineMeeting:
            if request.external_id is not None:
                return await self._graph.create_or_get_meeting(
                    token, request, user_id=user_id, locale=locale
                )
            return await self._graph.create_meeting(token, request, user_id=user_id, locale=locale)

        if self._ledger is None or request_id is None:
            return await create()
        key = f"{user.tenant_id}/{user.aad_object_id or user.id}/{request_id}"
        return await self._ledger.once(key, create)
