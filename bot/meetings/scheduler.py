"""Creating a meeting for a Teams user: their token, their request, Graph's answer."""

from __future__ import annotations

from bot.identity.users import TokenProvider
from bot.meetings.ledger import RequestLedger
from bot.meetings.request import MeetingRequest
from graph import GraphClient, OnlineMeeting, OnlineMeetingRequest


class MeetingScheduler:
    """Creates meetings with the requester as organizer, at most one per request."""

    def __init__(
        self,
        graph: GraphClient,
        tokens: TokenProvider,
        ledger: RequestLedger,
        *,
        passcode_required: bool | None,
        on_behalf_of_user: bool = False,
    ) -> None:
        self._graph = graph
        self._tokens = tokens
        self._ledger = ledger
        # True or False: the bot asks Graph for (no) passcode; None: the tenant's policy decides.
        self._passcode_required = passcode_required
        # Application mode: an app-only token creates the meeting for the requester through
        # /users/{id}; delegated mode uses the requester's own token on /me.
        self._on_behalf_of_user = on_behalf_of_user

    async def create(self, ask: MeetingRequest) -> OnlineMeeting:
        """The meeting of `ask`: created once, however often it is asked for."""
        passcode = ask.passcode_required
        if passcode is None:
            passcode = self._passcode_required
        # createOrGet cannot say anything about a passcode (and Graph never changes one after
        # creation), so only a request that leaves it to the tenant is made repeatable by it.
        request = OnlineMeetingRequest(
            subject=ask.subject,
            start=ask.start,
            end=ask.end,
            passcode_required=passcode,
            external_id=ask.external_id if passcode is None else None,
        )
        user_id = ask.user.aad_object_id if self._on_behalf_of_user else None

        async def create() -> OnlineMeeting:
            # Only once the ledger says the request still needs creating: a request it already
            # answers needs no token, and no sign-in or token outage can mislabel it.
            token = await self._tokens.token_for(ask.user)
            if request.external_id is not None:
                return await self._graph.create_or_get_meeting(
                    token, request, user_id=user_id, locale=ask.locale
                )
            return await self._graph.create_meeting(
                token, request, user_id=user_id, locale=ask.locale
            )

        return await self._ledger.once(
            ask.key, create, repeatable=request.external_id is not None, ends=ask.end
        )

    async def recall(self, ask: MeetingRequest) -> OnlineMeeting | None:
        """The meeting `ask` is known to have created, without creating anything."""
        return await self._ledger.recall(ask.key)
