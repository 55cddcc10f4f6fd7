"""Sinks that hand frames to code: a Python callback, or an OpenCV window."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import cv2

from ..errors import ConfigError
from .base import FrameResult, Sink


class CallbackSink(Sink):
    def __init__(self, fn: Callable[[FrameResult], object]):
        self.fn = fn

    def write(self, result: FrameResult) -> None:
        self.fn(result)


class WindowSink(Sink):
    """An OpenCV window. Needs a display and an OpenCV with GUI support (not the headless wheel)."""

    def __init__(self, title: str = "edgefill"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise ConfigError("no display (DISPLAY is unset): use --preview for an MJPEG preview instead")
        if re.search(r"GUI:\s*NONE", cv2.getBuildInformation()):
            raise ConfigError("this OpenCV has no GUI support (headless wheel): use --preview instead")
        self.title = title
        self._open = False

    def write(self, result: FrameResult) -> None:
        self._open = True
        cv2.imshow(self.title, result.image)
        cv2.waitKey(1)

    def close(self) -> None:
        if self._open:  # once: OpenCV's GTK backend raises ("NULL window") for a window it no longer has
            self._open = False
            cv2.destroyWindow(self.title)
