"""The meeting card's formatting: times in the viewer's zone, grouped IDs, fallbacks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bot.conversation.cards import (
    closed_card,
    group_digits,
    meeting_card,
    others_card,
    request_card,
    retry_card,
    sign_in_card,
    unknown_card,
)
from dialogs.cards import ADAPTIVE_CARD_VERSION, start_question_card
from dialogs.request import MAX_SUBJECT_CHARS
from tests.languages import EN
from tests.online_meetings import START, meeting


def test_version_is_one_teams_renders_everywhere() -> None:
    assert float(ADAPTIVE_CARD_VERSION) <= 1.5
    assert meeting_card(meeting(), UTC, EN)["version"] == ADAPTIVE_CARD_VERSION


def test_meeting_ids_are_grouped_in_threes() -> None:
    assert group_digits("3141592653589") == "314 159 265 358 9"
    assert group_digits("123456789") == "123 456 789"


def test_span_is_shown_in_the_users_zone_and_names_it() -> None:
    assert (
        EN.span(START, START + timedelta(minutes=45), ZoneInfo("Asia/Kolkata"))
        == "Tue, Dec 1, 2026, 2:30 PM – 3:15 PM (Asia/Kolkata)"
    )


def test_span_across_midnight_shows_both_days() -> None:
    assert (
        EN.span(START, START + timedelta(hours=2), ZoneInfo("Pacific/Auckland"))
        == "Tue, Dec 1, 2026, 10:00 PM – Wed, Dec 2, 2026, 12:00 AM (Pacific/Auckland)"
    )


def test_fixed_offset_zone_is_named_by_its_offset() -> None:
    tz = timezone(timedelta(hours=-3, minutes=-30))
    assert EN.span(START, START + timedelta(minutes=30), tz).endswith("(UTC-03:30)")


def test_no_passcode_fact_without_a_passcode_and_a_note_without_dial_in() -> None:
    card = meeting_card(meeting(), UTC, EN)
    titles = [f["title"] for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]]
    assert titles == ["Meeting ID"]
    assert "No dial-in" in card["body"][-1]["text"]


def test_the_largest_card_a_request_can_make_fits_a_teams_message() -> None:
    subject = "𝕎" * MAX_SUBJECT_CHARS  # four UTF-8 bytes each, and escaped in JSON
    cards = [
        meeting_card(
            meeting(
                subject=subject,
                passcode="ps3JH7YK",
                toll_number="+1 425-555-0123",
                toll_free_number="+1 800-555-0123",
                conference_id="871893984",
            ),
            ZoneInfo("America/Argentina/ComodRivadavia"),
            EN,
        ),
        *(
            request_card(
                subject=subject,
                start=START,
                end=START + timedelta(hours=1),
                tz=UTC,
                passcode_required=True,
                request="r" * 200,
                editing=editing,
                ask_passcode=True,
                error="x" * 500,
                lang=EN,
            )
            for editing in (False, True)
        ),
        others_card(
            name="n" * 500,
            subject=subject,
            doing="{name} is setting up a meeting.",
            owner_id="29:" + "o" * 100,
            request="r" * 200,
            lang=EN,
        ),
        closed_card("Cancelled. Nothing was created.", EN, subject),
        sign_in_card(
            "https://meet.example.com/auth/start?id=" + "x" * 200,
            pending_subject=subject,
            lang=EN,
        ),
        retry_card("x" * 500, request="r" * 200, lang=EN),
        unknown_card("x" * 500, request="r" * 200, lang=EN),
    ]
    for card in cards:
        # Teams refuses messages over about 28 KB; the card is most of one.
        assert len(json.dumps(card).encode()) < 20_000


def test_lengths_read_in_minutes_and_whole_hours() -> None:
    lengths = {}
    for minutes in (15, 60, 90, 120, 24 * 60):
        card = request_card(
            subject="Standup",
            start=START,
            end=START + timedelta(minutes=minutes),
            tz=UTC,
            passcode_required=None,
            request="r",
            editing=False,
            ask_passcode=False,
            lang=EN,
        )
        [facts] = [e["facts"] for e in card["body"] if e["type"] == "FactSet"]
        lengths[minutes] = {f["title"]: f["value"] for f in facts}["Length"]
    assert lengths == {
        15: "15 min",
        60: "1 hr",
        90: "1 hr, 30 min",
        120: "2 hr",
        1440: "24 hr",
    }


def start_card(now: datetime) -> dict[str, Any]:
    return start_question_card("When?", "Pick one.", [("Now", "Now")], now, lang=EN)


def picked_start(now: datetime) -> str:
    date, time = [e for e in start_card(now)["body"] if e["type"].startswith("Input.")]
    return f"{date['value']} {time['value']}"


def test_the_picker_suggests_the_next_quarter_hour_at_least_ten_minutes_away() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert picked_start(datetime(2026, 12, 1, 3, 2, tzinfo=berlin)) == "2026-12-01 03:15"
    assert picked_start(datetime(2026, 12, 1, 3, 5, tzinfo=berlin)) == "2026-12-01 03:15"
    assert picked_start(datetime(2026, 12, 1, 3, 5, 1, tzinfo=berlin)) == "2026-12-01 03:30"
    assert picked_start(datetime(2026, 12, 1, 3, 7, tzinfo=berlin)) == "2026-12-01 03:30"
    assert picked_start(datetime(2026, 12, 1, 10, 50, tzinfo=berlin)) == "2026-12-01 11:00"
    # Late in the evening the suggestion is tomorrow's first quarter hour; today stays pickable.
    late = datetime(2026, 12, 1, 23, 55, tzinfo=berlin)
    assert picked_start(late) == "2026-12-02 00:15"
    [date] = [e for e in start_card(late)["body"] if e["type"] == "Input.Date"]
    assert date["min"] == "2026-12-01"


def test_a_quick_answer_on_the_start_card_sends_only_its_answer() -> None:
    card = start_card(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    [quick] = [e for e in card["body"] if e["type"] == "ActionSet"]
    assert quick["actions"] == [
        {
            "type": "Action.Submit",
            "title": "Now",
            "data": {"answer": "Now"},
            "associatedInputs": "none",
        }
    ]
    assert card["version"] == ADAPTIVE_CARD_VERSION


# Elements and actions of Adaptive Card schema 1.5 that the bot's cards may use (Teams renders
# 1.5 on desktop, web and mobile).
SCHEMA_15 = {
    "TextBlock",
    "FactSet",
    "ColumnSet",
    "Column",
    "ActionSet",
    "Input.Text",
    "Input.Date",
    "Input.Time",
    "Input.ChoiceSet",
    "Input.Toggle",
    "Action.OpenUrl",
    "Action.Submit",
    "Action.Execute",
}


def types_in(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and node["type"] != "AdaptiveCard":
            found.add(node["type"])
        for value in node.values():
            found |= types_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= types_in(value)
    return found


def test_every_card_is_schema_1_5_with_execute_buttons_that_fall_back_to_submit() -> None:
    cards = [
        *(
            request_card(
                subject="Standup",
                start=START,
                end=START + timedelta(minutes=30),
                tz=UTC,
                passcode_required=False,
                request="r",
                editing=editing,
                ask_passcode=True,
                lang=EN,
            )
            for editing in (False, True)
        ),
        others_card(
            name="Megan",
            subject="Standup",
            doing="{name} is busy.",
            owner_id="29:m",
            request="r",
            lang=EN,
        ),
        retry_card("Busy.", request="r", lang=EN),
        unknown_card("Unknown.", request="r", lang=EN),
        closed_card("Cancelled.", EN, "Standup"),
        meeting_card(meeting(), UTC, EN),
        sign_in_card("https://example.com", pending_subject="Standup", lang=EN),
        start_card(START),
    ]
    for card in cards:
        assert card["version"] == "1.5"
        assert types_in(card) <= SCHEMA_15, types_in(card) - SCHEMA_15
        for action in card["actions"]:
            if action["type"] == "Action.Execute":
                assert action["fallback"]["type"] == "Action.Submit"
                assert action["fallback"]["data"] == action["data"]
                assert action["data"]["meet"] == action["verb"]
