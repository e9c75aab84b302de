"""What we send to Graph and the parts of its onlineMeeting that we use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class OnlineMeetingRequest:
    """The body of a create (or createOrGet) call. Times must be time-zone aware."""

    subject: str
    start: datetime
    end: datetime
    passcode_required: bool | None  # None: not said; the tenant's meeting policy decides
    external_id: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("meeting times must carry a time zone")
        if self.external_id is not None and self.passcode_required is not None:
            raise ValueError("createOrGet takes no passcode setting")

    def to_graph(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "subject": self.subject,
            "startDateTime": _graph_time(self.start),
            "endDateTime": _graph_time(self.end),
        }
        if self.external_id is not None:
            # createOrGet's parameters do not include joinMeetingIdSettings.
            body["externalId"] = self.external_id
        if self.passcode_required is not None:
            body["joinMeetingIdSettings"] = {"isPasscodeRequired": self.passcode_required}
        return body


@dataclass(frozen=True)
class OnlineMeeting:
    """The members of Graph's onlineMeeting that the bot shows or keeps."""

    id: str
    subject: str | None
    start: datetime | None
    end: datetime | None
    join_web_url: str
    join_meeting_id: str | None
    passcode: str | None
    passcode_required: bool
    toll_number: str | None
    toll_free_number: str | None
    conference_id: str | None

    @classmethod
    def from_graph(cls, body: dict[str, Any]) -> OnlineMeeting:
        join = body.get("joinMeetingIdSettings") or {}
        audio = body.get("audioConferencing") or {}
        return cls(
            id=body["id"],
            subject=body.get("subject"),
            start=_parse_time(body.get("startDateTime")),
            end=_parse_time(body.get("endDateTime")),
            join_web_url=body["joinWebUrl"],
            join_meeting_id=join.get("joinMeetingId"),
            passcode=join.get("passcode"),
            passcode_required=bool(join.get("isPasscodeRequired")),
            # tollNumber/tollFreeNumber are deprecated in favour of the collections.
            toll_number=_first(audio.get("tollNumbers")) or audio.get("tollNumber"),
            toll_free_number=_first(audio.get("tollFreeNumbers")) or audio.get("tollFreeNumber"),
            conference_id=audio.get("conferenceId"),
        )

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> OnlineMeeting:
        """The meeting from its fields as plain JSON (ISO 8601 times); TypeError if malformed.

        Fields an earlier version kept and this one no longer reads are ignored."""
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            value = fields[name]
            if name in ("start", "end"):
                value = _parse_time(value)
            elif name == "passcode_required":
                if type(value) is not bool:
                    raise TypeError("passcode_required is a boolean")
            elif not (value is None or isinstance(value, str)):
                raise TypeError(f"{name} is text")
            values[name] = value
        if not values["id"] or not values["join_web_url"]:
            raise TypeError("a meeting has an id and a join link")
        return cls(**values)


def _graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _first(values: object) -> str | None:
    if isinstance(values, list) and values and isinstance(values[0], str):
        return values[0]
    return None
