"""Frames as the pipeline takes them: BGR uint8.

The built-in sources give BGR uint8 frames. A :class:`~edgefill.capture.FrameSource` of a
user's own (an industrial camera's SDK, say) may give what its camera does: grey (HxW or
HxWx1), BGRA, or 10-, 12- or 16-bit samples in uint16. The Pipeline's reader converts such
frames here (:func:`as_bgr_frame`; a BGR uint8 frame passes as it is), and refuses with a
:class:`~edgefill.errors.CaptureError` that names the source what it cannot take. 16-bit frames
are scaled to 8 bits by one scale for the whole sequence (:class:`SequenceScale`), as a folder of
16-bit images is, so that the brightness holds from frame to frame.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..errors import CaptureError
from ..imageio import StoredImage, stored_array

log = logging.getLogger(__name__)


class SequenceScale:
    """The 16-to-8-bit scale of a sequence of frames: its first 16-bit frame's
    (:func:`edgefill.imageio.image_scale`), raised with a warning when a later frame uses more
    bits (a darker later frame does not lower it)."""

    def __init__(self) -> None:
        self.scale: float | None = None
        #: the last frame :meth:`take` took, as a :class:`StoredImage`, when it was 16-bit (else
        #: None): the pipeline writes the fill back into it (``FrameResult.wide``)
        self.last_wide: StoredImage | None = None

    @property
    def min_scale(self) -> float:
        """What the next 16-bit frame is divided by at least."""
        return self.scale or 1.0

    def take(self, image: StoredImage, where: object) -> np.ndarray:
        """``image.bgr``, having noted a 16-bit ``image``'s scale (read with :attr:`min_scale`);
        ``where``: the frame, for the warning."""
        self.last_wide = None
        if image.stored.dtype == np.uint16:
            if self.scale is not None and image.scale > self.scale:
                log.warning("%s uses more bits than the frames before it: 16-bit frames are scaled to 8 bits by "
                            "%.4g from here on (was %.4g), so they look darker", where, image.scale, self.scale)
            self.scale = image.scale
            self.last_wide = image
        return image.bgr


def as_bgr_frame(frame: object, scale: SequenceScale, source: str) -> np.ndarray:
    """``frame`` as a BGR uint8 HxWx3 array: grey and BGRA frames converted, 16-bit ones scaled
    by ``scale``; anything else is a :class:`CaptureError` naming ``source``. ``scale.last_wide``
    is then this frame at its depth when it was 16-bit, else None."""
    if isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.size:
        scale.last_wide = None
        return frame
    shape = getattr(frame, "shape", None)
    dtype = getattr(frame, "dtype", type(frame).__name__)
    if (not isinstance(frame, np.ndarray) or frame.dtype not in (np.uint8, np.uint16) or frame.size == 0
            or not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3, 4)))):
        raise CaptureError(f"{source} gave a frame of {dtype} {shape}; frames must be grey (HxW, HxWx1), BGR or "
                           "BGRA, 8 or 16 bits (uint8 or uint16)")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return scale.take(stored_array(np.ascontiguousarray(frame), scale.min_scale), f"a frame of {source}")
