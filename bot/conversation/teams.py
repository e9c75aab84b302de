"""Reading the Teams facts the bot needs out of an incoming activity."""

from __future__ import annotations

import re
from datetime import timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botbuilder.schema import Activity

from bot.identity.users import TeamsUser
from dialogs.language import Language, Languages


def teams_user(activity: Activity) -> TeamsUser:
    sender = activity.from_property
    return TeamsUser(
        id=sender.id,
        aad_object_id=getattr(sender, "aad_object_id", None) or None,
        tenant_id=tenant_id(activity),
        name=sender.name,
    )


def tenant_id(activity: Activity) -> str | None:
    channel_data: Any = activity.channel_data or {}
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    if isinstance(tenant, dict) and tenant.get("id"):
        return str(tenant["id"])
    return getattr(activity.conversation, "tenant_id", None) or None


def client_timezone(activity: Activity) -> tzinfo | None:
    """The client's zone: clientInfo's, else localTimezone, else localTimestamp's offset."""
    for name in (_client_info(activity).get("timezone"), activity.local_timezone):
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    stamp = activity.local_timestamp
    if stamp is not None and stamp.utcoffset() is not None:
        offset: timedelta = stamp.utcoffset()
        return timezone(offset)
    return None


# A BCP 47 language tag as Teams sends it ("en-US", "zh-Hant-TW", "es-419"): ASCII letters, then
# hyphen-separated subtags of letters and digits. The locale goes into Graph's Accept-Language
# header verbatim, so anything else (CR/LF, emoji, a list, 10 KB) counts as no locale at all.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
# RFC 5646 §4.4.1: 35 characters hold any tag a language plus region and script needs.
MAX_LANGUAGE_TAG_LENGTH = 35


def user_locale(activity: Activity) -> str:
    """The sender's language tag (the activity's, else clientInfo's), or "" if neither is one."""
    for locale in (activity.locale, _client_info(activity).get("locale")):
        if (
            isinstance(locale, str)
            and len(locale) <= MAX_LANGUAGE_TAG_LENGTH
            and _LANGUAGE_TAG.fullmatch(locale)
        ):
            return locale
    return ""


def user_language(activity: Activity, languages: Languages) -> Language:
    """The language to answer the sender in: theirs where the bot speaks it, else English."""
    return languages.pick(user_locale(activity))


def _client_info(activity: Activity) -> dict[str, Any]:
    for entity in activity.entities or ():
        if getattr(entity, "type", None) == "clientInfo":
            return dict(getattr(entity, "additional_properties", None) or {})
    return {}


# Teams sends one mention entity per @mention; a message naming more people than this is not a
# request to the bot, and the cap keeps the work per message at most this many linear passes.
MAX_MENTIONS = 20


def text_without_mentions(activity: Activity) -> str | None:
    """The text with the bot's own @mention removed and other mentions reduced to the name.

    Teams writes a mention into the text as `<at>Name</at>` and lists it among the entities;
    the entity's `text` is replaced literally (names aren't patterns). None stays None.
    """
    text = activity.text
    if not isinstance(text, str) or not text:
        return None if text is None else ""
    bot_id = activity.recipient.id if activity.recipient else None
    mentions = (
        entity
        for entity in activity.entities or ()
        if (getattr(entity, "type", None) or "").lower() == "mention"
    )
    for count, entity in enumerate(mentions):
        if count >= MAX_MENTIONS:
            break
        properties = getattr(entity, "additional_properties", None) or {}
        mentioned, tagged = properties.get("mentioned"), properties.get("text")
        if not isinstance(mentioned, dict) or not isinstance(tagged, str) or not tagged:
            continue  # an empty text would match between every two characters
        if bot_id and mentioned.get("id") == bot_id:
            # Join the pieces with one space, whatever whitespace stood beside the mention.
            text = " ".join(piece.strip() for piece in text.split(tagged) if piece.strip())
        elif tagged.startswith("<at>") and tagged.endswith("</at>") and len(tagged) > 9:
            text = text.replace(tagged, tagged[4:-5])
    return text


def command_text(activity: Activity) -> str:
    """The message text without the bot's own @mention, whitespace normalised."""
    return " ".join((text_without_mentions(activity) or "").split())
