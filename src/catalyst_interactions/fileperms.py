"""Private files: the data directory is 0700 and everything in it 0600.

The data directory holds interaction bodies with their tokens (the queue), the component-state
and hand-over secrets, the database and rendered charts: nothing another local user should
read. SQLite creates its ``-wal`` and ``-shm`` files with the mode of the database file, so a
database file created 0600 *before* SQLite opens it keeps all three private.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make the directory itself 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def private_sqlite(path: Path) -> Path:
    """Make sure a SQLite database file exists with mode 0600 before SQLite opens it; an
    existing file (and its ``-wal`` / ``-shm`` companions) is tightened to 0600."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if each.exists() and each.stat().st_mode & 0o777 != FILE_MODE:
                each.chmod(FILE_MODE)
    else:
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a small secret file that is 0600 from its first byte."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    if path.stat().st_mode & 0o777 != FILE_MODE:
        path.chmod(FILE_MODE)


__all__ = ["DIR_MODE", "FILE_MODE", "private_dir", "private_sqlite", "write_private"]
