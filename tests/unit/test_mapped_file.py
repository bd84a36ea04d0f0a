"""The shared table file under the replay record and the host's throttle: its layout header,
what it keeps and empties, and the permissions it leaves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catalyst_interactions.mapped_file import MappedFile

HEADER = b"CITEST01" + (4096).to_bytes(8, "little")
SIZE = len(HEADER) + 4096 * 8


def test_a_file_keeps_its_words_until_its_layout_changes(tmp_path: Path) -> None:
    path = tmp_path / "t.table"
    first = MappedFile(path, HEADER, SIZE)
    assert first.emptied
    first.words[7] = 42
    first.close()
    again = MappedFile(path, HEADER, SIZE)
    assert not again.emptied
    assert again.words[7] == 42
    again.close()
    other = MappedFile(path, b"CITEST02" + HEADER[8:], SIZE)  # another layout: starts empty
    assert other.emptied
    assert other.words[7] == 0
    assert path.read_bytes()[:8] == b"CITEST02"
    other.close()
    bigger = MappedFile(path, b"CITEST02" + HEADER[8:], SIZE + 8)  # another size: the same
    assert bigger.emptied
    assert path.stat().st_size == SIZE + 8
    bigger.close()


def test_permissions_private_without_touching_an_existing_directory(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o1777)  # e.g. a directory other users write to: not ours to change
    made = MappedFile(shared / "new" / "t.table", HEADER, SIZE, preallocate=True)
    made.close()
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert (shared / "new").stat().st_mode & 0o777 == 0o700  # made here: private
    loose = shared / "loose.table"
    loose.touch()
    os.chmod(loose, 0o644)  # made by hand or an older version
    MappedFile(loose, HEADER, SIZE).close()
    assert loose.stat().st_mode & 0o777 == 0o600
    # Reserved on disk (no SIGBUS when the disk fills later), not just a sparse size.
    assert (shared / "new" / "t.table").stat().st_blocks * 512 >= SIZE


def test_a_table_must_be_whole_words(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64-bit words"):
        MappedFile(tmp_path / "t", HEADER, SIZE + 3)
    with pytest.raises(ValueError, match="64-bit words"):
        MappedFile(tmp_path / "t", HEADER, len(HEADER))
    assert not (tmp_path / "t").exists()
