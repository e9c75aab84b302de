"""Adaptive Cards the bot sends, one function per card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bot.meetings.request import WAIT_HOURS
from dialogs.cards import adaptive_card
from dialogs.request import MAX_SUBJECT_CHARS
from dialogs.zones import zone_to_text
from graph.models import OnlineMeeting


def meeting_card(meeting: OnlineMeeting, tz: tzinfo) -> dict[str, Any]:
    """The answer to a created meeting: when, a Join button, the ID, passcode and dial-in."""
    facts = []
    if meeting.join_meeting_id:
        facts.append(_fact("Meeting ID", group_digits(meeting.join_meeting_id)))
    if meeting.passcode:
        facts.append(_fact("Passcode", meeting.passcode))
    if meeting.toll_number:
        facts.append(_fact("Dial in", meeting.toll_number))
    if meeting.toll_free_number:
        facts.append(_fact("Toll-free", meeting.toll_free_number))
    if meeting.conference_id:
        facts.append(_fact("Phone conference ID", group_digits(meeting.conference_id) + "#"))
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": meeting.subject or "Teams meeting",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
        {"type": "TextBlock", "text": meeting_time(meeting, tz), "wrap": True, "spacing": "None"},
        {"type": "FactSet", "facts": facts},
    ]
    if not meeting.conference_id:
        body.append(
            {
                "type": "TextBlock",
                "text": "No dial-in numbers: the organizer has no audio-conferencing licence, "
                "so people join from the app or the browser.",
                "wrap": True,
                "size": "Small",
                "isSubtle": True,
            }
        )
    return adaptive_card(
        body,
        actions=[{"type": "Action.OpenUrl", "title": "Join meeting", "url": meeting.join_web_url}],
        fallback=meeting_summary(meeting, tz),
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
    zone_guessed: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    """The requester's card: the request as understood (Create / Change / Cancel), or the form.

    The form is the request's fields, prefilled, with Create and Cancel; an `error` from the
    last Create shows above them. Times read in a zone nobody chose come with a way to fix it.
    """
    data = {"request": request}
    if editing:
        body = _form_body(subject, start, end, tz, passcode_required, ask_passcode)
        actions = [
            _execute("Create", "create", data, style="positive"),
            _execute("Cancel", "cancel", data),
        ]
        title = "New meeting"
    else:
        facts = [_fact("When", format_span(start, end, tz))]
        facts.append(_fact("Length", format_length(end - start)))
        if passcode_required is not None:
            facts.append(_fact("Passcode", "required" if passcode_required else "none"))
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
            _execute("Create", "create", data, style="positive"),
            _execute("Change", "edit", data),
            _execute("Cancel", "cancel", data),
        ]
        title = "Create this meeting?"
    head = [{"type": "TextBlock", "text": title, "isSubtle": True, "wrap": True}]
    if error:
        head.append({"type": "TextBlock", "text": error, "color": "Attention", "wrap": True})
    if zone_guessed:
        body.append(
            {
                "type": "TextBlock",
                "text": f"Times are in {zone_name(start.astimezone(tz))}, which may not be "
                "yours: tell me your zone with “timezone” and your city, for example "
                "timezone Berlin.",
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            }
        )
    return adaptive_card(
        head + body,
        actions=actions,
        fallback=f"Create {subject or 'a meeting'}, {format_span(start, end, tz)}? "
        "Reply create, change or cancel.",
    )


def _form_body(
    subject: str,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    passcode_required: bool | None,
    ask_passcode: bool,
) -> list[dict[str, Any]]:
    local = start.astimezone(tz)
    minutes = int((end - start).total_seconds() // 60)
    lengths = sorted({*FORM_LENGTHS, minutes})
    body: list[dict[str, Any]] = [
        {
            "type": "Input.Text",
            "id": "subject",
            "label": "Subject",
            "value": subject,
            "maxLength": MAX_SUBJECT_CHARS,
            "placeholder": "What is the meeting about?",
            "isRequired": True,
            "errorMessage": "Give the meeting a subject.",
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
                            "label": "Date",
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
                            "label": "Start",
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
            "label": "Length",
            "value": str(minutes),
            "choices": [
                {"title": format_length(timedelta(minutes=m)), "value": str(m)} for m in lengths
            ],
        },
    ]
    if ask_passcode:
        body.append(
            {
                "type": "Input.Toggle",
                "id": "passcode",
                "title": "People need a passcode to join",
                "value": "false" if passcode_required is False else "true",
                "valueOn": "true",
                "valueOff": "false",
            }
        )
    body.append(
        {
            "type": "TextBlock",
            "text": f"Times are in {zone_name(local)}.",
            "wrap": True,
            "size": "Small",
            "isSubtle": True,
        }
    )
    return body


def others_card(
    *, name: str, subject: str | None, doing: str, owner_id: str, request: str
) -> dict[str, Any]:
    """What everyone else in a group chat or channel sees while a request is set up.

    The requester's client swaps it for their own view by itself (refresh for their user id
    only); Open does the same on clients that do not refresh cards. Nothing personal is in it.
    """
    who = name or "Someone"
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": f"{who} {doing}", "wrap": True, "weight": "Bolder"}
    ]
    if subject:
        body.append({"type": "TextBlock", "text": subject, "wrap": True, "spacing": "None"})
    body.append(
        {
            "type": "TextBlock",
            "text": f"Only {who} can fill this in.",
            "wrap": True,
            "size": "Small",
            "isSubtle": True,
        }
    )
    data = {"request": request, "by": who}
    card = adaptive_card(
        body, actions=[_execute("Open", "refresh", data)], fallback=f"{who} {doing}"
    )
    card["refresh"] = {
        "action": {"type": "Action.Execute", "verb": "refresh", "data": {"meet": "refresh"} | data},
        "userIds": [owner_id],
    }
    return card


def closed_card(title: str, subject: str | None = None) -> dict[str, Any]:
    """A request that ended without a meeting (cancelled, replaced, expired): no buttons."""
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": title, "wrap": True}]
    if subject:
        body.insert(
            0,
            {"type": "TextBlock", "text": subject, "wrap": True, "weight": "Bolder"},
        )
    return adaptive_card(body, actions=[], fallback=title)


COMMANDS = (
    ("/meet Design review tomorrow 3pm for 45m", "Create a meeting; anything missing is asked."),
    ("/meet", "Start a short conversation: subject, time, length."),
    ("cancel", "Stop the request in progress."),
    ("/timezone Berlin", "Read and show your times in that city's zone."),
    ("/signin", "Sign in ahead of time."),
    ("/signout", "Forget your saved sign-in."),
    ("/help", "This list."),
)


def retry_card(problem: str, *, request: str) -> dict[str, Any]:
    """Graph stayed busy: say so in one line, keep the request, offer to try again."""
    return _kept_request_card(
        problem,
        f"I'll keep your request for {WAIT_HOURS} hours.",
        action=("Retry", {"meet": "retry", "request": request}),
    )


def unknown_card(problem: str, *, request: str) -> dict[str, Any]:
    """The create may have worked: say so, and offer a new meeting only as a deliberate choice."""
    return _kept_request_card(
        problem,
        "I won't try again on my own, so there is at most one such meeting. If you need its "
        f"link now, create another (this choice lasts {WAIT_HOURS} hours).",
        action=("Create another", {"meet": "another", "request": request}),
    )


def _kept_request_card(
    problem: str, note: str, *, action: tuple[str, dict[str, str]]
) -> dict[str, Any]:
    title, data = action
    return adaptive_card(
        [
            {"type": "TextBlock", "text": problem, "wrap": True},
            {"type": "TextBlock", "text": note, "wrap": True, "isSubtle": True},
        ],
        actions=[_execute(title, data["meet"], data)],
        fallback=problem,
    )


def help_card(intro: str) -> dict[str, Any]:
    """The commands, each with an example."""
    return adaptive_card(
        [
            {"type": "TextBlock", "text": intro, "wrap": True},
            {"type": "FactSet", "facts": [_fact(command, what) for command, what in COMMANDS]},
        ],
        actions=[],
        fallback=intro,
    )


def welcome_card(intro: str) -> dict[str, Any]:
    """Posted once when the bot is installed in a chat or added to a team."""
    return adaptive_card(
        [
            {
                "type": "TextBlock",
                "text": "Hi! I'm Meet.",
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "TextBlock", "text": intro, "wrap": True},
            {"type": "FactSet", "facts": [_fact(command, what) for command, what in COMMANDS[:3]]},
            {
                "type": "TextBlock",
                "text": "In channels and group chats, @mention me first.",
                "wrap": True,
                "isSubtle": True,
            },
        ],
        actions=[],
        fallback=intro,
    )


def sign_in_card(url: str, *, pending_subject: str | None) -> dict[str, Any]:
    """Asks the user to sign in once, so meetings are created with their own account."""
    why = (
        f"To create “{pending_subject}” with you as the organizer, I need you to sign in "
        "once with your work or school account. I'll create it as soon as you're back, "
        f"if that is within {WAIT_HOURS} hours."
        if pending_subject
        else "Sign in once with your work or school account so I can create meetings "
        "with you as the organizer."
    )
    return adaptive_card(
        [
            {"type": "TextBlock", "text": "Sign in to Microsoft", "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": why, "wrap": True},
            {
                "type": "TextBlock",
                "text": "The link works for you only and expires in 10 minutes.",
                "wrap": True,
                "size": "Small",
                "isSubtle": True,
            },
        ],
        actions=[{"type": "Action.OpenUrl", "title": "Sign in", "url": url}],
        fallback=f"Sign in to create meetings: {url}",
    )


def meeting_summary(meeting: OnlineMeeting, tz: tzinfo) -> str:
    """The meeting in one line of plain text, for notifications and clients without cards."""
    details = []
    if meeting.join_meeting_id:
        details.append(f"Meeting ID {group_digits(meeting.join_meeting_id)}")
    if meeting.passcode:
        details.append(f"passcode {meeting.passcode}")
    details.append(f"join: {meeting.join_web_url}")
    return f"{meeting.subject or 'Teams meeting'}, {meeting_time(meeting, tz)}. " + ", ".join(
        details
    )


def meeting_time(meeting: OnlineMeeting, tz: tzinfo) -> str:
    if meeting.start is None or meeting.end is None:
        return "Time not set"
    return format_span(meeting.start, meeting.end, tz)


def format_span(start: datetime, end: datetime, tz: tzinfo) -> str:
    """'Tue 1 Dec 2026, 10:00–10:30 (Europe/Berlin)'; both dates when it crosses midnight."""
    start, end = start.astimezone(tz), end.astimezone(tz)
    first = f"{start:%a} {start.day} {start:%b %Y}, {start:%H:%M}"
    if end.date() == start.date():
        span = f"{first}–{end:%H:%M}"
    else:
        span = f"{first} – {end:%a} {end.day} {end:%b %Y}, {end:%H:%M}"
    return f"{span} ({zone_name(start)})"


def format_length(length: timedelta) -> str:
    """'15 min', '1 h', '1 h 30 min': whole minutes, hours only when there are any."""
    hours, minutes = divmod(int(length.total_seconds() // 60), 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def zone_name(moment: datetime) -> str:
    """The IANA name where there is one, else the UTC offset."""
    text = zone_to_text(moment.tzinfo or UTC)
    if text[:1] not in "+-":
        return text
    return "UTC" if text == "+00:00" else f"UTC{text}"


def group_digits(value: str) -> str:
    """'3141592653589' -> '314 159 265 358 9', the way Teams prints meeting IDs."""
    return " ".join(value[i : i + 3] for i in range(0, len(value), 3))


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
