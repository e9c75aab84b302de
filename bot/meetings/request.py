"""One meeting request on its way to Graph, and its plain-JSON form for the storage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from cryptography.fernet import InvalidToken

from bot.framework.address import ReplyAddress
from bot.identity.users import TeamsUser
from bot.state import codec
from bot.state.keyring import Cipher
from dialogs.request import MeetingDraft
from dialogs.zones import zone_from_text

# How long a request waits for its requester (to sign in, or to press Retry or Create another).
WAIT_HOURS = 24


@dataclass(frozen=True)
class MeetingRequest:
    """Who asked for which meeting, and where the answer goes."""

    user: TeamsUser
    subject: str
    start: datetime
    end: datetime
    timezone: str  # as dialogs.zones writes it: an IANA name or a fixed offset
    zone_guessed: bool  # a zone nobody chose: the card offers /timezone
    locale: str
    passcode_required: bool | None  # None: the tenant's meeting policy decides
    request_id: str  # the asking activity: however often it is delivered, one meeting
    address: ReplyAddress
    # The zone the request's text named for its time ("4pm ET"), as dialogs.zones writes it,
    # and its label as the user wrote it ("ET"); None when it named none.
    named_timezone: str | None = None
    named_timezone_label: str | None = None

    @property
    def tz(self) -> tzinfo:
        return zone_from_text(self.timezone)

    @property
    def external_id(self) -> str:
        """createOrGet's key for this request (per organizer)."""
        return _short(self.request_id)

    @property
    def key(self) -> str:
        """This request among all users' requests: tenant, person and request."""
        return f"{person_key(self.user)}/{_short(self.request_id)}"

    @classmethod
    def from_draft(
        cls,
        draft: MeetingDraft,
        *,
        user: TeamsUser,
        address: ReplyAddress,
        locale: str,
        default_start: datetime,
        default_length: timedelta,
    ) -> MeetingRequest:
        """The request a draft describes; a draft without a start gets `default_start`."""
        start, end = draft.start, draft.end
        if start is None or end is None:
            start = default_start
            end = (start.astimezone(UTC) + default_length).astimezone(start.tzinfo)
        return cls(
            user=user,
            subject=draft.subject or "",
            start=start,
            end=end,
            timezone=draft.timezone,
            zone_guessed=draft.zone_guessed,
            locale=locale,
            passcode_required=draft.passcode_required,
            request_id=draft.request_id or str(uuid.uuid4()),
            address=address,
            named_timezone=draft.named_timezone,
            named_timezone_label=draft.named_timezone_label,
        )

    def again(self) -> MeetingRequest:
        """The same meeting asked for anew: a new request, so a new meeting."""
        return replace(self, request_id=f"{self.request_id}+")

    def to_json(self) -> dict[str, Any]:
        return {
            "user": {
                "id": self.user.id,
                "aad_object_id": self.user.aad_object_id,
                "tenant_id": self.user.tenant_id,
                "name": self.user.name,
            },
            "subject": self.subject,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timezone": self.timezone,
            "zone_guessed": self.zone_guessed,
            "locale": self.locale,
            "passcode_required": self.passcode_required,
            "request_id": self.request_id,
            "address": self.address.to_json(),
            "named_timezone": self.named_timezone,
            "named_timezone_label": self.named_timezone_label,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeetingRequest:
        """The request `to_json` wrote; TypeError or ValueError when it is not that.

        A record written before the named zone existed reads without one.
        """
        user = data["user"]
        for name in ("id", "aad_object_id", "tenant_id", "name"):
            if not (user[name] is None or isinstance(user[name], str)) or not user["id"]:
                raise TypeError(f"user.{name} has the wrong type")
        for name in ("subject", "start", "end", "timezone", "locale", "request_id"):
            if not isinstance(data[name], str):
                raise TypeError(f"{name} is text")
        if data["passcode_required"] not in (True, False, None):
            raise TypeError("passcode_required is a boolean or null")
        named = {name: data.get(name) for name in ("named_timezone", "named_timezone_label")}
        for name, value in named.items():
            if not (value is None or isinstance(value, str)):
                raise TypeError(f"{name} is text or null")
        start, end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("meeting times carry an offset")
        return cls(
            user=TeamsUser(user["id"], user["aad_object_id"], user["tenant_id"], user["name"]),
            subject=data["subject"],
            start=start,
            end=end,
            timezone=data["timezone"],
            zone_guessed=data.get("zone_guessed") is True,  # absent in records before it
            locale=data["locale"],
            passcode_required=data["passcode_required"],
            request_id=data["request_id"],
            address=ReplyAddress.from_json(data["address"]),
            named_timezone=named["named_timezone"],
            named_timezone_label=named["named_timezone_label"],
        )


def seal(ask: MeetingRequest, fernet: Cipher) -> str:
    """`ask` encrypted for the storage (its subject is the user's own words)."""
    return fernet.encrypt(codec.dumps(ask.to_json()).encode()).decode()


def unseal(sealed: object, fernet: Cipher) -> MeetingRequest | None:
    """The request `seal` wrote, or None when the text is not that."""
    try:
        return MeetingRequest.from_json(codec.loads(fernet.decrypt(str(sealed).encode()).decode()))
    except (InvalidToken, codec.StoredValueError, KeyError, TypeError, ValueError):
        return None


def person_key(user: TeamsUser) -> str:
    """One person across chats: tenant and Entra object id (the channel id without one)."""
    return f"{user.tenant_id}/{user.person_id}"


def _short(request_id: str) -> str:
    # Request ids hold a conversation id (long, with ';' and ':'): keys keep a fixed-size digest.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"meet-bot/{request_id}"))
