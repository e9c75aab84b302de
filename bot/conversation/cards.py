"""Adaptive Cards the bot sends, one function per card."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.meetings.request import WAIT_HOURS
from dialogs.cards import adaptive_card
from dialogs.language import N_, Language, zone_name
from dialogs.request import MAX_SUBJECT_CHARS
from dialogs.zones import zone_to_text
from graph.models import OnlineMeeting


def meeting_card(meeting: OnlineMeeting, tz: tzinfo, lang: Language) -> dict[str, Any]:
    """The answer to a created meeting: when, a Join button, the ID, passcode and dial-in."""
    _ = lang.gettext
    when = meeting_time(meeting, tz, lang)
    facts = []
    if meeting.join_meeting_id:
        facts.append(_fact(_("Meeting ID"), group_digits(meeting.join_meeting_id)))
    if meeting.passcode:
        facts.append(_fact(_("Passcode"), meeting.passcode))
    if meeting.toll_number:
        facts.append(_fact(_("Dial in"), meeting.toll_number))
    if meeting.toll_free_number:
        facts.append(_fact(_("Toll-free"), meeting.toll_free_number))
    if meeting.conference_id:
        facts.append(_fact(_("Phone conference ID"), group_digits(meeting.conference_id) + "#"))
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": meeting.subject or _("Teams meeting"),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": when,
            "wrap": True,
            "spacing": "None",
        },
        {"type": "FactSet", "facts": facts},
    ]
    if not meeting.conference_id:
        body.append(
            {
                "type": "TextBlock",
                "text": _(
                    "No dial-in numbers: the organizer has no audio-conferencing licence, "
                    "so people join from the app or the browser."
                ),
                "wrap": True,
                "size": "Small",
                "isSubtle": True,
            }
        )
    return adaptive_card(
        body,
        actions=[
            {"type": "Action.OpenUrl", "title": _("Join meeting"), "url": meeting.join_web_url}
        ],
        fallback=meeting_summary(meeting, when, lang),
        lang=lang.code,
    )


# Lengths the form offers; a command or conversation that named another keeps it as an option.
FORM_LENGTHS = (15, 30, 45, 60, 90, 120)


def request_card(
    *,
    subject: str,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    passcode_required: bool | None,
    request: str,
    editing: bool,
    ask_passcode: bool,
    lang: Language,
    zone_guessed: bool = False,
    named_zone: tuple[tzinfo, str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The requester's card: the request as understood (Create / Change / Cancel), or the form.

    The form is the request's fields, prefilled, with Create and Cancel; an `error` from the
    last Create shows above them. Times read in a zone nobody chose come with a way to fix it.
    """
    _ = lang.gettext
    data = {"request": request}
    if editing:
        body = _form_body(subject, start, end, tz, passcode_required, ask_passcode, lang)
        actions = [
            _execute(_("Create"), "create", data, style="positive"),
            _execute(_("Cancel"), "cancel", data),
        ]
        title = _("New meeting")
    else:
        facts = [_fact(_("When"), lang.span(start, end, tz))]
        if named_zone is not None and zone_to_text(named_zone[0]) != zone_to_text(tz):
            facts.append(_fact(_("Asked as"), _as_asked(start, tz, named_zone, lang)))
        facts.append(_fact(_("Length"), lang.length(end - start)))
        if passcode_required is not None:
            # Translators: the Passcode fact's value: people need one to join, or they don't.
            needed = _("required") if passcode_required else _("none")
            facts.append(_fact(_("Passcode"), needed))
        body = [
            {
                "type": "TextBlock",
                "text": subject,
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
                "spacing": "None",
            },
            {"type": "FactSet", "facts": facts},
        ]
        actions = [
            _execute(_("Create"), "create", data, style="positive"),
            _execute(_("Change"), "edit", data),
            _execute(_("Cancel"), "cancel", data),
        ]
        title = _("Create this meeting?")
    head = [{"type": "TextBlock", "text": title, "isSubtle": True, "wrap": True}]
    if error:
        head.append({"type": "TextBlock", "text": error, "color": "Attention", "wrap": True})
    if zone_guessed:
        body.append(
            {
                "type": "TextBlock",
                # Translators: “timezone” and “timezone Berlin” are what the bot reads; keep them.
                "text": _(
                    "Times are in {zone}, which may not be yours: tell me your zone with "
                    "“timezone” and your city, for example timezone Berlin.",
                    zone=zone_name(start.astimezone(tz)),
                ),
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            }
        )
    when = lang.span(start, end, tz)
    return adaptive_card(
        head + body,
        actions=actions,
        # Translators: create, change and cancel are the words the bot reads; keep them.
        fallback=_(
            "Create {subject}, {when}? Reply create, change or cancel.", subject=subject, when=when
        )
        if subject
        else _("Create a meeting, {when}? Reply create, change or cancel.", when=when),
        lang=lang.code,
    )


