"""`python -m manifest build [--out appPackage.zip] [--app-id ID] [--public-url URL]`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.conversation.catalogs import read_catalogs
from bot.settings import load_package_settings
from bot.web.keys import VERSION
from manifest.build import build_package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m manifest", description="Teams app package")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write appPackage.zip from configuration")
    build.add_argument("--out", type=Path, default=Path("appPackage.zip"))
    build.add_argument("--app-id", help="the bot's app id (default: MicrosoftAppId)")
    build.add_argument("--public-url", help="the bot's public URL (default: PUBLIC_URL)")
    args = parser.parse_args(argv)
    settings = load_package_settings()
    app_id = args.app_id or settings.app_id
    public_url = args.public_url or settings.public_url
    if not app_id:
        return _error("an app package needs the bot's app id: set MicrosoftAppId or pass --app-id")
    if not public_url:
        return _error(
            "an app package needs the bot's public URL: set PUBLIC_URL or pass --public-url"
        )
    try:
        path = build_package(
            args.out,
            app_id=app_id,
            public_url=public_url,
            version=VERSION.split("+")[0],
            languages=read_catalogs(),
        )
    except ValueError as exc:
        return _error(str(exc))
    sys.stdout.write(f"wrote {path}\n")
    return 0


def _error(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
