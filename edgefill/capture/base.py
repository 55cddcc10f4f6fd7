"""Frame sources: the protocol, the options, and the scheme registry.

A source is opened by URI (``edgefill.capture.open_source``). ``read()`` returns
the next frame (BGR uint8 for the built-in sources; :mod:`.frame_format` converts a user's
source's grey, BGRA or 16-bit frames), ``None`` at the end of a finite stream, and raises
:class:`~edgefill.errors.CaptureError` when the device stalls or drops (the
:class:`~edgefill.capture.resilient.ResilientSource` wrapper reconnects live
sources with backoff).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Type

import cv2
import numpy as np

from ..checks import is_finite, is_fourcc, is_whole
from ..errors import ConfigError
from ..imageio import StoredImage


#: FFmpeg's ``rtsp_transport`` values (its RTSP demuxer's options): TCP (RTP interleaved in the
#: RTSP connection: through NAT and lossy Wi-Fi), UDP, UDP multicast, RTSP tunnelled in HTTP
RTSP_TRANSPORTS = ("tcp", "udp", "udp_multicast", "http")


@dataclass(frozen=True)
class CaptureOptions:
    """Options shared by all sources; each source uses the ones that apply to it."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    #: nvvidconv's flip-method numbers (0 none, 1 rotate 90 counter-clockwise, 2 rotate 180, 3 rotate
    #: 90 clockwise, 4 horizontal, 5 upper-right diagonal, 6 vertical, 7 upper-left diagonal): done by
    #: nvvidconv for csi://, by the sensor for picam:// (0, 2, 4, 6), in software (:func:`apply_flip`,
    #: by the Pipeline's reader) for every other source
    flip: int = 0
    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0  # bounds every read of a live source (see docs/runtime.md, "Read timeouts")
    reconnect: bool = True  # live sources only
    max_backoff_s: float = 10.0
    frozen_timeout_s: float = 10.0  # live: identical frames for this long count as a stall (0 = off)
    loop: bool = False  # file sources: start again at the end
    #: rtsp:// only: the RTSP transport FFmpeg uses, one of :data:`RTSP_TRANSPORTS`; None leaves
    #: OpenCV's own choice (see :mod:`edgefill.capture.rtsp`)
    rtsp_transport: str | None = None
    #: v4l2:// only: the pixel format asked of the camera, a four-character code such as "MJPG"
    #: (most USB webcams give 1080p at 30 fps only as MJPEG, and 5-10 fps in their default YUYV)
    #: or "YUYV"; None leaves the camera's (the driver's) default
    fourcc: str | None = None

    def __post_init__(self) -> None:
        if (self.width is None) != (self.height is None):
            raise ConfigError("give both width and height, or neither")
        for name in ("open_timeout_s", "read_timeout_s", "max_backoff_s"):
            value = getattr(self, name)
            if not (is_finite(value) and value > 0):  # NaN: every read "timed out"
                raise ConfigError(f"{name} must be a finite number of seconds > 0, got {value!r}")
        if not (is_finite(self.frozen_timeout_s) and self.frozen_timeout_s >= 0):
            raise ConfigError(f"frozen_timeout_s must be >= 0 (0 turns the frozen-frame watchdog off), "
                              f"got {self.frozen_timeout_s}")
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and not (is_whole(value) and value > 0):
                raise ConfigError(f"{name} must be a whole number of pixels > 0, got {value!r}")
        if self.fps is not None and not (is_finite(self.fps) and self.fps > 0):  # NaN crashed picam:// in int()
            raise ConfigError(f"fps must be a finite number > 0, got {self.fps!r}")
        if not (is_whole(self.flip) and 0 <= self.flip <= 7):  # 2.5 passed and broke apply_flip / nvvidconv
            raise ConfigError(f"flip must be a flip-method 0..7, got {self.flip!r}")
        if self.fourcc is not None and not is_fourcc(self.fourcc):
            raise ConfigError(f"fourcc must be a four-character pixel format code such as MJPG or YUYV, "
                              f"got {self.fourcc!r}")
        if self.rtsp_transport is not None and self.rtsp_transport not in RTSP_TRANSPORTS:
            raise ConfigError(f"rtsp_transport must be one of {', '.join(RTSP_TRANSPORTS)} (or None: OpenCV's "
                              f"default), got {self.rtsp_transport!r}")

    def read_wait_s(self, first: bool) -> float:
        """How long a live source's read may wait: the first read after opening the larger of the
        two timeouts (a camera's first frame can take as long as opening it), every other one
        ``read_timeout_s``."""
        return max(self.read_timeout_s, self.open_timeout_s) if first else self.read_timeout_s


def apply_flip(frame: np.ndarray, flip: int) -> np.ndarray:
    """``frame`` turned or mirrored as nvvidconv's flip-method ``flip`` does it (0: as it is)."""
    if flip == 0:
        return frame
    if flip in _ROTATIONS:
        return cv2.rotate(frame, _ROTATIONS[flip])
    if flip in (4, 6):
        return cv2.flip(frame, 1 if flip == 4 else 0)
    turned = cv2.transpose(frame)  # 7: across the main diagonal
    return cv2.rotate(turned, cv2.ROTATE_180) if flip == 5 else turned  # 5: across the other one


_ROTATIONS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


