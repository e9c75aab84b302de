"""The sandbox's generated TOKEN_CACHE_KEY file: made whole, 0600, once; and rotating keys."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet

from bot.state.keyring import KeyFileInvalid, load_keyring


def test_a_generated_key_file_is_owner_only_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    data = tmp_path / "data"

    fernet = load_keyring((), data, generate=True)

    key_file = data / "token-cache.key"
    assert [p.name for p in data.iterdir()] == ["token-cache.key"]
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700
    assert Fernet(key_file.read_bytes()).decrypt(fernet.encrypt(b"x")) == b"x"


def test_an_existing_key_is_kept(tmp_path: Path) -> None:
    existing = Fernet.generate_key()
    (tmp_path / "token-cache.key").write_bytes(existing + b"\n")

    fernet = load_keyring((), tmp_path, generate=True)

    assert Fernet(existing).decrypt(fernet.encrypt(b"x")) == b"x"


def test_instances_starting_together_all_get_the_same_key(tmp_path: Path) -> None:
    """Each reads a complete key, and no one's key is replaced by another's."""
    start = threading.Barrier(8)
    keys: list[MultiFernet] = []
    errors: list[BaseException] = []

    def load() -> None:
        start.wait()
        try:
            keys.append(load_keyring((), tmp_path, generate=True))
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


def test_a_key_file_that_holds_no_key_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "token-cache.key").write_bytes(Fernet.generate_key()[:20])

    with pytest.raises(KeyFileInvalid, match="holds no Fernet key") as refused:
        load_keyring((), tmp_path, generate=True)

    assert "\n" not in str(refused.value)


def test_a_key_file_may_hold_several_keys_newest_first(tmp_path: Path) -> None:
    newest, older = Fernet.generate_key(), Fernet.generate_key()
    (tmp_path / "token-cache.key").write_bytes(newest + b"," + older + b"\n")

    keys = load_keyring((), tmp_path, generate=True)

    assert keys.decrypt(Fernet(older).encrypt(b"x")) == b"x"
    assert Fernet(newest).decrypt(keys.encrypt(b"x")) == b"x"
