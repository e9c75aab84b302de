"""The Teams app package: built by the documented command, valid against Microsoft's schema."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest
from jsonschema import Draft4Validator
from PIL import Image

from sandbox import playground

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "6d0f4a36-1c1e-4f0a-9d2b-8e5f1b2c3d4e"
SCHEMA_PACKAGE = ("@microsoft/app-manifest", "1.1.2")


@pytest.fixture(scope="session")
def teams_schema() -> Draft4Validator:
    """Microsoft's official manifest schema, from the npm package that ships it."""
    if not playground.node_available():
        pytest.skip("Node.js/npm not found: the manifest schema comes from npm")
    folder = playground.npm_package(*SCHEMA_PACKAGE)
    schema_file = folder / "build/json-schemas/teams/v1.24/MicrosoftTeams.schema.json"
    return Draft4Validator(json.loads(schema_file.read_text(encoding="utf-8-sig")))


@pytest.fixture(scope="session")
def localization_schema() -> Draft4Validator:
    """Microsoft's schema of a manifest's localization file, from the same npm package."""
    if not playground.node_available():
        pytest.skip("Node.js/npm not found: the manifest schema comes from npm")
    folder = playground.npm_package(*SCHEMA_PACKAGE)
    schema_file = folder / "build/json-schemas/teams/v1.24/MicrosoftTeams.Localization.schema.json"
    return Draft4Validator(json.loads(schema_file.read_text(encoding="utf-8-sig")))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("package") / "appPackage.zip"
    result = build(
        tmp_path_factory.mktemp("cwd"),
        "--out",
        str(out),
        "--app-id",
        APP_ID,
        "--public-url",
        "https://meet.example.com",
    )
    assert result.returncode == 0, result.stderr
    return zipfile.ZipFile(out)


def build(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m manifest build ARGS` in `cwd` (reading its .env, if any) with only `env` set."""
    return subprocess.run(
        [sys.executable, "-m", "manifest", "build", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"} | (env or {}),
        check=False,
    )


def manifest_of(package: zipfile.ZipFile) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(package.read("manifest.json"))
    return content


def test_package_holds_the_manifest_its_languages_and_two_icons_at_its_root(
    package: zipfile.ZipFile,
) -> None:
    assert sorted(package.namelist()) == [
        "color.png",
        "de.json",
        "es.json",
        "fr.json",
        "ja.json",
        "manifest.json",
        "outline.png",
    ]


def test_the_manifest_declares_each_language_the_bot_speaks(
    package: zipfile.ZipFile, localization_schema: Draft4Validator
) -> None:
    info = manifest_of(package)["localizationInfo"]
    assert info["defaultLanguageTag"] == "en"
    files = {each["languageTag"]: each["file"] for each in info["additionalLanguages"]}
    assert files == {code: f"{code}.json" for code in ("de", "es", "fr", "ja")}
    for code, name in files.items():
        texts = json.loads(package.read(name))
        errors = [error.message for error in localization_schema.iter_errors(texts)]
        assert errors == [], code
        assert texts["$schema"].endswith("/v1.24/MicrosoftTeams.Localization.schema.json")
    german = json.loads(package.read("de.json"))
    assert german["description.short"].startswith("Teams-Besprechungen aus dem Chat erstellen")
    assert german["bots[0].commandLists[0].commands[0].description"].startswith(
        "Teams-Besprechung erstellen"
    )
    # Every command's description, in every scope's list; the commands' own words stay.
    commands = manifest_of(package)["bots"][0]["commandLists"]
    keys = {
        f"bots[0].commandLists[{i}].commands[{j}].description"
        for i, listed in enumerate(commands)
        for j in range(len(listed["commands"]))
    }
    assert keys <= german.keys()
    assert not any(key.endswith(".title") for key in german)


def test_manifest_validates_against_microsofts_schema(
    package: zipfile.ZipFile, teams_schema: Draft4Validator
) -> None:
    errors = [error.message for error in teams_schema.iter_errors(manifest_of(package))]
    assert errors == []


def test_manifest_describes_the_bot_for_every_scope(package: zipfile.ZipFile) -> None:
    manifest = manifest_of(package)
    [bot] = manifest["bots"]
    assert manifest["id"] == APP_ID
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert sorted(scope for lst in bot["commandLists"] for scope in lst["scopes"]) == sorted(
        bot["scopes"]
    )
    for command_list in bot["commandLists"]:
        assert len(command_list["commands"]) <= 10
        titles = [c["title"] for c in command_list["commands"]]
        assert {"meet", "help", "signin", "signout"} <= set(titles)
        assert all(c["description"] for c in command_list["commands"])
    assert manifest["validDomains"] == ["meet.example.com"]
    assert manifest["developer"]["privacyUrl"] == "https://meet.example.com/privacy"


def test_icons_have_the_sizes_and_transparency_teams_requires(package: zipfile.ZipFile) -> None:
    color = Image.open(io.BytesIO(package.read("color.png")))
    outline = Image.open(io.BytesIO(package.read("outline.png"))).convert("RGBA")

    assert color.size == (192, 192)
    assert outline.size == (32, 32)
    pixels = [
        cast(tuple[int, int, int, int], outline.getpixel((x, y)))
        for y in range(32)
        for x in range(32)
    ]
    assert any(alpha == 0 for *_, alpha in pixels)  # a transparent background
    # Only white, whatever its opacity: the outline icon is white on transparent.
    assert all((r, g, b) == (255, 255, 255) for r, g, b, alpha in pixels if alpha)
    assert any(alpha == 255 for *_, alpha in pixels)


def test_building_without_an_app_id_says_what_is_missing(tmp_path: Path) -> None:
    result = build(tmp_path, "--out", str(tmp_path / "p.zip"))
    assert result.returncode == 2
    assert "MicrosoftAppId" in result.stderr
    assert not (tmp_path / "p.zip").exists()


def test_building_from_configuration_needs_only_the_app_id_and_public_url(tmp_path: Path) -> None:
    # The bot's own settings would refuse an app id without its secret; a package needs none.
    (tmp_path / ".env").write_text("PUBLIC_URL=https://meet.example.com/\n")

    result = build(tmp_path, env={"MicrosoftAppId": APP_ID})

    assert result.returncode == 0, result.stderr
    manifest = manifest_of(zipfile.ZipFile(tmp_path / "appPackage.zip"))
    assert manifest["id"] == APP_ID
    assert manifest["developer"]["privacyUrl"] == "https://meet.example.com/privacy"
    assert manifest["validDomains"] == ["meet.example.com"]


def test_building_without_a_public_url_says_what_is_missing(tmp_path: Path) -> None:
    result = build(tmp_path, env={"MicrosoftAppId": APP_ID})
    assert result.returncode == 2
    assert "PUBLIC_URL" in result.stderr
    assert "--public-url" in result.stderr
    assert not (tmp_path / "appPackage.zip").exists()


async def test_the_privacy_and_terms_pages_the_manifest_links_exist(
    bot: Any,
) -> None:
    for page in ("/privacy", "/terms"):
        response = await bot.get(page)
        assert response.status == 200
        assert "Meet" in await response.text()
