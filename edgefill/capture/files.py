"""Finite sources: video files (path or ``file://``) and image folders or globs."""

from __future__ import annotations

import collections
import glob
import logging
from pathlib import Path
from urllib.parse import unquote

import cv2
import numpy as np

from ..errors import CaptureError
from ..imageio import IMAGE_EXTS, StoredImage, image_files, is_image_file, read_stored_image, sequence_key
from .base import FrameSource, register_source
from .frame_format import SequenceScale
from .opencv_capture import VideoCaptureSource

log = logging.getLogger(__name__)


def file_path(uri: str) -> str:
    """The path of a ``file://`` source URI (or of a plain path).

    An absolute ``file:///...`` URI is percent-decoded, as ``Path.as_uri()`` and file managers
    write it (``file:///data/my%20clip.mp4``, which was looked for under that name and "did not
    exist"), and may name ``localhost``; a path that exists as written is taken as it is."""
    if uri[:7].lower() != "file://":  # the scheme is case-insensitive, as scheme_of() has it
        return uri
    path = uri[len("file://"):]
    if path.lower().startswith("localhost/"):
        path = path[len("localhost"):]
    if not path.startswith("/") or Path(path).exists():
        return path
    return unquote(path)


def images_spec(uri: str) -> str:
    """The folder or glob of an ``images://`` source URI (or of a plain folder or glob)."""
    return uri[len("images://"):] if uri[:9].lower() == "images://" else uri


def _glob_key(path: Path) -> tuple:
    """Frames of a glob that spans folders (``runs/*/frame_*.png``): folder by folder, each in
    frame-number order. Sorting by the file name alone interleaved the folders' frames."""
    return [sequence_key(part) for part in path.parent.parts], sequence_key(path)


@register_source("file")
class VideoFileSource(VideoCaptureSource):
    """A video file decoded by OpenCV (FFmpeg). Never drops a frame of its own: a frame that
    cannot be decoded (a damaged stretch of the file) is stood in for by the frame before it,
    with a warning, and the run goes on (it ended there, quietly, with exit 0). FFmpeg itself may
    skip a frame after a damaged one (its MJPEG reader does), which cannot be told as it happens:
    the end of the file then says how many frames the container has that were not delivered,
    from which frame on the frames (and a mask video's masks) may be out of step. A file that ends
    well before its container's frame count (truncated) ends the run with a warning; one of which
    no frame can be decoded is a :class:`CaptureError`."""

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self._pending: collections.deque = collections.deque()  # stand-ins, then the frame after them
        self._last: np.ndarray | None = None
        self._index = 0  # of the next frame of the file
        self._damaged_at: int | None = None  # the first frame that could not be decoded

    def open(self) -> None:
        super().open()
        self._pending.clear()
        self._last, self._index, self._damaged_at = None, 0, None

    def _open_capture(self) -> cv2.VideoCapture:
        path = Path(file_path(self.uri))
        if path.is_dir():  # file:///data/frames: it exists, but "does not exist" was said
            raise CaptureError(f"{path} is a folder, not a video file: open its images as images://{path}")
        if not path.is_file():
            raise CaptureError(f"video file {path} does not exist")
        return cv2.VideoCapture(str(path))

    def read(self) -> np.ndarray | None:
        frame = self._next()
        if frame is None and self.options.loop and self._index:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._index = 0
            frame = self._next()
        return frame

    def _next(self) -> np.ndarray | None:
        if self._pending:
            frame = self._pending.popleft()
        else:
            frame = super().read()
            if frame is None:
                frame = self._after_a_failed_read()
        if frame is not None:
            self._last = frame
            self._index += 1
        return frame

    def _after_a_failed_read(self) -> np.ndarray | None:
        """After frame ``self._index`` failed to decode: the frames up to the next one that decodes
        stood in for (:attr:`_pending`), or None at the file's end."""
        count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        failed = 1
        while self._index + failed < count:
            frame = super().read()
            if frame is not None:
                first, last = self._index, self._index + failed - 1
                stand_in = self._last if self._last is not None else frame
                if self._damaged_at is None:
                    self._damaged_at = first
                log.warning("%s: frame%s %s could not be decoded (a damaged file?): %s by the frame %s, and the run "
                            "goes on (the end of the file says whether the decoder skipped frames after it)",
                            self.description, "s" if failed > 1 else "", first if failed == 1 else f"{first}-{last}",
                            "stood in for" if failed == 1 else "each stood in for",
                            "before" if self._last is not None else "after")
                self._pending.extend([stand_in] * (failed - 1) + [frame])
                return stand_in
            failed += 1
        if self._index == 0:
            raise CaptureError(f"{self.description}: no frame can be decoded (a damaged or unsupported video)")
        if self._damaged_at is not None and count > self._index:  # after damage, any shortfall is frames lost
            log.warning("%s: %d of its %d frames were not delivered: the decoder skipped frames after the damaged "
                        "frame %d, so from there the frames (and a mask video's masks) may be out of step",
                        self.description, count - self._index, count, self._damaged_at)
        elif count - self._index > max(2, count // 100):  # a container's count may be an estimate
            log.warning("%s ends after %d frames, though its container says %d: a truncated or damaged file? The "
                        "frames after it cannot be read", self.description, self._index, count)
        return None


@register_source("images")
class ImageFolderSource(FrameSource):
    """Every image of a folder, or of a glob pattern, in sorted name order.

    16-bit frames are scaled to 8 bits as :func:`~edgefill.imageio.read_image` scales an image
    (over the bits it uses), but with one scale for the sequence, so that the brightness holds
    from frame to frame: the first 16-bit frame's, raised (with one warning each time) when a
    later frame uses more bits. Per frame, a 12-bit camera's darker frames (none above 2047)
    would have come out twice as bright as the others."""

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self.paths: list[Path] = []
        self.pos = 0
        self.scale = SequenceScale()  # the sequence's 16-to-8-bit scale, from its first 16-bit frame

    @property
    def last_wide(self) -> StoredImage | None:
        return self.scale.last_wide

    def open(self) -> None:
        spec = images_spec(self.uri)
        p = Path(spec)
        if p.is_dir():
            paths = image_files(p)
        elif p.is_file() and is_image_file(p):  # one image (a still, or with --loop a test frame); not a glob
            paths = [p]
        else:
            paths = sorted((Path(q) for q in glob.glob(spec) if is_image_file(Path(q))), key=_glob_key)
        if not paths:
            raise CaptureError(f"no images ({', '.join(IMAGE_EXTS)}) match {spec}")
        self.paths = paths
        self.pos = 0

    def read(self) -> np.ndarray | None:
        if not self.paths:  # open() finds at least one image: an IndexError with loop, else an empty "end"
            raise CaptureError(f"{self.description} is not open")
        if self.pos >= len(self.paths):
            if not self.options.loop:
                return None
            self.pos = 0
        path = self.paths[self.pos]
        self.pos += 1
        return self.scale.take(read_stored_image(path, min_scale=self.scale.min_scale), path)
