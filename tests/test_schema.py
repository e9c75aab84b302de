"""bot.framework.schema reads and writes Bot Framework JSON exactly as msrest does (compared over
generated activities, well-formed and not)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from azure.core.exceptions import DeserializationError
from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    CardAction,
    ChannelAccount,
    ConversationAccount,
    HeroCard,
    Mention,
    SuggestedActions,
    TextFormatTypes,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation.cards import help_card, meeting_card, others_card, request_card, sign_in_card
from bot.framework.schema import from_json, to_json
from tests.conftest import activity as teams_activity
from tests.languages import EN
from tests.online_meetings import meeting

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
accounts = st.builds(
    ChannelAccount,
    id=st.text(max_size=30),
    name=st.none() | st.text(max_size=30),
    aad_object_id=st.none() | st.uuids().map(str),
    role=st.none() | st.sampled_from(["user", "bot"]),
)
timestamps = st.datetimes(  # hypothesis wants naive bounds; the values carry UTC
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
attachments = st.builds(
    Attachment,
    content_type=st.sampled_from([CardFactory.content_types.adaptive_card, "image/png"]),
    content=json_values | st.builds(HeroCard, title=st.text(max_size=20), buttons=st.just([])),
    name=st.none() | st.text(max_size=10),
)
activities = st.builds(
    Activity,
    type=st.sampled_from(list(ActivityTypes)) | st.text(max_size=10),
    id=st.none() | st.text(max_size=20),
    text=st.none() | st.text(max_size=200),
    text_format=st.none() | st.sampled_from(list(TextFormatTypes)),
    timestamp=st.none() | timestamps,
    from_property=st.none() | accounts,
    recipient=st.none() | accounts,
    conversation=st.none()
    | st.builds(ConversationAccount, id=st.text(max_size=30), is_group=st.booleans()),
    reply_to_id=st.none() | st.text(max_size=20),
    attachments=st.none() | st.lists(attachments, max_size=3),
    entities=st.none()
    | st.lists(st.builds(Mention, mentioned=accounts, text=st.text(max_size=20)), max_size=2),
    suggested_actions=st.none()
    | st.builds(
        SuggestedActions,
        to=st.lists(st.text(max_size=10), max_size=2),
        actions=st.lists(
            st.builds(
                CardAction, type=st.just("imBack"), title=st.text(max_size=10), value=json_values
            ),
            max_size=3,
        ),
    ),
    channel_data=st.none() | json_values,
    value=st.none() | json_values,
)


@settings(max_examples=300, deadline=None)
@given(activities)
def test_the_body_is_what_msrest_would_send(activity: Activity) -> None:
    assert to_json(activity) == activity.serialize()


def test_every_card_the_bot_sends_serialises_as_msrest_would() -> None:
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    cards = [
        meeting_card(meeting(), ZoneInfo("Europe/Berlin"), EN),
        *(
            request_card(
                subject="Standup",
                start=start,
                end=start + timedelta(minutes=30),
                tz=UTC,
                passcode_required=True,
                request="r",
                editing=editing,
                ask_passcode=True,
                error="Pick a date.",
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
        sign_in_card("https://example.com", pending_subject="Standup", lang=EN),
        help_card("Hello", EN),
    ]
    for card in cards:
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        activity.conversation = ConversationAccount(id="a:1")
        assert to_json(activity) == activity.serialize()


# -- reading ------------------------------------------------------------------------------------


def msrest_or_error(data: Any) -> Activity | type[DeserializationError]:
    try:
        return Activity().deserialize(data)
    except DeserializationError:
        return DeserializationError


def ours_or_error(data: Any) -> Activity | type[DeserializationError]:
    try:
        return from_json(Activity, data)
    except DeserializationError:
        return DeserializationError


@settings(max_examples=300, deadline=None)
@given(activities, st.dictionaries(st.text(max_size=12), json_values, max_size=3))
def test_reading_gives_what_msrest_gives(activity: Activity, extra: dict[str, Any]) -> None:
    data = {**extra, **activity.serialize()}  # with keys the schema doesn't know
    assert ours_or_error(data) == msrest_or_error(data)


activity_keys = st.sampled_from(
    [*sorted({desc["key"] for desc in Activity._attribute_map.values()}), "rawTimestamp"]
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(activity_keys, json_values, max_size=8))
def test_wrong_types_are_refused_or_read_as_msrest_does(data: dict[str, Any]) -> None:
    assert ours_or_error(data) == msrest_or_error(data)


@pytest.mark.parametrize("text", ["<at>Meet</at> /meet Standup", "/help"])
def test_a_teams_message_reads_as_msrest_reads_it(text: str) -> None:
    data = teams_activity(text, service_url="http://127.0.0.1:1")
    data["entities"] = [
        {"type": "mention", "text": "<at>Meet</at>", "mentioned": {"id": "28:bot", "name": "Meet"}},
        {"type": "clientInfo", "locale": "en-US", "timezone": "Europe/Berlin"},
    ]
    data["timestamp"] = "2026-11-24T09:30:00.1234567Z"
    ours, theirs = from_json(Activity, data), Activity().deserialize(data)
    assert ours == theirs
    assert ours.entities[1].additional_properties["timezone"] == "Europe/Berlin"
