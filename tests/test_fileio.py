import os

import pytest

from edgefill import fileio
from edgefill.fileio import atomic_write_bytes


def test_atomic_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "a.json"
    atomic_write_bytes(path, b"old")
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and [p.name for p in path.parent.iterdir()] == ["a.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    atomic_write_bytes(path, b"old")

    def broken(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


@pytest.mark.skipif(not hasattr(os, "O_DIRECTORY"), reason="folders are opened for fsync on POSIX only")
def test_the_rename_is_made_durable_by_syncing_the_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else fd)
        return real(fd)

    monkeypatch.setattr(fileio.os, "fsync", spy)
    atomic_write_bytes(tmp_path / "a.json", b"x")
    assert len(synced) == 2  # the file's data, then the folder holding the new name
    if isinstance(synced[1], str):
        assert synced[1] == os.path.realpath(tmp_path)
