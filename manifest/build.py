"""Building the Teams app manifest from settings and zipping the app package.

The manifest is English; each other language the bot speaks gets a localization file
(`de.json`, …) with the manifest's texts from the bot's message catalogs, which Teams shows
to people whose client is set to that language.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dialogs.language import N_, SOURCE_LANGUAGE, Language, Languages
from manifest.icons import ACCENT, color_icon, outline_icon

MANIFEST_VERSION = "1.24"
SCHEMAS = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}"
SCOPES = ["personal", "team", "groupChat"]
# The commands' titles are what a pick from the command menu sends: the same in every language.
COMMANDS = [
    # Translators: the request after "meet" must be one the bot reads in your language (it
    # reads German, French and Spanish); in other languages keep it English.
    ("meet", N_("Create a Teams meeting: meet Design review tomorrow 3pm for 45m")),
    ("help", N_("What the bot can do, with examples")),
    ("cancel", N_("Stop the meeting request in progress")),
    ("signin", N_("Sign in so meetings are created with you as organizer")),
    ("signout", N_("Forget your saved sign-in")),
]
NAME = "Meet"
# Translators: at most 100 characters.
FULL_NAME = N_("Meet: Teams meetings from chat")
# Translators: at most 80 characters.
SHORT_DESCRIPTION = N_("Create Teams meetings from chat, with you as organizer.")
# Translators: the request in quotes as for the meet command above.
FULL_DESCRIPTION = N_(
    "Type /meet with a subject and a time, such as 'Design review tomorrow 3pm for 45m', in a "
    "chat, a group chat or a channel. Meet asks for anything missing, confirms, and answers "
    "with the join link, meeting ID, passcode and dial-in. Meetings are created with your own "
    "Microsoft account, and times are read in your time zone."
)


def manifest(
    *, app_id: str, public_url: str, version: str, languages: list[str] | None = None
) -> dict[str, Any]:
    """The manifest for bot `app_id`, reachable (and signing in) at `public_url`; `languages`
    are the codes of the localization files beside it."""
    host = urlparse(public_url).hostname
    if not app_id:
        raise ValueError("an app package needs the bot's app id (MicrosoftAppId)")
    if not host:
        raise ValueError("PUBLIC_URL must be an absolute URL")
    content: dict[str, Any] = {
        "$schema": f"{SCHEMAS}/MicrosoftTeams.schema.json",
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "Meet bot contributors",
            "websiteUrl": public_url,
            "privacyUrl": f"{public_url}/privacy",
            "termsOfUseUrl": f"{public_url}/terms",
        },
        "name": {"short": NAME, "full": FULL_NAME},
        "description": {"short": SHORT_DESCRIPTION, "full": FULL_DESCRIPTION},
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
    if languages:
        content["localizationInfo"] = {
            "defaultLanguageTag": SOURCE_LANGUAGE,
            "additionalLanguages": [
                {"languageTag": code, "file": f"{code}.json"} for code in languages
            ],
        }
    return content


def localization(lang: Language) -> dict[str, str]:
    """The manifest's texts in `lang`: a localization file, as Teams' schema names them."""
    _ = lang.gettext
    texts = {
        "$schema": f"{SCHEMAS}/MicrosoftTeams.Localization.schema.json",
        "name.short": NAME,
        "name.full": _(FULL_NAME),
        "description.short": _(SHORT_DESCRIPTION),
        "description.full": _(FULL_DESCRIPTION),
    }
    for i in range(len(SCOPES)):
        for j, (_title, description) in enumerate(COMMANDS):
            texts[f"bots[0].commandLists[{i}].commands[{j}].description"] = _(description)
    return texts


def build_package(
    path: Path, *, app_id: str, public_url: str, version: str, languages: Languages
) -> Path:
    """Write appPackage.zip: manifest.json, a localization file for each language besides
    English, and the two icons, at the archive's root."""
    others = [code for code in languages.codes if code != SOURCE_LANGUAGE]
    content = manifest(app_id=app_id, public_url=public_url, version=version, languages=others)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(content, indent=2))
        for code in others:
            texts = localization(languages.pick(code))
            package.writestr(f"{code}.json", json.dumps(texts, indent=2, ensure_ascii=False))
        package.writestr("color.png", color_icon())
        package.writestr("outline.png", outline_icon())
    return path
