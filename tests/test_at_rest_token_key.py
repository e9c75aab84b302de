"""The sandbox's generated TOKEN_CACHE_KEY file: made whole, 0600, once."""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.fernet import Fernet

from bot.identity.tokens import load_cache_key


def test_a_generated_key_file_is_owner_only_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    data = tmp_path / "data"

    fernet = load_cache_key("", data, generate=True)

    key_file = data / "token-cache.key"
    assert [p.name for p in data.iterdir()] == ["token-cache.key"]
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700
    assert Fernet(key_file.read_bytes()).decrypt(fernet.encrypt(b"x")) == b"x"


def test_an_existing_key_is_kept(tmp_path: Path) -> None:
    existing = Fernet.generate_key()
    (tmp_path / "token-cache.key").write_bytes(existing + b"\n")

    fernet = load_cache_key("", tmp_path, generate=True)

    assert Fernet(existing).decrypt(fernet.encrypt(b"x")) == b"x"


def test_instances_starting_together_all_get_the_same_key(tmp_path: Path) -> None:
    """Each reads a complete key, and no one's key is replaced by another's."""
    start = threading.Barrier(8)
    keys: list[Fernet] = []
    errors: list[BaseException] = []

    def load() -> None:
        start.wait()
        try:
            keys.append(load_cache_key("", tmp_path, generate=True))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    token = keys[0].encrypt(b"x")
    assert all(key.decrypt(token) == b"x" for key in keys)
    assert [p.name for p in tmp_path.iterdir()] == ["token-cache.key"]
