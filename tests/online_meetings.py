"""`OnlineMeeting`s as Graph returns them, built from a full default with a few fields changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from graph import OnlineMeeting

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def meeting(**overrides: object) -> OnlineMeeting:
    fields: dict[str, object] = dict(
        id="m1",
        subject="Design review",
        start=START,
        end=START + timedelta(minutes=45),
        join_web_url="https://teams.microsoft.com/l/meetup-join/x",
        join_meeting_id="3141592653589",
        passcode=None,
        passcode_required=False,
        toll_number=None,
        toll_free_number=None,
        conference_id=None,
    )
    fields.update(overrides)
    return OnlineMeeting(**fields)  # type: ignore[arg-type]
