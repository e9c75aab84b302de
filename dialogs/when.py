"""`python -m dialogs.when [--tz ZONE] [--now ISO8601] [--locale TAG] TEXT`: how the bot reads
a /meet request.

Prints one JSON object, {"subject", "start", "end"} (ISO 8601 with offset, or null), and exits 0;
when the text named a zone for its time ("4pm ET"), the object also has "named_timezone" (as the
bot stores zones: "America/New_York") and "named_timezone_label" (as the user wrote it: "ET").
For a meeting that cannot exist, text the bot would refuse (too long, unreadable characters) or
text it would not guess at (a word for the past, a second time), it prints {"error": "..."} and
exits 2. Bad flags get argparse's usage message and exit 2. The JSON is ASCII, other characters
escaped, so any terminal or pipe can take it. --locale (default en-US) is the user's language
tag, as Teams sends it: German, French and Spanish words are read besides English, and "12/3"
is read in the locale's order of day and month.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogs.request import DEFAULT_LOCALE, RequestError, parse_request

DEFAULT_LENGTH = timedelta(minutes=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialogs.when", description=__doc__)
    parser.add_argument("--tz", default="UTC", help="the user's IANA time zone (default UTC)")
    parser.add_argument("--now", help="the current time, ISO 8601 (default: the clock)")
    parser.add_argument(
        "--locale",
        default=DEFAULT_LOCALE,
        help=f"the user's language tag, such as de-DE or fr-FR (default {DEFAULT_LOCALE})",
    )
    parser.add_argument("text", nargs="+", help="what follows /meet")
    args = parser.parse_args(argv)
    try:
        tz = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        parser.error(f"--tz {args.tz!r} is not an IANA time zone")
    now = datetime.now(UTC)
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            parser.error(f"--now {args.now!r} is not ISO 8601")
        if now.tzinfo is None:
            now = now.replace(tzinfo=tz)
    try:
        draft = parse_request(
            " ".join(args.text),
            now=now,
            tz=tz,
            default_length=DEFAULT_LENGTH,
            locale=args.locale,
        )
    except RequestError as exc:
        print(json.dumps({"error": str(exc)}))  # noqa: T201 - the CLI's output
        return 2
    answer = {
        "subject": draft.subject,
        "start": draft.start.isoformat() if draft.start else None,
        "end": draft.end.isoformat() if draft.end else None,
    }
    if draft.named_timezone:
        answer["named_timezone"] = draft.named_timezone
        answer["named_timezone_label"] = draft.named_timezone_label
    print(json.dumps(answer))  # noqa: T201 - the CLI's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
