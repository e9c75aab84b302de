"""`python -m manifest build [--out appPackage.zip] [--app-id ID] [--public-url URL]`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import SettingsError, load_settings
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
    try:
        settings = load_settings()
        path = build_package(
            args.out,
            app_id=args.app_id or settings.app_id,
            public_url=args.public_url or settings.public_url,
            version=VERSION.split("+")[0],
        )
    except (SettingsError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
