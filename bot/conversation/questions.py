"""The 1:1 dialog's question cards: which one is open, and closing it once it is answered."""

from __future__ import annotations

import logging
from datetime import date, datetime, time

from botbuilder.core import StatePropertyAccessor, TurnContext
from botbuilder.schema import Activity

from bot.conversation.messages import card_message
from dialogs.cards import answered_card
from dialogs.language import Language
from dialogs.meeting_dialog import LanguageOf

log = logging.getLogger(__name__)


class QuestionCards:
    def __init__(self, asked: StatePropertyAccessor, language: LanguageOf) -> None:
        # The open question card, {"id", "question"}, kept with the dialog's state.
        self._asked = asked
        self._language = language

    async def ask(self, turn_context: TurnContext, question: Activity) -> None:
        """Post the dialog's next question card; the one before it was answered by this turn."""
        await self.close(
            turn_context, answered(turn_context.activity, self._language(turn_context))
        )
        sent = await turn_context.send_activity(question)
        if sent is not None and sent.id:
            await self._asked.set(turn_context, {"id": sent.id, "question": question.summary or ""})

    async def is_current(self, turn_context: TurnContext) -> bool:
        """Whether this turn answers the open question: typed, or pressed on its own card."""
        activity = turn_context.activity
        if not activity.value or not activity.reply_to_id:
            return True
        asked = await self._asked.get(turn_context)
        return not asked or asked.get("id") == activity.reply_to_id

    async def close(self, turn_context: TurnContext, outcome: str) -> None:
        """Put the last question card, if any, in its final state: no buttons left to press.

        `outcome` is in the language of this turn, as the question was in the turn that asked.
        """
        asked = await self._asked.get(turn_context)
        if not asked:
            return
        await self._asked.delete(turn_context)
        lang = self._language(turn_context)
        closed = card_message(answered_card(asked["question"], outcome, lang=lang))
        closed.id = asked["id"]
        try:
            await turn_context.update_activity(closed)
        except Exception:  # cosmetic: the dialog has moved on either way
            log.info("could not close a question card", exc_info=True)


def pressed_answer(value: object) -> bool:
    """A question card's button: {"answer": ...}, not a request card's {"meet": ...}."""
    return isinstance(value, dict) and isinstance(value.get("answer"), str) and "meet" not in value


def answered(activity: Activity, lang: Language) -> str:
    """The answer a message gave, as the question card it answered shows it: a quick answer by
    its button's title (in the user's language), a typed one as typed, a picked date and time
    as the user's locale writes them."""
    value = activity.value if isinstance(activity.value, dict) else {}
    shown = value.get("shown") if isinstance(value.get("shown"), str) else None
    return f"✓ {(shown or activity.text or _picked(value, lang))[:100]}"


def _picked(value: dict[str, object], lang: Language) -> str:
    """The date and time picked on the start card ("Tue, Dec 1, 11:30 AM"), as sent if odd."""
    day, at = str(value.get("date") or "")[:10], str(value.get("time") or "")[:8]
    try:
        return lang.value(datetime.combine(date.fromisoformat(day), time.fromisoformat(at)))
    except ValueError:
        return f"{day} {at}".strip()
