"""What pyproject.toml pins and the lock file deployments install from agree (read offline)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
BOTBUILDER = (
    "botbuilder-core",
    "botbuilder-dialogs",
    "botbuilder-integration-aiohttp",
    "botbuilder-schema",
)
# "name==version", optionally "; marker", then the hashes on continuation lines.
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?: *;[^\\]*)? *\\?$")


def runtime_requirements() -> list[Requirement]:
    """The bot's own dependencies, as pyproject.toml declares them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def locked_entries() -> list[tuple[NormalizedName, Version, list[str]]]:
    """Each pin of the lock file with the hashes that follow it."""
    entries: list[tuple[NormalizedName, Version, list[str]]] = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            assert entries, f"a hash before any pin: {line}"
            entries[-1][2].append(stripped.removeprefix("--hash=").rstrip(" \\"))
            continue
        match = PIN.match(stripped)
        assert match, f"not an exact pin: {line}"
        entries.append((canonicalize_name(match["name"]), Version(match["version"]), []))
    return entries


def locked_versions() -> dict[NormalizedName, Version]:
    return {name: version for name, version, _ in locked_entries()}


@pytest.mark.parametrize("requirement", runtime_requirements(), ids=str)
def test_every_direct_dependency_is_locked_within_its_range(requirement: Requirement) -> None:
    locked = locked_versions()
    name = canonicalize_name(requirement.name)
    assert name in locked, f"{requirement.name} is not in requirements.lock: run `make lock`"
    assert requirement.specifier.contains(locked[name], prereleases=True), (
        f"requirements.lock has {name}=={locked[name]}, outside {requirement}: run `make lock`"
    )


def test_every_locked_package_is_pinned_once_with_sha256_hashes() -> None:
    entries = locked_entries()
    names = [name for name, _, _ in entries]
    assert len(names) == len(set(names))
    for name, _, hashes in entries:
        assert hashes, f"{name} has no hash, so `pip install --require-hashes` refuses the lock"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_holds_the_bot_not_its_test_tools() -> None:
    assert not {"pytest", "mypy", "ruff", "hypothesis"} & set(locked_versions())


def test_botbuilder_is_pinned_to_one_exact_version() -> None:
    pins = {
        canonicalize_name(r.name): r.specifier
        for r in runtime_requirements()
        if canonicalize_name(r.name) in BOTBUILDER
    }
    assert sorted(pins) == sorted(BOTBUILDER)
    assert {str(specifier) for specifier in pins.values()} == {"==4.17.1"}
