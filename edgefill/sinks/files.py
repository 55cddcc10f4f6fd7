"""Video-file and image-folder sinks.

Both check when they are made that their output location can be written, and report an
unwritable one as :class:`~edgefill.errors.InputError` naming the path (the ``edgefill``
command's one-line error), also when writing fails later (disk full, folder removed).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path

import cv2

from ..checks import is_finite
from ..errors import ConfigError, InputError
from ..fileio import fsync_folder, move_no_replace
from ..imageio import IMAGE_EXTS, WIDE_EXTS, write_image
from .base import FrameResult, Sink
from .video_frames import MAX_FPS, FixedFrameSize, bgr, usable_fps

log = logging.getLogger(__name__)

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_can_write(path: str | Path, what: str, *, folder: bool = False) -> None:
    """Raise :class:`InputError` unless the file ``path`` (with ``folder``: files inside the
    folder ``path``) can be created. Missing folders are fine when the nearest existing one
    is a folder in which a file can be created (tried with a temporary file, removed at
    once: permission bits say nothing for root, nor for read-only or virtual filesystems)."""
    path = Path(path)
    try:
        if path.is_dir() and not folder:
            raise InputError(f"cannot write {what} to {path}: it is a folder")
        probe = path if folder else path.parent
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        if not probe.is_dir():
            raise InputError(f"cannot write {what} to {path}: {probe} is not a folder")
    except OSError as exc:
        raise InputError(f"cannot write {what} to {path}: {_reason(exc)}") from exc
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".edgefill-write-check-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise InputError(f"cannot write {what} to {path}: cannot create a file in {probe} ({_reason(exc)})") from exc


def _tagged(path: Path, tag: str, n: int = 1) -> Path:
    """``<name>.<tag><ext>`` beside ``path`` (``n`` >= 2: ``<name>.<tag>-<n><ext>``), the
    extension in lower case: a video's ``.part`` and ``.partial`` names."""
    return path.with_name(f"{path.stem}.{tag}{'' if n == 1 else f'-{n}'}{path.suffix.lower()}")


def part_path(path: Path, n: int = 1) -> Path:
    """Where :class:`VideoFileSink` writes ``path`` until it is complete: ``<name>.part<ext>``
    (``n`` >= 2: ``<name>.part-<n><ext>``, when that is taken)."""
    return _tagged(path, "part", n)


def free_part_path(path: Path) -> Path:
    """:func:`part_path` of ``path``, or the first free ``<name>.part-<n><ext>`` when a file
    has that name: a killed run's unfinished video (perhaps the only copy of what a camera
    recorded) or a file of the user's, which the writer truncated and close() then moved over
    the output. :class:`InputError` when a thousand names are taken."""
    for n in range(1, 1000):
        candidate = part_path(path, n)
        if not (candidate.exists() or candidate.is_symlink()):
            if n > 1:
                log.warning("%s exists (a run that was killed?) and is left as it is; %s is written to %s until "
                            "it is complete", part_path(path), path, candidate.name)
            return candidate
    raise InputError(f"cannot write {path}: {part_path(path)} and 998 more names like it exist")