def _as_asked(start: datetime, tz: tzinfo, named: tuple[tzinfo, str], lang: Language) -> str:
    """The start in the zone the request named, beside the user's: "3:00 PM ET · 9:00 PM yours"."""
    zone, label = named
    theirs, yours = start.astimezone(zone), start.astimezone(tz)
    # The day too, where the two zones' dates differ at that instant.
    their_time = lang.time(theirs) if theirs.date() == yours.date() else lang.value(theirs)
    # Translators: {time} in the zone the user named ({zone}, e.g. "ET"), then in their own zone.
    return lang.gettext(
        "{time} {zone} · {yours} your time", time=their_time, zone=label, yours=lang.time(yours)
    )


def _form_body(
    subject: str,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    passcode_required: bool | None,
    ask_passcode: bool,
    lang: Language,
) -> list[dict[str, Any]]:
    _ = lang.gettext
    local = start.astimezone(tz)
    minutes = int((end - start).total_seconds() // 60)
    lengths = sorted({*FORM_LENGTHS, minutes})
    # The date and time inputs hold ISO values: the client shows them as its user reads them.
    body: list[dict[str, Any]] = [
        {
            "type": "Input.Text",
            "id": "subject",
            "label": _("Subject"),
            "value": subject,
            "maxLength": MAX_SUBJECT_CHARS,
            "placeholder": _("What is the meeting about?"),
            "isRequired": True,
            "errorMessage": _(GIVE_A_SUBJECT),
        },
        {
            "type": "ColumnSet",
            "columns": [
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [
                        {
                            "type": "Input.Date",
                            "id": "date",
                            "label": _("Date"),
                            "value": f"{local:%Y-%m-%d}",
                            "isRequired": True,
                        }
                    ],
                },
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [
                        {
                            "type": "Input.Time",
                            "id": "time",
                            "label": _("Start"),
                            "value": f"{local:%H:%M}",
                            "isRequired": True,
                        }
                    ],
                },
            ],
        },
        {
            "type": "Input.ChoiceSet",
            "id": "minutes",
            "label": _("Length"),
            "value": str(minutes),
            "choices": [
                {"title": lang.length(timedelta(minutes=m)), "value": str(m)} for m in lengths
            ],
        },
    ]
    if ask_passcode:
        body.append(
            {
                "type": "Input.Toggle",
                "id": "passcode",
                "title": _("People need a passcode to join"),
                "value": "false" if passcode_required is False else "true",
                "valueOn": "true",
                "valueOff": "false",
            }
        )
    body.append(
        {
            "type": "TextBlock",
            "text": _("Times are in {zone}.", zone=zone_name(local)),
            "wrap": True,
            "size": "Small",
            "isSubtle": True,
        }
    )
    return body


