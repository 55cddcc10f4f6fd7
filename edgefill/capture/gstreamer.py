"""GStreamer sources: Jetson CSI cameras (``csi://N``) and raw pipelines (``gst://...``).

These need an OpenCV built with GStreamer: JetPack's system OpenCV has it, pip's
``opencv-python`` wheels do not.
"""

from __future__ import annotations

import re
from fractions import Fraction

import cv2

from ..errors import CaptureError, ConfigError, EdgeFillError
from ..opencv_check import built_with, opencv_info
from .base import CaptureOptions, register_source
from .opencv_capture import VideoCaptureSource


def gst_fraction(fps: float) -> str:
    """``fps`` as a caps fraction ``num/den``: 30 -> 30/1, 7.5 -> 15/2, 29.97 -> 2997/100, and
    NTSC's 30000/1001 (29.97002997...) -> 30000/1001. The closest fraction with a denominator
    up to 1001, the largest that video rates use."""
    f = Fraction(fps).limit_denominator(1001)
    return f"{f.numerator}/{f.denominator}"


def csi_pipeline(sensor_id: int, options: CaptureOptions) -> str:
    """The nvarguscamerasrc pipeline for a CSI sensor, converted to BGR for OpenCV.

    :class:`CaptureOptions` admits whole sizes > 0 and finite rates > 0 only; csi:// takes a
    rate of at least 1 fps (below 0.5 fps it once became "framerate=0/1", a pipeline that
    failed to open with no reason given). The rate goes into the caps as a GStreamer fraction
    (:func:`gst_fraction`): 7.5 fps is 15/2, NTSC's 29.97 30000/1001. flip-method 1, 3, 5 and 7
    turn the frames a quarter turn: nvvidconv then gives them height x width."""
    if options.fps is not None and options.fps < 1:
        raise ConfigError(f"csi:// needs a frame rate of at least 1 fps, got {options.fps!r}")
    w, h = int(options.width or 1920), int(options.height or 1080)
    fps = gst_fraction(options.fps or 30)
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM), width={w}, height={h}, framerate={fps}, format=NV12 ! "
        f"nvvidconv flip-method={options.flip} ! video/x-raw, format=BGRx ! "
        "videoconvert ! video/x-raw, format=BGR ! appsink drop=true max-buffers=1 sync=false"
    )


def require_gstreamer(description: str, error: type[EdgeFillError] = CaptureError) -> None:
    """``error`` unless the OpenCV loaded was built with GStreamer (a ``gst://`` output raises a
    :class:`ConfigError`, a source a :class:`CaptureError`)."""
    if built_with("GStreamer"):  # the build information alone; the rest of opencv_info() is for the message
        return
    info = opencv_info()
    if not info.gstreamer:
        hint = (f"; pip's {', '.join(info.pip_wheels)} is loaded — on a Jetson uninstall it to use JetPack's OpenCV"
                if info.pip_wheels else "")
        raise error(f"{description} needs OpenCV built with GStreamer, but OpenCV {info.version} "
                    f"at {info.path} was built without it{hint}")


class _GstSource(VideoCaptureSource):
    live = True

    def pipeline(self) -> str:
        raise NotImplementedError

    def _open_capture(self) -> cv2.VideoCapture:
        require_gstreamer(self.description)
        return cv2.VideoCapture(self.pipeline(), cv2.CAP_GSTREAMER)


@register_source("csi")
class CsiSource(_GstSource):
    """``csi://0``: Jetson CSI camera through nvarguscamerasrc (size, fps, flip from options)."""

    flips_itself = True  # nvvidconv flip-method

    def delivered_size(self, width: int, height: int) -> tuple[int, int]:
        # nvvidconv's quarter turns (flip-method 1, 3, 5, 7) swap the sides: each open warned that
        # the camera "does not offer" the size it had given
        return (height, width) if self.options.flip % 2 else (width, height)

    def open(self) -> None:
        self.pipeline()  # a bad sensor number, size or fps: said here, not hidden behind "needs GStreamer"
        super().open()

    def pipeline(self) -> str:
        rest = self.uri[len("csi://"):] or "0"
        if not re.fullmatch(r"[0-9]+", rest):  # not str.isdigit(): it takes '²', which int() refuses
            raise CaptureError(f"csi:// takes a sensor number, e.g. csi://0, not {self.description}")
        return csi_pipeline(int(rest), self.options)


@register_source("gst")
class GstPipelineSource(_GstSource):
    """``gst://<pipeline ending in appsink>``."""

    def pipeline(self) -> str:
        p = self.uri[len("gst://"):].strip()
        if "appsink" not in p:
            p += " ! videoconvert ! video/x-raw, format=BGR ! appsink drop=true max-buffers=1"
        for name in re.findall(r"\bappsink\b[^!]*?\bname=(\S+)", p):
            if "appsink" not in name and "opencvsink" not in name:  # how OpenCV finds the element
                raise CaptureError(f"{self.description}: OpenCV takes frames from an appsink whose name holds "
                                   f"'appsink' or 'opencvsink', not name={name} (drop the name, or name it appsink0)")
        return p
