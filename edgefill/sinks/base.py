"""Sinks receive every processed frame, in order, on the pipeline's sink thread."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass
class FrameResult:
    """One processed frame. ``path`` says how it was filled: "model", "fallback",
    "reused" (stabiliser), or "passthrough" (empty mask)."""

    index: int
    image: np.ndarray
    mask: np.ndarray
    capture_time: float  # time.monotonic() when the frame was read
    path: str = "model"
    source_fps: float | None = None
    #: the frame at its source's own depth when the source gave 16-bit frames (uint16, grey HxW or
    #: BGR): the pixels the pipeline changed from ``image``'s fill scaled back, every other pixel
    #: with all of its bits (:meth:`edgefill.imageio.StoredImage.restore`); None for 8-bit sources.
    #: :class:`~edgefill.sinks.ImageFolderSink` writes it to PNG and TIFF frames.
    wide: np.ndarray | None = None


class Sink(ABC):
    @abstractmethod
    def write(self, result: FrameResult) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release. Called after the last frame (also on Ctrl-C); a second call does nothing."""

    def close_partial(self) -> None:
        """Like :meth:`close`, after a failed run: a sink that writes files keeps what it wrote
        under a name that cannot be mistaken for a complete output (the file sinks do). By
        default it is :meth:`close`."""
        self.close()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """:meth:`close`, or :meth:`close_partial` when the block raised. For a sink written to
        directly, and for one made before a :class:`~edgefill.Pipeline` that may fail to be made
        (a preview's port stayed bound and its server ran on): a Pipeline closes its sinks at the
        end of its run, and closing again does nothing."""
        if exc_type is None:
            self.close()
        else:
            self.close_partial()
