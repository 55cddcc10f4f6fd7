"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader never sees a half-written file, even after a power cut mid-write.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError


#: Characters of the final name kept in the temporary one: a temporary name is the final name
#: plus 15 characters, so a long name (up to 255 bytes is allowed) made one too long to create,
#: and the write failed with "File name too long" for a name that is valid. 40 characters are at
#: most 160 bytes in UTF-8.
TEMP_NAME_CHARS = 40


def _new_temporary(path: Path) -> tuple[int, str]:
    """A new hidden temporary file beside ``path`` (``.NAME.XXXXXXXX.part``), created with mode
    0666 so that the umask in force at this moment applies (mkstemp's 0600 needed a chmod from a
    umask read once at import: one set later, by a daemon, was ignored)."""
    prefix = os.path.join(str(path.parent), "." + path.name[:TEMP_NAME_CHARS] + ".")
    for _ in range(100):
        tmp = f"{prefix}{secrets.token_hex(4)}.part"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically. ``mode``: the file's permissions; by default those
    of the file it replaces, else a new file's under the umask (every output was 0644: an image
    replacing a 0600 one, or written under umask 077, became world-readable)."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # a FIFO or a device (--stats-json /dev/stdout, a monitor's pipe): written into, as it is;
        # the rename put a regular file in its place, and the reader got nothing
        with open(path, "wb") as f:
            f.write(data)
        return
    if path.is_symlink():  # the file the link names is written, and the link stays (it was replaced)
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = None  # a new file: the umask in force now decides, as for open() (the kernel applies it)
    fd, tmp = _new_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable: the new name lives in the folder's own entry, which
    a power cut can lose unless the folder is synced too (POSIX; a no-op where folders cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a folder; the data itself is synced
        pass
    finally:
        os.close(fd)


def move_no_replace(src: Path, candidates: Iterable[Path]) -> Path:
    """Rename ``src`` to the first of ``candidates`` that does not exist, never replacing a file
    (a partial video kept aside, a training log that is not the command's); :class:`InputError`
    when every candidate exists."""
    for dst in candidates:
        try:
            os.link(src, dst)  # fails if dst exists: no window in which a file could be replaced
        except FileExistsError:
            continue
        except OSError:  # no hard links on this filesystem (FAT on an SD card, some network mounts)
            if dst.exists():
                continue
            os.rename(src, dst)
            return dst
        os.unlink(src)
        return dst
    raise InputError(f"no free name to keep {src} under")


def drop_stdout(stream=None) -> None:
    """Point stdout (or ``stream``) at /dev/null once its reader has gone (``| head``): the
    interpreter flushes it again at exit, which repeated the failure as an "Exception ignored"
    traceback."""
    import sys

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), (stream or sys.stdout).fileno())
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation (no fileno) is both
        pass