def others_card(
    *, name: str, subject: str | None, doing: str, owner_id: str, request: str, lang: Language
) -> dict[str, Any]:
    """What everyone else in a group chat or channel sees while a request is set up.

    `doing` is a message with a `{name}` field ("{name} is setting up a meeting."). The
    requester's client swaps the card for their own view by itself (refresh for their user id
    only); Open does the same on clients that do not refresh cards. Nothing personal is in it.
    """
    _ = lang.gettext
    who = name or _("Someone")
    headline = _(doing, name=who)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": headline, "wrap": True, "weight": "Bolder"}
    ]
    if subject:
        body.append({"type": "TextBlock", "text": subject, "wrap": True, "spacing": "None"})
    body.append(
        {
            "type": "TextBlock",
            "text": _("Only {name} can fill this in.", name=who),
            "wrap": True,
            "size": "Small",
            "isSubtle": True,
        }
    )
    data = {"request": request, "by": who}
    card = adaptive_card(
        body,
        actions=[_execute(_("Open"), "refresh", data)],
        fallback=headline,
        lang=lang.code,
    )
    card["refresh"] = {
        "action": {"type": "Action.Execute", "verb": "refresh", "data": {"meet": "refresh"} | data},
        "userIds": [owner_id],
    }
    return card


def closed_card(title: str, lang: Language, subject: str | None = None) -> dict[str, Any]:
    """A request that ended without a meeting (cancelled, replaced, expired): no buttons."""
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": title, "wrap": True}]
    if subject:
        body.insert(
            0,
            {"type": "TextBlock", "text": subject, "wrap": True, "weight": "Bolder"},
        )
    return adaptive_card(body, actions=[], fallback=title, lang=lang.code)


# The commands, each with what it does. The commands are the same in every language; the
# example request is in the user's, where the bot reads it.
COMMANDS = (
    (
        # Translators: a request the bot reads in your language (it reads German, French and
        # Spanish); in other languages keep it English. /meet is the command: keep it.
        N_("/meet Design review tomorrow 3pm for 45m"),
        N_("Create a meeting; anything missing is asked."),
    ),
    ("/meet", N_("Start a short conversation: subject, time, length.")),
    ("cancel", N_("Stop the request in progress.")),
    ("/timezone Berlin", N_("Read and show your times in that city's zone.")),
    ("/signin", N_("Sign in ahead of time.")),
    ("/signout", N_("Forget your saved sign-in.")),
    ("/help", N_("This list.")),
)
# What the form says when its subject is left empty.
GIVE_A_SUBJECT = N_("Give the meeting a subject.")


def retry_card(problem: str, *, request: str, lang: Language) -> dict[str, Any]:
    """Graph stayed busy: say so in one line, keep the request, offer to try again."""
    _ = lang.gettext
    return _kept_request_card(
        problem,
        _("I'll keep your request for {wait}.", wait=_wait(lang)),
        action=(_("Retry"), {"meet": "retry", "request": request}),
        lang=lang,
    )


def unknown_card(problem: str, *, request: str, lang: Language) -> dict[str, Any]:
    """The create may have worked: say so, and offer a new meeting only as a deliberate choice."""
    _ = lang.gettext
    return _kept_request_card(
        problem,
        _(
            "I won't try again on my own, so there is at most one such meeting. If you need its "
            "link now, create another (this choice lasts {wait}).",
            wait=_wait(lang),
        ),
        action=(_("Create another"), {"meet": "another", "request": request}),
        lang=lang,
    )


def _kept_request_card(
    problem: str, note: str, *, action: tuple[str, dict[str, str]], lang: Language
) -> dict[str, Any]:
    title, data = action
    return adaptive_card(
        [
            {"type": "TextBlock", "text": problem, "wrap": True},
            {"type": "TextBlock", "text": note, "wrap": True, "isSubtle": True},
        ],
        actions=[_execute(title, data["meet"], data)],
        fallback=problem,
        lang=lang.code,
    )


def help_card(intro: str, lang: Language) -> dict[str, Any]:
    """The commands, each with an example."""
    return adaptive_card(
        [
            {"type": "TextBlock", "text": intro, "wrap": True},
            {"type": "FactSet", "facts": _commands(COMMANDS, lang)},
        ],
        actions=[],
        fallback=intro,
        lang=lang.code,
    )


