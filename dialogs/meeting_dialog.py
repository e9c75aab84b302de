"""The create-meeting conversation in the 1:1 chat: ask only for what is missing.

Each step has one job. The dialog never calls Graph: it ends with the request as far as it
got (or None when the user gave up); the bot then shows it on a card to confirm.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.dialogs import (
    ComponentDialog,
    DialogTurnResult,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import PromptOptions, PromptValidatorContext, TextPrompt
from botbuilder.schema import Activity

from dialogs.cards import Answer, question_card, start_question_card
from dialogs.language import N_, Language
from dialogs.request import (
    MeetingDraft,
    RequestError,
    check_subject,
    parse_length,
    parse_request,
)
from dialogs.zones import zone_from_text

MAX_ATTEMPTS = 3
# The result of a step given up on, and what the user is then told.
GIVE_UP = N_(
    "Let's leave it there: nothing was created. Type /meet whenever you want to try again."
)
# Posts a question card (an activity whose summary is the question) and keeps track of it.
AskQuestion = Callable[[TurnContext, Activity], Awaitable[None]]
# The language a turn is answered in (the sender's).
LanguageOf = Callable[[TurnContext], Language]
# Yes and no, as the passcode question reads them, in each language the bot speaks.
YES = frozenset({"yes", "y", "yeah", "sure", "ja", "oui", "sí", "si", "はい"})
NO = frozenset({"no", "n", "nope", "nein", "non", "いいえ"})


class MeetingDialog(ComponentDialog):
    """Subject → start → length → passcode, each asked only when missing."""

    def __init__(
        self,
        *,
        default_length: timedelta,
        ask_passcode: bool,
        ask: AskQuestion,
        language: LanguageOf,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(MeetingDialog.__name__)
        self._default_length = default_length
        self._ask_passcode = ask_passcode
        self._language = language
        self._clock = clock
        self.add_dialog(TextPrompt("subject", self._valid_subject))
        self.add_dialog(QuestionPrompt("start", self._valid_start, ask))
        self.add_dialog(QuestionPrompt("length", self._valid_length, ask))
        self.add_dialog(QuestionPrompt("passcode", self._valid_yes_no, ask))
        self.add_dialog(
            WaterfallDialog(
                "steps",
                [
                    self._ask_subject,
                    self._ask_start,
                    self._ask_length,
                    self._ask_passcode_step,
                    self._done,
                ],
            )
        )
        self.initial_dialog_id = "steps"

    # -- steps ---------------------------------------------------------------------------------

    async def _ask_subject(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = MeetingDraft.from_json(step.options)
        step.values["draft"] = draft.to_json()
        if draft.subject:
            return await step.next(None)
        lang = self._language(step.context)
        return await step.prompt("subject", _prompt(lang.gettext("What is the meeting about?")))

    async def _ask_start(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        if step.result == GIVE_UP:
            return await self._give_up(step)
        if step.result is not None:
            draft = replace(draft, subject=step.result)
        step.values["draft"] = draft.to_json()
        if draft.start:
            return await step.next(None)
        now = self._clock().astimezone(zone_from_text(draft.timezone))
        lang = self._language(step.context)
        question = lang.gettext("When should “{subject}” start?", subject=draft.subject)
        card = start_question_card(
            question,
            # Translators: the example must be one the bot reads in your language (it reads
            # German, French and Spanish); in other languages keep it English.
            lang.gettext(
                "Pick one, type something like “Thursday 3pm”, or choose a date and time."
            ),
            [
                (lang.gettext("Now"), "Now"),
                (lang.gettext("In 15 minutes"), "In 15 minutes"),
                (lang.gettext("Tomorrow 9:00"), "Tomorrow 9:00"),
            ],
            now,
            lang=lang,
        )
        return await step.prompt(
            "start",
            PromptOptions(
                prompt=_card(question, card),
                retry_prompt=_text(
                    # Translators: as the examples above, ones the bot reads in your language.
                    lang.gettext(
                        "I couldn't read a start time in that. Try “tomorrow 10am”, "
                        "“in 15 minutes” or “Friday 2pm”."
                    )
                ),
                validations=draft.to_json(),  # the validator reads the zone from here
            ),
        )

    async def _ask_length(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        if step.result is not None:
            if step.result == GIVE_UP:
                return await self._give_up(step)
            draft = MeetingDraft.from_json({**draft.to_json(), **step.result})
        step.values["draft"] = draft.to_json()
        if draft.length_given:
            return await step.next(None)
        lang = self._language(step.context)
        return await step.prompt(
            "length",
            PromptOptions(
                prompt=_question(
                    lang.gettext("How long?"),
                    # Translators: as the examples above, ones the bot reads in your language.
                    lang.gettext("Pick one or type a length like “45m” or “1h30”."),
                    [(lang.duration(m, "minute", "short"), f"{m} min") for m in (15, 30, 45, 60)],
                    lang,
                ),
                retry_prompt=_text(
                    # Translators: as the examples above, ones the bot reads in your language.
                    lang.gettext("Give me a length like 15m, 45 minutes or 1h.")
                ),
            ),
        )

    async def _ask_passcode_step(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        if step.result is not None:
            if step.result == GIVE_UP:
                return await self._give_up(step)
            assert draft.start is not None  # the start step came first
            start = draft.start
            end = (start.astimezone(UTC) + timedelta(minutes=step.result)).astimezone(start.tzinfo)
            draft = replace(draft, end=end, length_given=True)
        step.values["draft"] = draft.to_json()
        if not self._ask_passcode or draft.passcode_required is not None:
            return await step.next(None)
        lang = self._language(step.context)
        return await step.prompt(
            "passcode",
            PromptOptions(
                prompt=_question(
                    lang.gettext("Should people need a passcode to join?"),
                    lang.gettext("Pick one or type yes or no."),
                    [(lang.gettext("Yes"), "Yes"), (lang.gettext("No"), "No")],
                    lang,
                ),
                retry_prompt=_text(lang.gettext("Please answer yes or no.")),
            ),
        )

    async def _done(self, step: WaterfallStepContext) -> DialogTurnResult:
        draft = self._draft(step)
        if step.result is not None:
            if step.result == GIVE_UP:
                return await self._give_up(step)
            draft = replace(draft, passcode_required=step.result == "yes")
        return await step.end_dialog(draft.to_json())

    # -- validators: each reads the answer (typed text or a card's value) into a result ---------

    async def _valid_subject(self, prompt: PromptValidatorContext) -> bool:
        try:
            subject = check_subject(prompt.context.activity.text or "")
        except RequestError as exc:
            return await _retry(prompt, self._language(prompt.context).message(exc))
        if not subject:
            return await _retry(prompt, None)
        prompt.recognized.value = subject
        return True

    async def _valid_start(self, prompt: PromptValidatorContext) -> bool:
        draft = MeetingDraft.from_json(prompt.options.validations)
        value = prompt.context.activity.value
        text = prompt.context.activity.text or ""
        if not text and isinstance(value, dict) and value.get("date") and value.get("time"):
            text = f"{value['date']}T{value['time']}"
        try:
            parsed = parse_request(
                text,
                now=self._clock(),
                tz=zone_from_text(draft.timezone),
                default_length=self._default_length,
                locale=_locale(prompt.context),
            )
        except RequestError as exc:
            return await _retry(prompt, self._language(prompt.context).message(exc))
        if parsed.start is None or parsed.end is None:
            return await _retry(prompt, None)
        prompt.recognized.value = {
            "start": parsed.start.isoformat(),
            "end": parsed.end.isoformat(),
            "length_given": parsed.length_given,
            "named_timezone": parsed.named_timezone,
            "named_timezone_label": parsed.named_timezone_label,
        }
        return True

    async def _valid_length(self, prompt: PromptValidatorContext) -> bool:
        length = parse_length(prompt.context.activity.text or "", locale=_locale(prompt.context))
        if length is None or not timedelta(0) < length <= timedelta(hours=24):
            return await _retry(prompt, None)
        prompt.recognized.value = int(length.total_seconds() // 60)
        return True

    async def _valid_yes_no(self, prompt: PromptValidatorContext) -> bool:
        answer = (prompt.context.activity.text or "").strip().lower()
        if answer in YES or answer in NO:
            prompt.recognized.value = "yes" if answer in YES else "no"
            return True
        return await _retry(prompt, None)

    # -- helpers -------------------------------------------------------------------------------

    def _draft(self, step: WaterfallStepContext) -> MeetingDraft:
        return MeetingDraft.from_json(step.values["draft"])

    async def _give_up(self, step: WaterfallStepContext) -> DialogTurnResult:
        await step.context.send_activity(self._language(step.context).gettext(GIVE_UP))
        return await step.end_dialog(None)


async def _retry(prompt: PromptValidatorContext, hint: str | None) -> bool:
    """Ask again with a hint; after the third miss, stop asking (the step then gives up)."""
    if prompt.options.number_of_attempts + 1 >= MAX_ATTEMPTS:
        prompt.recognized.value = GIVE_UP
        return True
    if hint:
        await prompt.context.send_activity(hint)
    return False


def _locale(turn_context: TurnContext) -> str:
    """The language the answer is in: the turn's activity's (the parser reads any tag safely)."""
    locale = turn_context.activity.locale
    return locale if isinstance(locale, str) else ""


def _prompt(text: str) -> PromptOptions:
    return PromptOptions(prompt=_text(text), retry_prompt=_text(text))


def _text(text: str) -> Activity:
    return MessageFactory.text(text)


def _question(question: str, hint: str, answers: list[Answer], lang: Language) -> Activity:
    return _card(question, question_card(question, hint, answers, lang=lang))


def _card(question: str, card: dict[str, Any]) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.summary = question  # what the card says once it is answered, and notifications
    return activity


class QuestionPrompt(TextPrompt):
    """A text prompt whose question is a card, posted by `ask` so it can be closed later.

    A retry's hint is sent as usual; asking again (after /help) posts the card anew.
    """

    def __init__(
        self,
        dialog_id: str,
        validator: Callable[[PromptValidatorContext], Awaitable[bool]],
        ask: AskQuestion,
    ) -> None:
        super().__init__(dialog_id, validator)
        self._ask = ask

    async def on_prompt(
        self,
        turn_context: TurnContext,
        state: dict[str, object],
        options: PromptOptions,
        is_retry: bool,
    ) -> None:
        if is_retry:
            await super().on_prompt(turn_context, state, options, is_retry)
        else:
            await self._ask(turn_context, options.prompt)
