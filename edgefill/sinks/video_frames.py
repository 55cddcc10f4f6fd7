"""Frames as OpenCV's video writers take them: BGR uint8, of one size, with even sides.

Shared by :class:`~edgefill.sinks.VideoFileSink` and :class:`~edgefill.sinks.GstreamerSink`:
both write through ``cv2.VideoWriter``, which silently drops a frame of another number of
channels or another size, and whose encoders (and H.264 encoders in GStreamer pipelines) need
even sizes: a 97x63 frame lost its last row and column.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from ..errors import InputError

log = logging.getLogger(__name__)

#: the highest frame rate a video is written at: above it FFmpeg's AVI muxer silently drops frames
#: (2000 fps kept 17 of 50) and MPEG-4 refuses rates above 65535; OpenCV reports the RTP clock
#: (90000) as the frame rate of some RTSP streams
MAX_FPS = 1000.0


def usable_fps(fps: float | None) -> float | None:
    """A source's frame rate, or None where it is none a video can have (0, NaN, inf, or above
    :data:`MAX_FPS`, said in a warning)."""
    if fps is None or not math.isfinite(fps) or fps <= 0:
        return None
    if fps > MAX_FPS:
        log.warning("the source reports %g fps, which is no frame rate (at most %g): the output is written "
                    "at 25 fps unless a rate is given (fps=, edgefill run --fps)", fps, MAX_FPS)
        return None
    return fps


def bgr(img: np.ndarray, where: object) -> np.ndarray:
    """A frame as the BGR uint8 image the video writer takes: grey and BGRA frames are converted
    (the writer silently drops frames with another number of channels). ``where`` names the
    output in errors."""
    if img.dtype != np.uint8:
        raise InputError(f"cannot write {where}: frames must be uint8 images, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputError(f"cannot write {where}: frames must be HxW, HxWx3 or HxWx4 images, got shape {img.shape}")
    return img


class FixedFrameSize:
    """The size of a video, set by its first frame (:meth:`start`), and every frame fitted to it
    (:meth:`fit`): a frame of another size is scaled to it (said once), and an odd side is made
    even by repeating the last row or column (said once, at the start)."""

    def __init__(self, where: object):
        self.where = where
        self.size: tuple[int, int] | None = None  # (height, width) of the frames, before padding
        self._resized = False  # warned about a frame of another size

    def start(self, img: np.ndarray) -> tuple[int, int]:
        """Fix the size to ``img``'s; return the video's (width, height), each made even."""
        self.size = img.shape[:2]
        h, w = self.size[0] + self.size[0] % 2, self.size[1] + self.size[1] % 2
        if (h, w) != self.size:
            log.warning("%s: frames are %dx%d; the video is %dx%d (the codec needs even sizes: the last "
                        "column/row is repeated)", self.where, self.size[1], self.size[0], w, h)
        return w, h

    def fit(self, img: np.ndarray, index: int) -> np.ndarray:
        """``img`` (frame number ``index``) at the video's size."""
        assert self.size is not None, "start() first"
        if img.shape[:2] != self.size:
            if not self._resized:
                even = "" if not (self.size[0] % 2 or self.size[1] % 2) else \
                    f" (written {self.size[1] + self.size[1] % 2}x{self.size[0] + self.size[0] % 2}, made even)"
                log.warning("%s: frame %d is %dx%d, the first frame %dx%d%s: frames of another size are scaled to "
                            "the first one's", self.where, index, img.shape[1], img.shape[0], self.size[1],
                            self.size[0], even)
                self._resized = True
            img = cv2.resize(img, (self.size[1], self.size[0]))
        if self.size[0] % 2 or self.size[1] % 2:
            img = cv2.copyMakeBorder(img, 0, self.size[0] % 2, 0, self.size[1] % 2, cv2.BORDER_REPLICATE)
        return img