class VideoFileSink(Sink):
    """Writes to ``<name>.part<ext>`` and renames to the final name on close, so a
    crash never leaves a truncated file under the final name. (A file already named so, a
    killed run's, is left alone: the sink writes to ``<name>.part-2<ext>`` ..., :attr:`tmp`.)

    After a run that ended in error (:meth:`close_partial`) the frames written are kept as
    ``<name>.partial<ext>`` (``<name>.partial-2<ext>`` ... if that exists): an existing file
    under the final name is left as it was, and no file is ever replaced.

    OpenCV's ``VideoWriter.write`` returns nothing, and a write that fails (a full disk) is only
    logged by OpenCV: the frames go nowhere and the container is never finished. So :meth:`close`
    reads the finished file's frame count back (FFmpeg's writer, which writes every extension
    here, with FFmpeg's reader): a file that holds fewer frames than were written is kept as
    ``<name>.partial<ext>`` too, and :meth:`close` raises :class:`InputError`.

    One sink writes one video: a :class:`~edgefill.Pipeline` closes its sinks when its run ends,
    and a frame written after that is a :class:`ConfigError` (a second run through the same sink
    started a new ``.part`` file, and its close then found fewer frames than the two runs had
    written: a false "full disk?" error, the second run kept as ``.partial``). Give each run a
    new sink. A sink closed before it got a frame (a run whose source did not open) may be used
    again."""

    def __init__(self, path: str | Path, fps: float | None = None):
        self.path = Path(path)
        if self.path.is_symlink():  # the video goes where the link points; the rename replaced the link
            self.path = Path(os.path.realpath(self.path))
        ext = self.path.suffix.lower()
        if ext not in FOURCC:
            raise ConfigError(f"cannot write video {self.path}: use one of {', '.join(FOURCC)}")
        if fps is not None and not (is_finite(fps) and 0 < fps <= MAX_FPS):  # OpenCV hangs on inf, fails on NaN
            raise ConfigError(f"fps must be a finite number > 0 and at most {MAX_FPS:g}, got {fps!r}")
        check_can_write(self.path, "the video")
        self.fps = fps  # None: the source's frame rate (FrameResult.fps), else 25
        self.tmp = free_part_path(self.path)
        self.writer: cv2.VideoWriter | None = None
        self.frames = 0
        self.partial_path: Path | None = None  # where close_partial() (or a failed close()) kept the frames
        self._backend = ""  # the OpenCV backend that wrote the file
        self.frames_fit = FixedFrameSize(self.path)
        self._finished = False  # close() or close_partial() has finished a file

    def write(self, result: FrameResult) -> None:
        if self._finished:
            raise ConfigError(f"cannot write {self.path}: this VideoFileSink finished its video when it was closed "
                              "(a Pipeline closes its sinks at the end of its run); give each run a new sink")
        img = bgr(result.image, self.path)
        if self.writer is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot write {self.path}: cannot create {self.path.parent} ({_reason(exc)})") \
                    from exc
            fps = self.fps or usable_fps(result.source_fps) or 25.0
            w, h = self.frames_fit.start(img)
            writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*FOURCC[self.path.suffix.lower()]),
                                     fps, (w, h))
            if not writer.isOpened():  # nothing was opened, so close() has nothing to finalise
                writer.release()
                raise InputError(f"OpenCV cannot write {self.path} (writing {self.tmp.name} at {w}x{h}, "
                                 f"{fps:g} fps failed)")
            self.writer = writer
        img = self.frames_fit.fit(img, result.index)
        self.writer.write(img)
        self.frames += 1

    def _release(self) -> bool:
        """Close the writer and fsync the ``.part`` file; False when nothing was written."""
        if self.writer is None:
            return False
        self._finished = True
        self._backend = self.writer.getBackendName()
        self.writer.release()
        self.writer = None
        try:
            with open(self.tmp, "rb+") as f:
                os.fsync(f.fileno())
        except OSError as exc:
            raise InputError(f"cannot finish {self.path}: {self.tmp} ({_reason(exc)})") from exc
        return True

    def _frames_in_file(self) -> int | None:
        """How many frames FFmpeg finds in the closed ``.part`` file (0: it cannot be opened, or its
        index is missing or says none, as when the disk filled up); None where FFmpeg did not write it."""
        if self._backend != "FFMPEG":  # another reader may not know the count of a good file
            return None
        try:
            cap = cv2.VideoCapture(str(self.tmp), cv2.CAP_FFMPEG)
        except cv2.error:
            return None
        try:
            n = cap.get(cv2.CAP_PROP_FRAME_COUNT) if cap.isOpened() else 0.0
        finally:
            cap.release()
        return int(n) if math.isfinite(n) and n > 0 else 0

    def close(self) -> None:
        if not self._release():
            return
        found = self._frames_in_file()
        # none found of 1 or 2 written is a failure too: a 600-byte file without its index replaced a
        # good output (the tolerance is for containers that count a frame or two differently)
        if found is not None and (abs(found - self.frames) > max(2, self.frames // 100) or (self.frames and not found)):
            self._keep_partial()
            raise InputError(f"writing {self.path} failed part-way (a full disk?): {self.frames} frames were written, "
                             f"FFmpeg finds {found} in it; what it holds is kept in {self.partial_path}")
        try:
            if self.path.exists():  # the replaced video's permissions (a 0600 one became 0644)
                os.chmod(self.tmp, self.path.stat().st_mode & 0o7777)
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise InputError(f"cannot rename {self.tmp} to {self.path}: {_reason(exc)}") from exc
        fsync_folder(self.path.parent)

    def _keep_partial(self) -> None:
        names = (_tagged(self.path, "partial", n) for n in range(1, 1000))
        try:
            self.partial_path = move_no_replace(self.tmp, names)
        except OSError as exc:
            raise InputError(f"cannot keep the partial video {self.tmp}: {_reason(exc)}") from exc

    def close_partial(self) -> None:
        """Close after a run that ended in error: keep the frames written as ``<name>.partial<ext>``."""
        if not self._release():
            return
        self._keep_partial()
        log.warning("the run ended in error: the %d frames written are kept in %s; %s %s", self.frames,
                    self.partial_path, self.path, "is left as it was" if self.path.exists() else "was not written")


class ImageFolderSink(Sink):
    """``<folder>/<index:06d>.png`` (or another image extension), each written atomically.

    Frames are final as soon as they are written, so after a run that ended in error the
    folder holds the frames processed before it. Nothing is deleted: a frame of an earlier
    run is replaced only when this run writes a frame with the same number, the others stay
    as they were, :meth:`close_partial` logs which frames this run wrote, and :meth:`close` warns
    when the folder holds numbered frames that this run did not write. Closing ends the run
    (:attr:`frames` still says how many it wrote): the same sink given to another run counts that
    run's frames afresh, as a new sink would (it counted on, and its messages named the first
    run's frames as the second's)."""

    def __init__(self, folder: str | Path, ext: str = ".png"):
        if ext not in IMAGE_EXTS:
            raise ConfigError(f"unsupported image extension {ext!r} for the frames in {folder}: use one of "
                              f"{', '.join(IMAGE_EXTS)}")
        self.folder, self.ext = Path(folder), ext
        check_can_write(self.folder, "images", folder=True)
        self.frames = 0
        self._first: int | None = None
        self._last: int | None = None
        self._closed = False

    def write(self, result: FrameResult) -> None:
        if self._closed:  # the first frame of another run
            self.frames, self._first, self._last, self._closed = 0, None, None, False
        path = self.folder / f"{result.index:06d}{self.ext}"
        # a 16-bit source's frame at its own depth, where the format holds it (PNG, TIFF)
        write_image(path, result.wide if result.wide is not None and self.ext in WIDE_EXTS else result.image)
        self.frames += 1
        self._first = result.index if self._first is None else self._first
        self._last = result.index

    def close(self) -> None:
        """Say so when the folder also holds numbered frames this run did not write (an earlier,
        longer run's): read as one sequence, they would follow this run's frames."""
        if self._closed:  # closed twice (a with block around a run)
            return
        self._closed = True
        if not self.frames:
            return
        try:
            numbered = sum(1 for p in self.folder.iterdir()
                           if p.suffix == self.ext and p.stem.isdigit() and len(p.stem) >= 6 and p.is_file())
        except OSError:
            return
        if numbered > self.frames:
            log.warning("%s holds %d numbered %s frames that this run did not write (from an earlier run); this "
                        "run wrote %d (%06d%s to %06d%s)", self.folder, numbered - self.frames, self.ext,
                        self.frames, self._first, self.ext, self._last, self.ext)

    def close_partial(self) -> None:
        """After a run that ended in error: the frames written stay; say which they are."""
        if self._closed:  # closed twice (a with block around a run)
            return
        self._closed = True
        if not self.frames:
            return
        log.warning("the run ended in error: %s holds the %d frames written by this run (%06d%s to %06d%s); "
                    "files there with other numbers, if any, are from an earlier run", self.folder, self.frames,
                    self._first, self.ext, self._last, self.ext)