class FrameSource(ABC):
    """One camera, stream or file. Not thread-safe: one reader thread at a time."""

    #: Live sources (cameras, streams) drop stale frames when the pipeline falls behind;
    #: finite sources (files) never drop one.
    live: ClassVar[bool] = False
    #: Whether the source applies ``options.flip`` itself (nvvidconv, the sensor); otherwise the
    #: Pipeline's reader flips its frames in software (:func:`apply_flip`).
    flips_itself: ClassVar[bool] = False

    def __init__(self, uri: str, options: CaptureOptions):
        self.uri = uri
        self.options = options
        self.fps: float | None = options.fps

    @property
    def last_wide(self) -> StoredImage | None:
        """The frame :meth:`read` returned last at its stored depth, when the source read it from
        a 16-bit file and returned it scaled to 8 bits (the image-folder source); None otherwise. A
        source that returns uint16 frames itself needs nothing here: the pipeline keeps them."""
        return None

    @property
    def description(self) -> str:
        """The URI with any credentials removed, safe for logs."""
        return redact_uri(self.uri)

    @abstractmethod
    def open(self) -> None:
        """Connect; raise CaptureError with a clear reason when it can't."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """Next frame, or None at the end of a finite stream."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device. Safe to call twice."""

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SCHEMES: dict[str, type[FrameSource]] = {}
S = Type[FrameSource]  # typing.Type: evaluated at import, on Python 3.8 too


def register_source(*schemes: str) -> Callable[[S], S]:
    def deco(cls: S) -> S:
        for s in schemes:
            _SCHEMES[s] = cls
        return cls

    return deco


def source_class(scheme: str) -> type[FrameSource]:
    if scheme not in _SCHEMES:
        raise ConfigError(f"unknown source scheme {scheme!r}://; known: {', '.join(sorted(_SCHEMES))}")
    return _SCHEMES[scheme]


def list_schemes() -> list[str]:
    return sorted(_SCHEMES)


#: ``user:password@`` up to the LAST ``@`` before the path, as FFmpeg splits it (``admin:p@ss@host``
#: left ``ss@host`` and the rest of the password in every log line); with a ``:`` after the user,
#: also across a ``/`` (a password with a raw ``/``, which no client can use: it was printed whole
#: in the "cannot open" error)
_USERINFO = re.compile(r"(?<![a-zA-Z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#@\s]*:[^?#\s]*|[^/?#\s]*)@")
#: GStreamer element properties that hold a password (rtspsrc / rtspclientsink user-pw, proxy-pw,
#: srtsrc / srtsink passphrase ...), written ``name=value`` in a gst:// pipeline (a URL's query is
#: _SECRET_QUERY's: this one took the parameters after a ``?password=`` with it)
_SECRET_PROPERTY = re.compile(r"""(?i)(?<![\w?&-])((?:user-pw|proxy-pw|passphrase|password|passwd)\s*=\s*)("[^"]*"|'[^']*'|[^\s!]+)""")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:password|passwd|pwd|pass|token|key|secret|auth)=)[^&\s]*")


_SCHEME_END = re.compile(r"(?<![a-zA-Z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]*://")
_USER = re.compile(r"[^/?#@:\s]*:")
_HOST = re.compile(r"[^@/?#:\s]*")
_PORT_AND_PATH = re.compile(r"\d+/")
_SPACE = re.compile(r"\s")


def _odd_userinfo_redacted(text: str) -> str:
    """``text`` with ``user:password@`` redacted where the password holds a raw ``?`` or ``#``
    (which no client can use either; it was printed whole): up to the first ``@`` after which
    comes a host and the end of the authority, unless what follows the ``:`` is a port and a path
    (``http://cam:8080/s?mail=a@b`` keeps its host). Found by scanning, not by a regular
    expression: the pattern it replaced backtracked cubically (a 3.5 KB request line to the
    preview, which logs redacted lines, held the process, GIL and all, for seconds)."""
    if "@" not in text or ("?" not in text and "#" not in text):
        return text
    out, done = [], 0
    for scheme in _SCHEME_END.finditer(text):
        auth = scheme.end()
        if auth < done:
            continue
        user = _USER.match(text, auth)
        if user is None:
            continue
        space = _SPACE.search(text, auth)
        stop = len(text) if space is None else space.start()
        at = text.find("@", user.end(), stop)
        while at >= 0:
            host = _HOST.match(text, at + 1)
            if host.end() > at + 1 and (host.end() == stop or text[host.end()] != "@"):
                secret = text[user.end():at]
                if ("?" in secret or "#" in secret) and not _PORT_AND_PATH.match(secret):
                    out.append(text[done:auth] + "***")
                    done = at
                break
            at = text.find("@", at + 1, stop)
    return "".join(out) + text[done:]


def redact_uri(uri: str) -> str:
    """Remove ``user:password@`` and secret-looking query values from a URI, and from the URIs and
    password properties inside a ``gst://`` pipeline (``rtspsrc location=rtsp://user:pw@cam/live``,
    ``user-pw=...``): these were shown whole in errors, logs and the run's statistics."""
    out = _odd_userinfo_redacted(_USERINFO.sub(r"\1***@", uri))
    out = _SECRET_PROPERTY.sub(r"\1***", out)
    return _SECRET_QUERY.sub(r"\1***", out)
