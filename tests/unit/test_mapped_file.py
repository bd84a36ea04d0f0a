"""The shared table file under the replay record and the host's throttle: its layout header,
what it keeps and empties, and the permissions it leaves."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from catalyst_interactions.mapped_file import MappedFile, table_key

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


_OLD_AND_NEW = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from catalyst_interactions.mapped_file import MappedFile, table_key

    path = Path(sys.argv[1])
    old = MappedFile(path, b"CITEST01" + bytes(8), 16 + 8 * 65536)  # 512 KiB of words
    old.words[65535] = 7  # on the last page
    new = MappedFile(path, b"CITEST02" + bytes(8), 16 + 8 * 1024)  # smaller: 8 KiB
    print(old.words[65535], new.words[1023], new.emptied, path.stat().st_size)
    """
)


def test_another_layout_never_shrinks_a_file_under_a_process_that_maps_it(
    tmp_path: Path,
) -> None:
    """A rolling reload with other settings: the old process still maps the old layout when
    a new one opens the file. Emptying the file in place would kill the old one with SIGBUS
    at its next read past the new end (run in a child so that such a death fails this test
    instead of the test run); a new file takes the name instead."""
    done = subprocess.run(
        [sys.executable, "-c", _OLD_AND_NEW, str(tmp_path / "t.table")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)  # -7 would be SIGBUS
    assert done.stdout.split() == ["7", "0", "True", str(16 + 8 * 1024)]
    assert [p.name for p in tmp_path.iterdir()] == ["t.table"]  # no spare file left


_OPEN_AT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from catalyst_interactions.mapped_file import MappedFile, table_key

    start_at = float(sys.argv[2])
    while time.time() < start_at:
        time.sleep(0.001)
    table = MappedFile(Path(sys.argv[1]), b"CITEST03" + bytes(8), 16 + 8 * 4096)
    table.lock()
    table.words[0] += 1  # every process counts itself in the one file they all opened
    table.unlock()
    print(os.fstat(table.fd).st_ino)
    """
)


def test_processes_opening_a_stale_file_at_once_all_get_the_one_replacement(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.table"
    MappedFile(path, HEADER, SIZE).close()  # the old layout, on disk
    start_at = time.time() + 2.0
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, str(path), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    inodes = set()
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        inodes.add(out.strip())
    assert inodes == {str(path.stat().st_ino)}
    final = MappedFile(path, b"CITEST03" + bytes(8), 16 + 8 * 4096)
    assert final.words[0] == 4
    final.close()


def test_table_keys_are_non_zero_words_and_snowflakes_are_themselves() -> None:
    assert table_key("1234567890123456789") == 1234567890123456789  # a snowflake: its time
    hashed = ["0", "9" * 19, "9" * 25, "²", "٣٤٥x", "rate:1100000000000000003", ""]
    keys = [table_key(text) for text in hashed]  # none raises ("²" is a digit, not decimal)
    assert all(0 < key < 1 << 63 for key in keys)
    assert len(set(keys)) == len(keys)
    assert table_key("rate:1") == table_key("rate:1")  # stable: every process agrees
