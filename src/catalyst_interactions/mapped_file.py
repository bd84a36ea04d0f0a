"""A fixed-size file mapped into memory, shared by every process of one host that opens it.

The replay record (``edge/replay.py``) and the shared throttle (``framework/throttle.py``) are
tables of 64-bit words in such files: every edge process of ``serve --processes N`` maps the
same file, so a lookup is a few memory reads instead of a database round trip, and each
read-decide-write step holds the file's ``flock`` (two system calls).

The file starts with a header naming its layout (a magic string and the settings that shape
the table). A file whose header or size differs from what the opener expects — an older
layout, other settings — is replaced by an empty one when opened (a new file takes the name;
a process still mapping the old one keeps it): both tables hold only short-lived,
reconstructible state. The file is 0600; a directory made for it is 0700 (``fileperms``).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import mmap
import os
from pathlib import Path

from .fileperms import DIR_MODE, FILE_MODE

_WORD_LIMIT = 1 << 63  # table words are signed 64-bit integers


def table_key(text: str) -> int:
    """The non-zero 64-bit word a table keys ``text`` by: a decimal number below 2**63 (a
    snowflake) as itself — the replay table reads its creation time from it — anything else
    (a throttle key, a longer id) as a 63-bit hash, 2**-63 per pair to collide."""
    if text.isdecimal() and len(text) <= 19:  # isdecimal: what int() takes ("²" is a digit)
        value = int(text)
        if 0 < value < _WORD_LIMIT:
            return value
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1 or 1


class MappedFile:
    """``size`` bytes of ``path`` mapped read-write; ``words`` views them after the header as
    native 64-bit integers. Close with :meth:`close`."""

    def __init__(self, path: Path, header: bytes, size: int, *, preallocate: bool = False) -> None:
        """``preallocate``: reserve the file's blocks on disk now. A sparse file gets its
        blocks on first write to each page, and a write into a mapping that finds the disk
        full kills the process (SIGBUS) instead of raising; a table written on every
        request should not find that out under load. On ext4 and xfs the reservation makes
        those writes safe and costs no memory; a full disk is then an error here, at start.
        Where the file system cannot reserve (some report it as unsupported) the file stays
        sparse; on tmpfs the reservation is memory, and copy-on-write file systems (btrfs,
        ZFS) can still run out on a later write."""
        if size <= len(header) or (size - len(header)) % 8:
            raise ValueError("the table after the header must be a whole number of 64-bit words")
        self.path = path
        # Missing directories are made private; an existing one is left as its owner set it
        # (the data directory is made 0700 by the application, fileperms.py).
        path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        self.fd, self.emptied = self._open_laid_out(header, size, preallocate)
        try:
            self._map = mmap.mmap(self.fd, size)
        except BaseException:
            os.close(self.fd)
            raise
        self.words = memoryview(self._map)[len(header) :].cast("q")
        """The table after the header, as signed 64-bit words (the file never leaves its host,
        so native byte order is fine)."""

    def _open_laid_out(self, header: bytes, size: int, preallocate: bool) -> tuple[int, bool]:
        """The file's descriptor once it has this header and size, and whether it was made
        empty for them. A file laid out otherwise is not emptied in place: processes of the
        old layout may still map it (a rolling reload with other settings), and a mapping
        whose file shrank under it dies with SIGBUS. A new file takes its name instead; they
        keep the old one until they exit."""
        replaced = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            try:
                state = self._settle(fd, header, size, preallocate)
            except BaseException:
                os.close(fd)
                raise
            if state in ("kept", "laid out"):
                return fd, replaced or state == "laid out"
            replaced = replaced or state == "replaced"
            os.close(fd)  # (releases its lock) the name holds another file now: open that

    def _settle(self, fd: int, header: bytes, size: int, preallocate: bool) -> str:
        """Under ``fd``'s lock: "kept" (already laid out), "laid out" (a new file, emptied
        now), "replaced" (another layout: a new file took the name) or "moved" (another
        process replaced it while we waited for the lock)."""
        fcntl.flock(fd, fcntl.LOCK_EX)
        opened = os.fstat(fd)
        try:
            if opened.st_ino != os.stat(self.path).st_ino:
                return "moved"
        except FileNotFoundError:  # deleted meanwhile: the next open makes it again
            return "moved"
        if opened.st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # a file made by an older version, or by hand
        if opened.st_size == size and os.pread(fd, len(header), 0) == header:
            state = "kept"
        elif opened.st_size == 0:  # made just now: nobody maps an empty file
            _lay_out(fd, header, size)
            state = "laid out"
        else:
            self._replace(header, size, preallocate)
            return "replaced"
        if preallocate:
            _reserve(fd, size)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return state

    def _replace(self, header: bytes, size: int, preallocate: bool) -> None:
        """A new, empty file of this layout under the table's name (called holding the old
        file's lock, so one process replaces it and the others open the result)."""
        spare = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        fd = os.open(spare, os.O_RDWR | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            _lay_out(fd, header, size)
            if preallocate:
                _reserve(fd, size)
            os.replace(spare, self.path)
        except BaseException:
            spare.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)

    def lock(self) -> None:
        """Hold the file exclusively against every other process that maps it."""
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def unlock(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if not self._map.closed:
            self.words.release()  # the map cannot close while a view of it exists
            self._map.close()
            os.close(self.fd)


def _lay_out(fd: int, header: bytes, size: int) -> None:
    os.ftruncate(fd, size)  # sparse: zero pages appear on first use
    os.pwrite(fd, header, 0)


def _reserve(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise  # no space: say so now, not with a SIGBUS later


__all__ = ["MappedFile", "table_key"]
