"""The 1:1 dialog's question cards, and the Adaptive Card shape every card of the bot shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from dialogs.language import Language

# 1.5 is the newest schema Teams renders on desktop, web and mobile alike.
ADAPTIVE_CARD_VERSION = "1.5"


# The form's suggested start leaves time to send the invitation and join.
PICKER_LEAD = timedelta(minutes=10)


# A quick answer: the button's title, and the answer it gives as if typed (which the parser
# reads, so it stays English while the title is the user's language).
Answer = tuple[str, str]


def question_card(
    question: str, hint: str, answers: Sequence[Answer], *, lang: Language
) -> dict[str, Any]:
    """A question in the 1:1 chat with its quick answers as buttons; typing works as well."""
    return adaptive_card(
        _question_head(question, hint),
        actions=[_answer(*answer) for answer in answers],
        fallback=f"{question} {hint}",
        lang=lang.code,
    )


def start_question_card(
    question: str, hint: str, answers: Sequence[Answer], now: datetime, *, lang: Language
) -> dict[str, Any]:
    """The start question: quick answers, or a date and time picked on the card."""
    start = next_quarter_hour(now + PICKER_LEAD)
    # The inputs' values are ISO (the client shows them its own way) and so are their answers.
    picker = [
        {
            "type": "Input.Date",
            "id": "date",
            "label": lang.gettext("Date"),
            "value": f"{start:%Y-%m-%d}",
            "min": f"{now:%Y-%m-%d}",
        },
        {
            "type": "Input.Time",
            "id": "time",
            "label": lang.gettext("Start time"),
            "value": f"{start:%H:%M}",
        },
    ]
    return adaptive_card(
        [
            *_question_head(question, hint),
            {"type": "ActionSet", "actions": [_answer(*answer) for answer in answers]},
            *picker,
        ],
        # Posts the date and time, read by the start question itself.
        actions=[{"type": "Action.Submit", "title": lang.gettext("Use this time")}],
        fallback=f"{question} {hint}",
        lang=lang.code,
    )


def answered_card(question: str, outcome: str, *, lang: Language) -> dict[str, Any]:
    """A question card once it is over: the question and how it ended, nothing to press."""
    return adaptive_card(
        [
            {"type": "TextBlock", "text": question, "wrap": True},
            {"type": "TextBlock", "text": outcome, "wrap": True, "spacing": "None"},
        ],
        actions=[],
        fallback=f"{question} {outcome}",
        lang=lang.code,
    )


def _question_head(question: str, hint: str) -> list[dict[str, Any]]:
    return [
        {"type": "TextBlock", "text": question, "wrap": True},
        {"type": "TextBlock", "text": hint, "wrap": True, "size": "Small", "isSubtle": True},
    ]


def _answer(title: str, answer: str) -> dict[str, Any]:
    """A button that answers a question with `answer`, as if it had been typed.

    When its title says it in another language, the title comes along as `shown`: what the
    question card shows as its answer once it is closed.
    """
    data = {"answer": answer} if title == answer else {"answer": answer, "shown": title}
    # No inputs: a quick answer on the start card must not carry the picker's date and time.
    return {
        "type": "Action.Submit",
        "title": title,
        "data": data,
        "associatedInputs": "none",
    }


def next_quarter_hour(moment: datetime) -> datetime:
    """The first :00, :15, :30 or :45 at or after `moment` (wall-clock time in its zone)."""
    past = timedelta(
        minutes=moment.minute % 15, seconds=moment.second, microseconds=moment.microsecond
    )
    return moment if not past else moment + (timedelta(minutes=15) - past)


def adaptive_card(
    body: list[dict[str, Any]], *, actions: list[dict[str, Any]], fallback: str, lang: str
) -> dict[str, Any]:
    """A card of the bot's Adaptive Card version, written in language `lang` ("de")."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": ADAPTIVE_CARD_VERSION,
        "lang": lang,
        "fallbackText": fallback,
        "body": body,
        "actions": actions,
    }
