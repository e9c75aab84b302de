"""The keys that seal what the bot keeps at rest (TOKEN_CACHE_KEY), and how they rotate.

Several keys, newest first: data sealed under any of them still opens, and everything sealed
from now on uses the newest, so old data moves to it whenever it is written again. A key that
is dropped leaves what only it sealed unreadable, which each store treats as absent.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from bot.settings import SettingsError, fernet_keys

# What seals a record: the key ring, or (in tests of one store) a single key.
Cipher = Fernet | MultiFernet

KEY_FILE = "token-cache.key"


class KeyFileInvalid(OSError):
    """The sandbox's key file holds no usable key; the message is one line saying what to do.

    An OSError, as an unsafe DATA_DIR is: app.py reports either as one "cannot start" line.
    """


def load_keyring(configured: Sequence[str], data_dir: Path, *, generate: bool) -> MultiFernet:
    """TOKEN_CACHE_KEY's keys, else (sandbox) those of a key file made once, 0600. Blocking."""
    if configured:
        return MultiFernet([Fernet(key) for key in configured])
    if not generate:
        raise ValueError("TOKEN_CACHE_KEY is required")
    path = data_dir / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    try:
        # The file may hold several keys the way TOKEN_CACHE_KEY does, to rotate in sandbox mode.
        keys = fernet_keys(path.read_bytes().decode("ascii"), name=str(path))
    except (SettingsError, UnicodeDecodeError):
        raise KeyFileInvalid(
            f"{path} holds no Fernet key: put the key back, or move the file aside to have a new "
            "one made (what the old one encrypted is then ignored: people sign in again)"
        ) from None
    return MultiFernet([Fernet(key) for key in keys])


def _create_key_file(path: Path) -> None:
    """Put a new key at `path`, whole and mode 0600, unless another process got there first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp makes the file 0600 whatever the umask. Written in full before it gets its name, so
    # a crash can't leave an empty key file that fails every later start.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(Fernet.generate_key())
            file.flush()
            os.fsync(file.fileno())
        # A link, not a rename: it never replaces a key another instance just made (and may
        # already have encrypted with); theirs is then the one read back.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
