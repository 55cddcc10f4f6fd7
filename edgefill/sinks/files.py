"""Video-file and image-folder sinks."""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from ..errors import ConfigError, InputError
from ..imageio import IMAGE_EXTS, write_image
from .base import FrameResult, Sink

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class VideoFileSink(Sink):
    """Writes to ``<name>.part<ext>`` and renames to the final name on close, so a
    crash never leaves a truncated file under the final name."""

    def __init__(self, path: str | Path, fps: float | None = None):
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in FOURCC:
            raise ConfigError(f"cannot write video {self.path}: use one of {', '.join(FOURCC)}")
        if fps is not None and fps <= 0:
            raise ConfigError(f"fps must be > 0, got {fps}")
        self.fps = fps  # None: the source's frame rate (FrameResult.fps), else 25
        self.tmp = self.path.with_name(self.path.stem + ".part" + ext)
        self.writer: cv2.VideoWriter | None = None
        self.frames = 0

    def write(self, result: FrameResult) -> None:
        img = result.image
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fps = self.fps or result.source_fps or 25.0
            self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*FOURCC[self.path.suffix.lower()]),
                                          fps, (img.shape[1], img.shape[0]))
            if not self.writer.isOpened():
                raise InputError(f"OpenCV cannot write {self.path}")
            self.size = img.shape[:2]
        if img.shape[:2] != self.size:
            img = cv2.resize(img, (self.size[1], self.size[0]))
        self.writer.write(img)
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
            with open(self.tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self.tmp, self.path)


class ImageFolderSink(Sink):
    """``<folder>/<index:06d>.png`` (or another image extension)."""

    def __init__(self, folder: str | Path, ext: str = ".png"):
        if ext not in IMAGE_EXTS:
            raise ConfigError(f"unsupported image extension {ext!r}")
        self.folder, self.ext = Path(folder), ext
        self.frames = 0

    def write(self, result: FrameResult) -> None:
        write_image(self.folder / f"{result.index:06d}{self.ext}", result.image)
        self.frames += 1