def welcome_card(intro: str, lang: Language) -> dict[str, Any]:
    """Posted once when the bot is installed in a chat or added to a team."""
    _ = lang.gettext
    return adaptive_card(
        [
            {
                "type": "TextBlock",
                "text": _("Hi! I'm Meet."),
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "TextBlock", "text": intro, "wrap": True},
            {"type": "FactSet", "facts": _commands(COMMANDS[:3], lang)},
            {
                "type": "TextBlock",
                "text": _("In channels and group chats, @mention me first."),
                "wrap": True,
                "isSubtle": True,
            },
        ],
        actions=[],
        fallback=intro,
        lang=lang.code,
    )


def sign_in_card(url: str, *, pending_subject: str | None, lang: Language) -> dict[str, Any]:
    """Asks the user to sign in once, so meetings are created with their own account."""
    _ = lang.gettext
    why = (
        _(
            "To create “{subject}” with you as the organizer, I need you to sign in once with "
            "your work or school account. I'll create it as soon as you're back, if that is "
            "within {wait}.",
            subject=pending_subject,
            wait=_wait(lang),
        )
        if pending_subject
        else _(
            "Sign in once with your work or school account so I can create meetings with you "
            "as the organizer."
        )
    )
    return adaptive_card(
        [
            {
                "type": "TextBlock",
                "text": _("Sign in to Microsoft"),
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "TextBlock", "text": why, "wrap": True},
            {
                "type": "TextBlock",
                "text": _(
                    "The link works for you only and expires in {minutes}.",
                    minutes=lang.duration(10, "minute"),
                ),
                "wrap": True,
                "size": "Small",
                "isSubtle": True,
            },
        ],
        actions=[{"type": "Action.OpenUrl", "title": _("Sign in"), "url": url}],
        fallback=_("Sign in to create meetings: {url}", url=url),
        lang=lang.code,
    )


def meeting_summary(meeting: OnlineMeeting, when: str, lang: Language) -> str:
    """The meeting in one line of plain text, for notifications and clients without cards;
    `when` is its time as `meeting_time` writes it."""
    _ = lang.gettext
    details = []
    if meeting.join_meeting_id:
        details.append(_("Meeting ID {id}", id=group_digits(meeting.join_meeting_id)))
    if meeting.passcode:
        details.append(_("passcode {passcode}", passcode=meeting.passcode))
    details.append(_("join: {url}", url=meeting.join_web_url))
    return _(
        "{subject}, {when}. {details}",
        subject=meeting.subject or _("Teams meeting"),
        when=when,
        details=", ".join(details),
    )


def meeting_time(meeting: OnlineMeeting, tz: tzinfo, lang: Language) -> str:
    if meeting.start is None or meeting.end is None:
        return lang.gettext("Time not set")
    return lang.span(meeting.start, meeting.end, tz)


def group_digits(value: str) -> str:
    """'3141592653589' -> '314 159 265 358 9', the way Teams prints meeting IDs."""
    return " ".join(value[i : i + 3] for i in range(0, len(value), 3))


def _wait(lang: Language) -> str:
    """How long a request waits for its requester: "24 hours"."""
    return lang.duration(WAIT_HOURS, "hour")


def _commands(commands: tuple[tuple[str, str], ...], lang: Language) -> list[dict[str, str]]:
    return [_fact(lang.gettext(command), lang.gettext(what)) for command, what in commands]


def _execute(
    title: str, verb: str, data: dict[str, str], *, style: str | None = None
) -> dict[str, Any]:
    """A Universal Action button, falling back to Action.Submit on clients without them.

    Both carry the same data, with the verb as `meet`, so one handler reads either.
    """
    payload = {**data, "meet": verb}
    action: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": verb}
    action |= {"data": payload, "fallback": {"type": "Action.Submit", "title": title}}
    action["fallback"]["data"] = payload
    if style:
        action["style"] = style
        action["fallback"]["style"] = style
    return action


def _fact(title: str, value: str) -> dict[str, str]:
    return {"title": title, "value": value}
