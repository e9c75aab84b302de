"""Building the Teams app manifest from settings and zipping the app package."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from manifest.icons import ACCENT, color_icon, outline_icon

MANIFEST_VERSION = "1.24"
SCOPES = ["personal", "team", "groupChat"]
COMMANDS = [
    ("meet", "Create a Teams meeting: meet Design review tomorrow 3pm for 45m"),
    ("help", "What the bot can do, with examples"),
    ("cancel", "Stop the meeting request in progress"),
    ("signin", "Sign in so meetings are created with you as organizer"),
    ("signout", "Forget your saved sign-in"),
]


def manifest(*, app_id: str, public_url: str, version: str) -> dict[str, Any]:
    """The manifest for bot `app_id`, reachable (and signing in) at `public_url`."""
    host = urlparse(public_url).hostname
    if not app_id:
        raise ValueError("an app package needs the bot's app id (MicrosoftAppId)")
    if not host:
        raise ValueError("PUBLIC_URL must be an absolute URL")
    return {
        "$schema": "https://developer.microsoft.com/json-schemas/teams/"
        f"v{MANIFEST_VERSION}/MicrosoftTeams.schema.json",
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "Meet bot contributors",
            "websiteUrl": public_url,
            "privacyUrl": f"{public_url}/privacy",
            "termsOfUseUrl": f"{public_url}/terms",
        },
        "name": {"short": "Meet", "full": "Meet: Teams meetings from chat"},
        "description": {
            "short": "Create Teams meetings from chat, with you as organizer.",
            "full": "Type /meet with a subject and a time, such as 'Design review tomorrow 3pm "
            "for 45m', in a chat, a group chat or a channel. Meet asks for anything missing, "
            "confirms, and answers with the join link, meeting ID, passcode and dial-in. Meetings "
            "are created with your own Microsoft account, and times are read in your time zone.",
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": SCOPES,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": [scope],
                        "commands": [
                            {"title": title, "description": text} for title, text in COMMANDS
                        ],
                    }
                    for scope in SCOPES
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        # The sign-in link and its redirect come back to the bot's own host.
        "validDomains": [host],
    }


def build_package(path: Path, *, app_id: str, public_url: str, version: str) -> Path:
    """Write appPackage.zip: manifest.json and the two icons, at the archive's root."""
    content = manifest(app_id=app_id, public_url=public_url, version=version)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(content, indent=2))
        package.writestr("color.png", color_icon())
        package.writestr("outline.png", outline_icon())
    return path
