"""Asking people to sign in: personal sign-in cards, /signin and /signout, and "Signed in"."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity

from bot.conversation.cards import closed_card, sign_in_card
from bot.conversation.messages import Shown, card_message, conversation_of, in_shared_chat
from bot.conversation.replies import explain
from bot.conversation.teams import teams_user, user_language
from bot.framework.address import ReplyAddress
from bot.identity.signin import SIGN_IN_TTL_SECONDS, SignInFlows
from bot.identity.tokens import DelegatedTokenProvider, NoWorkAccount
from bot.identity.users import SignInRequired, TeamsUser
from bot.meetings.request import person_key
from bot.state.store import Store
from dialogs.language import N_, Language, Languages

log = logging.getLogger(__name__)

SIGNED_IN = N_("You're signed in. Type /meet followed by a subject to create a meeting.")


@dataclass(frozen=True)
class SignIn:
    """What delegated mode needs to ask people to sign in; absent in application mode."""

    flows: SignInFlows
    tokens: DelegatedTokenProvider


class SignInCards:
    def __init__(
        self,
        sign_in: SignIn | None,
        storage: Store,
        languages: Languages,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sign_in = sign_in
        self._storage = storage
        self._languages = languages
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """Delegated mode: people sign in (application mode needs no sign-in)."""
        return self._sign_in is not None

    async def signed_in_card(self, user: TeamsUser, signed_in_at: ReplyAddress) -> Activity | None:
        """The /signin card asked from `signed_in_at`, as it reads once `user` is back."""
        key = _sign_in_card_key(user)
        card = (await self._storage.read([key])).get(key) or {}
        await self._storage.delete([key])
        if card.get("at") != signed_in_at.conversation_id or not isinstance(card["card_id"], str):
            return None
        lang = self._languages.pick(signed_in_at.locale or "")
        _ = lang.gettext
        done = _(SIGNED_IN)
        who = _("Signed in as {name}", name=user.name) if user.name else _("Signed in")
        # The /signin card itself says so: no button is left to sign in again with.
        signed_in = card_message(closed_card(done, lang, who))
        signed_in.id = card["card_id"]
        return signed_in

    async def view(
        self, turn_context: TurnContext, user: TeamsUser, subject: str | None, lang: Language
    ) -> Shown:
        """The requester's sign-in card: a fresh personal link, shown to them alone."""
        return Shown(await self.card(turn_context, user, subject, lang), private=True)

    async def card(
        self, turn_context: TurnContext, user: TeamsUser, subject: str | None, lang: Language
    ) -> dict[str, Any]:
        """A sign-in card with a fresh link for `user`, answered in this conversation."""
        assert self._sign_in is not None
        url = await self._sign_in.flows.begin(
            user, ReplyAddress.of(turn_context.activity), await _login_hint(turn_context)
        )
        return sign_in_card(url, pending_subject=subject, lang=lang)

    async def sign_in(self, turn_context: TurnContext) -> None:
        lang = user_language(turn_context.activity, self._languages)
        _ = lang.gettext
        if self._sign_in is None:
            await turn_context.send_activity(
                _("No sign-in needed: this bot creates meetings with its own permission.")
            )
            return
        user = teams_user(turn_context.activity)
        try:
            await self._sign_in.tokens.token_for(user)
        except SignInRequired:
            if in_shared_chat(turn_context.activity):
                await turn_context.send_activity(
                    _(
                        "A sign-in link is personal, so I don't post one here. Type /signin in "
                        "a 1:1 chat with me, or just ask for a meeting: its card asks you alone."
                    )
                )
            else:
                card = await self.card(turn_context, user, None, lang)
                sent = await turn_context.send_activity(card_message(card))
                if sent is not None and sent.id:  # it becomes "Signed in" once the user is back
                    await self._storage.write(
                        {
                            _sign_in_card_key(user): {
                                "card_id": sent.id,
                                "at": conversation_of(turn_context),
                                # No use once its link has expired.
                                "expires": self._clock() + SIGN_IN_TTL_SECONDS,
                            }
                        }
                    )
        except NoWorkAccount as error:
            await turn_context.send_activity(explain(error, lang))
        else:
            await turn_context.send_activity(_("You're already signed in."))

    async def sign_out(self, turn_context: TurnContext) -> None:
        lang = user_language(turn_context.activity, self._languages)
        _ = lang.gettext
        if self._sign_in is None:
            await turn_context.send_activity(_("Nothing to sign out of: you never signed in here."))
            return
        try:
            await self._sign_in.tokens.sign_out(teams_user(turn_context.activity))
        except NoWorkAccount as error:
            await turn_context.send_activity(explain(error, lang))
            return
        await turn_context.send_activity(
            _(
                "You're signed out: I removed your saved sign-in. "
                "Meetings you created stay as they are."
            )
        )


async def _login_hint(turn_context: TurnContext) -> str:
    """The user's UPN from Teams' roster, so the sign-in page can skip the account picker."""
    if turn_context.activity.channel_id != "msteams":
        return ""
    try:
        member: Any = await TeamsInfo.get_member(
            turn_context, turn_context.activity.from_property.id
        )
    except Exception:
        log.debug("no roster entry for the sign-in hint", exc_info=True)
        return ""
    upn = str(getattr(member, "user_principal_name", "") or "")
    # A guest's UPN in the tenant that invited them (name_domain#EXT#@tenant) is not a name
    # they sign in with; Microsoft's Teams auth sample leaves it out of the hint too.
    return "" if "#ext#@" in upn.lower() else upn


def _sign_in_card_key(user: TeamsUser) -> str:
    return f"signin-card/{person_key(user)}"
