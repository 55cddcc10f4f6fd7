"""Raspberry Pi cameras through picamera2: ``picam://0``.

picamera2's ``"RGB888"`` format is, despite its name, laid out B, G, R in memory
(libcamera names formats by the packed word, not the byte order), which is exactly
OpenCV's BGR; frames are therefore passed on without a channel swap. The Picamera2 manual
says so in its list of image formats ("RGB888 - 24 bits per pixel, ordered [B, G, R]";
"BGR888" is the one ordered [R, G, B]).

``--flip`` (``CaptureOptions.flip``) takes csi://'s numbers where a Pi camera can follow them:
2 (rotate 180), 4 (horizontal) and 6 (vertical), done by the sensor (libcamera's ``Transform``).

Each read waits at most ``read_timeout_s`` for a frame (``capture_array(wait=False)``, then
``Picamera2.wait(job, timeout)``), so a camera that stops delivering is reported as
stalled and reconnected instead of blocking the capture thread for ever. A picamera2 whose
``wait`` takes no timeout (early 0.3 releases) is refused at open; closing cancels the capture
left queued by a timed-out read (``cancel_all_and_flush``) before ``stop()``, which otherwise
waits behind it for ever.
"""

from __future__ import annotations

import inspect
import logging
import re
from concurrent.futures import TimeoutError as FutureTimeoutError

import numpy as np

from ..errors import BackendUnavailableError, CaptureError, ConfigError
from .base import FrameSource, register_source

log = logging.getLogger(__name__)


def _release(cam: object) -> None:
    """Stop and close a Picamera2, so that the camera can be claimed again: close() runs even
    when stop() fails, and neither failure hides the error being handled.

    Capture jobs left queued by a read that timed out are cancelled first: picamera2's ``stop()``
    runs as a job behind them and waits for it without a timeout, so behind a capture that a
    stalled camera never completes it blocked for ever (and the reconnect with it). picamera2's
    ``cancel_all_and_flush()`` is documented for exactly this: tidying up after an operation timed
    out "so that the camera can be closed"."""
    try:
        cancel = getattr(cam, "cancel_all_and_flush", None)
        if cancel is not None:
            cancel()
        cam.stop()
    except Exception as exc:  # noqa: BLE001 - releasing: report and go on to close()
        log.debug("stopping the camera: %s", exc)
    finally:
        try:
            cam.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("closing the camera: %s", exc)


def _wait_takes_timeout(picamera2_class: type) -> bool:
    """Whether ``Picamera2.wait`` takes the ``timeout`` that read() passes (early 0.3 releases
    have ``wait(job)`` only)."""
    try:
        return "timeout" in inspect.signature(picamera2_class.wait).parameters
    except (TypeError, ValueError):  # no signature to read: let the call say
        return True


def _report_size(description: str, asked: tuple[int, int], cam: object) -> None:
    """Warn when the camera delivers another size than asked: libcamera adjusts a size the sensor
    pipeline cannot produce (an odd width, a size above the sensor's), and picamera2 reports the
    result in its configuration. A mask image drawn at the asked size would then not fit the
    frames, and the warning says why (as v4l2:// warns when the driver changes the mode)."""
    try:
        got = tuple(int(v) for v in cam.camera_configuration()["main"]["size"])
    except Exception:  # noqa: BLE001 - an older picamera2 without it: the frames' shape still tells
        return
    if got != tuple(asked):
        log.warning("%s delivers %dx%d frames, not the %dx%d asked for (libcamera adjusted the size)",
                    description, got[0], got[1], asked[0], asked[1])


#: CaptureOptions.flip (nvvidconv's flip-method numbers, as csi:// takes them) -> (hflip, vflip)
#: of libcamera's Transform; the Pi's sensors flip in hardware but do not turn by 90 degrees
_FLIPS = {2: (1, 1), 4: (1, 0), 6: (0, 1)}


def _transform(flip: int) -> dict:
    """The ``transform`` keyword of ``create_video_configuration`` for ``flip`` ({} for none)."""
    if not flip:
        return {}
    if flip not in _FLIPS:
        raise ConfigError(f"picam:// takes flip 0 (none), 2 (rotate 180), 4 (horizontal) or 6 (vertical), not "
                          f"{flip}: a Raspberry Pi camera does not rotate by 90 degrees")
    try:
        from libcamera import Transform
    except ImportError as exc:
        raise BackendUnavailableError("picam", f"libcamera's Python bindings cannot be imported ({exc}); they come "
                                      "with picamera2 (sudo apt install python3-picamera2)") from exc
    hflip, vflip = _FLIPS[flip]
    return {"transform": Transform(hflip=hflip, vflip=vflip)}


@register_source("picam")
class PicameraSource(FrameSource):
    live = True
    flips_itself = True  # libcamera's Transform, or refused

    def __init__(self, uri, options):
        super().__init__(uri, options)
        self.cam = None
        self._first_read = False

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise BackendUnavailableError("picam", f"picamera2 cannot be imported ({exc})", "picamera") from exc
        if not _wait_takes_timeout(Picamera2):  # every read would be a TypeError traceback
            raise BackendUnavailableError("picam", "this picamera2 is too old: its Picamera2.wait() takes no timeout, "
                                          "which bounds every read; upgrade it (sudo apt install --only-upgrade "
                                          "python3-picamera2, or pip install -U picamera2)")
        rest = self.uri[len("picam://"):] or "0"
        if not re.fullmatch(r"[0-9]+", rest):  # not str.isdigit(): it takes '²', which int() refuses
            raise CaptureError(f"picam:// takes a camera number, e.g. picam://0, not {self.description}")
        transform = _transform(self.options.flip)  # before the camera is claimed
        self.close()
        size = (self.options.width or 1280, self.options.height or 720)
        cam = None
        try:
            cam = Picamera2(camera_num=int(rest))  # claims the camera until cam.close()
            controls = {}
            if self.options.fps:  # libcamera's control, in microseconds per frame
                period = int(round(1e6 / self.options.fps))
                controls["FrameDurationLimits"] = (period, period)
            cam.configure(cam.create_video_configuration(main={"size": size, "format": "RGB888"}, controls=controls,
                                                         **transform))
            cam.start()
            _report_size(self.description, size, cam)
        except BaseException as exc:
            if cam is not None:  # give the camera back, or every reconnect finds it busy
                _release(cam)
            if isinstance(exc, (RuntimeError, IndexError, OSError)):
                raise CaptureError(f"cannot start {self.description}: {exc}") from exc
            raise
        self.cam, self._first_read = cam, True

    def read(self) -> np.ndarray | None:
        if self.cam is None:
            raise CaptureError(f"{self.description} is not open")
        # the first frame after start() may take as long as opening (the sensor's first exposure):
        # as the other cameras' first reads, not a stall and a reconnect loop with a short read timeout
        timeout = self.options.read_wait_s(self._first_read)
        self._first_read = False
        try:
            job = self.cam.capture_array("main", wait=False)
            frame = self.cam.wait(job, timeout=timeout)
        except (FutureTimeoutError, TimeoutError) as exc:  # distinct classes before Python 3.11
            raise CaptureError(f"{self.description} stalled: no frame for {timeout:g} s") from exc
        except (RuntimeError, OSError) as exc:
            raise CaptureError(f"{self.description} failed: {exc}") from exc
        if frame.ndim == 3 and frame.shape[2] == 4:  # XRGB8888 is [B, G, R, 255]: drop the padding byte
            frame = frame[:, :, :3]
        return np.ascontiguousarray(frame)

    def close(self) -> None:
        cam, self.cam = self.cam, None
        if cam is not None:
            _release(cam)
