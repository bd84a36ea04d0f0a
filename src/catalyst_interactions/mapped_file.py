"""A fixed-size file mapped into memory, shared by every process of one host that opens it.

The replay record (``edge/replay.py``) and the shared throttle (``framework/throttle.py``) are
tables of 64-bit words in such files: every edge process of ``serve --processes N`` maps the
same file, so a lookup is a few memory reads instead of a database round trip, and each
read-decide-write step holds the file's ``flock`` (two system calls).

The file starts with a header naming its layout (a magic string and the settings that shape
the table). A file whose header or size differs from what the opener expects — an older
layout, other settings — is emptied once when opened: both tables hold only short-lived,
reconstructible state. The file is 0600 in a 0700 directory (``fileperms``).
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
from pathlib import Path

from .fileperms import DIR_MODE, FILE_MODE


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
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            if os.fstat(self.fd).st_mode & 0o777 != FILE_MODE:
                os.fchmod(self.fd, FILE_MODE)  # a file made by an older version, or by hand
            self.emptied = self._lay_out(header, size, preallocate)
            self._map = mmap.mmap(self.fd, size)
            self.words = memoryview(self._map)[len(header) :].cast("q")
            """The table after the header, as signed 64-bit words (the file never leaves its
            host, so native byte order is fine)."""
        except BaseException:
            if hasattr(self, "_map"):
                self._map.close()
            os.close(self.fd)
            raise

    def _lay_out(self, header: bytes, size: int, preallocate: bool) -> bool:
        """Empty the file unless it already has this header and size; True when emptied."""
        self.lock()
        try:
            found = os.pread(self.fd, len(header), 0)
            fresh = found != header or os.fstat(self.fd).st_size != size
            if fresh:
                os.ftruncate(self.fd, 0)
                os.ftruncate(self.fd, size)  # sparse: zero pages appear on first use
                os.pwrite(self.fd, header, 0)
            if preallocate:
                try:
                    os.posix_fallocate(self.fd, 0, size)
                except OSError as exc:
                    if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                        raise  # no space: say so now, not with a SIGBUS later
            return fresh
        finally:
            self.unlock()

    def lock(self) -> None:
        """Hold the file exclusively against every other process that maps it."""
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def unlock(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    @property
    def closed(self) -> bool:
        return self._map.closed

    def close(self) -> None:
        if not self._map.closed:
            self.words.release()  # the map cannot close while a view of it exists
            self._map.close()
            os.close(self.fd)


__all__ = ["MappedFile"]
