"""The data folder at rest: private to the user the bot runs as, checked at start-up.

DATA_DIR holds users' UPNs and ids, meeting subjects, the token-cache key and (sandbox mode)
signing keys and refresh-token hashes. The folder is kept 0700, so nothing in it can be reached by
other users whatever its own mode; every file and folder in it also loses its group and other
permission bits, so a copy or a later `chmod` of the folder exposes nothing either.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
_GROUP_AND_OTHER = 0o077


class UnsafeDataDir(OSError):
    """DATA_DIR can't be made private to this user; the message is one line saying what to do.

    An OSError, as a port already in use is: app.py reports either as one "cannot start" line.
    """


async def secure_data_dir(path: Path, *, private_files: Sequence[str] = ()) -> None:
    """Create or tighten DATA_DIR (in a worker thread), and create `private_files` in it 0600.

    Pre-creating a database file matters: SQLite creates its -wal and -shm files with the
    database file's mode, so they are 0600 too.
    """
    await asyncio.to_thread(_secure, path, tuple(private_files))


def _secure(path: Path, private_files: tuple[str, ...]) -> None:
    try:
        # Only the last folder gets 0700; parents (if any are missing) get the usual mode.
        path.mkdir(mode=PRIVATE_FOLDER, parents=True)
    except FileExistsError:
        pass  # the usual case (or a file, refused below)
    except OSError as exc:
        raise UnsafeDataDir(f"DATA_DIR {path} can't be created: {_reason(exc)}") from exc
    try:
        folder = path.stat()
    except OSError as exc:
        raise UnsafeDataDir(f"DATA_DIR {path} can't be read: {_reason(exc)}") from exc
    if not stat.S_ISDIR(folder.st_mode):
        raise UnsafeDataDir(f"DATA_DIR {path} is not a folder")
    if folder.st_uid != os.geteuid():
        # Its owner could read everything the bot keeps, or loosen it again at any time.
        raise UnsafeDataDir(
            f"DATA_DIR {path} belongs to user id {folder.st_uid}, not to the user running the bot "
            f"(id {os.geteuid()}); chown it to this user or choose another DATA_DIR"
        )
    if folder.st_mode & stat.S_ISVTX:
        # A sticky folder (like /tmp) is shared by design: tightening it would break others.
        raise UnsafeDataDir(
            f"DATA_DIR {path} is a shared folder (sticky bit); use a folder of its own"
        )
    if _restrict(path, folder):
        log.warning("DATA_DIR %s was open to other users; it is now private to its owner", path)
    for name in private_files:
        _create_private(path / name)
    loosened = sum(_restrict_entry(entry) for entry in _entries(path))
    if loosened:
        log.warning(
            "%d file(s) in DATA_DIR %s were open to other users; now private to their owner",
            loosened,
            path,
        )


def _entries(folder: Path) -> list[Path]:
    """Every file and folder under `folder`; symbolic links are not followed."""
    found: list[Path] = []
    for root, folders, files in os.walk(folder):
        found.extend(Path(root, name) for name in (*folders, *files))
    return found


def _restrict_entry(path: Path) -> bool:
    try:
        status = path.lstat()
    except FileNotFoundError:
        return False  # another instance sharing the folder removed it (SQLite's -wal, say)
    return _restrict(path, status)


def _restrict(path: Path, status: os.stat_result) -> bool:
    """Remove group and other permission bits from a folder or regular file; True if any."""
    is_folder = stat.S_ISDIR(status.st_mode)
    if not (is_folder or stat.S_ISREG(status.st_mode)):
        return False  # symbolic links (their own mode means nothing), sockets, FIFOs
    if not status.st_mode & _GROUP_AND_OTHER:
        return False
    try:
        os.chmod(path, stat.S_IMODE(status.st_mode) & ~_GROUP_AND_OTHER)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise UnsafeDataDir(
            f"{path} in DATA_DIR is open to other users and can't be fixed ({_reason(exc)}); "
            "chown it to the user running the bot or remove it"
        ) from exc
    return True


def _create_private(path: Path) -> None:
    try:
        # No O_TRUNC: an existing file keeps its content (and gets tightened with the rest).
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        raise UnsafeDataDir(f"{path} in DATA_DIR can't be created: {_reason(exc)}") from exc
    os.close(descriptor)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
