"""Frame sources by URI.

| URI | source |
| --- | --- |
| ``clip.mp4``, ``file:///data/clip.mp4`` | video file (never drops a frame) |
| ``frames/``, ``"frames/*.png"``, ``images://frames`` | image folder or glob, sorted |
| ``v4l2:///dev/video0`` | USB / V4L2 camera |
| ``csi://0`` | Jetson CSI camera (GStreamer nvarguscamerasrc) |
| ``gst://videotestsrc ! ...`` | raw GStreamer pipeline |
| ``rtsp://user:pass@host/stream`` | RTSP (FFmpeg), with open/read timeouts |
| ``http://host:port/stream.mjpg`` | MJPEG over HTTP |
| ``picam://0`` | Raspberry Pi camera (picamera2) |
"""

from __future__ import annotations

import glob as _glob
import os
from pathlib import Path

from . import files, gstreamer, mjpeg_http, picam, rtsp, v4l2  # noqa: F401  (register schemes)
from ..checks import is_whole
from ..errors import ConfigError
from ..imageio import IMAGE_EXTS
from .base import CaptureOptions, FrameSource, list_schemes, redact_uri, register_source, source_class
from .resilient import ResilientSource


def scheme_of(uri: str | os.PathLike) -> str:
    """The registered scheme a URI or path resolves to."""
    uri = _as_uri(uri)
    if "://" in uri:
        return uri.split("://", 1)[0].lower()
    path = Path(uri)
    if path.is_file():  # before the glob test: "clip [1].mp4" was a pattern that matched no image
        # an image is read as images are (EXIF orientation, 16 bits over the bits it uses), not by FFmpeg
        return "images" if path.suffix.lower() in IMAGE_EXTS else "file"
    if path.is_dir() or _glob.has_magic(uri):
        return "images"
    return "file"


def _camera_path(uri: str) -> bool:
    """Whether a plain path names a camera rather than a video file: a camera number (``0``,
    OpenCV's habit) or a device node such as ``/dev/video0``, none of them a file."""
    if Path(uri).is_file():
        return False
    return uri.isdigit() or uri.startswith("/dev/video") or Path(uri).is_char_device()


def _as_uri(uri: object) -> str:
    """``uri`` as the string the schemes take: a ``pathlib.Path`` (any ``os.PathLike``) is its path,
    as for masks and sinks (it was a TypeError); a camera number (``0``, OpenCV's habit) is ``"0"``,
    refused below with the URI to write; anything else is a :class:`ConfigError`."""
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if is_whole(uri):
        uri = str(uri)
    if not isinstance(uri, str):
        raise ConfigError(f"a source is a URI or path (a str or pathlib.Path, e.g. clip.mp4, frames/, "
                          f"v4l2:///dev/video0) or a FrameSource, not {type(uri).__name__} {uri!r}")
    return uri


def open_source(uri: str | os.PathLike, options: CaptureOptions | None = None) -> FrameSource:
    """Construct (not yet open) the source for ``uri`` (a str or a ``pathlib.Path``).

    A camera given as a plain path (``0``, ``/dev/video0``) is refused with the URI to write:
    it was opened as a video file that "does not exist"."""
    uri = _as_uri(uri)
    scheme = scheme_of(uri)
    if scheme == "file" and _camera_path(uri):
        raise ConfigError(f"{uri} is a camera, not a video file: open it as v4l2://{uri}")
    return source_class(scheme)(uri, options or CaptureOptions())


__all__ = ["CaptureOptions", "FrameSource", "ResilientSource", "list_schemes", "open_source", "redact_uri",
           "register_source", "scheme_of"]
