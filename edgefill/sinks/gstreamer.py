"""Streaming the processed frames on through a GStreamer pipeline: ``-o gst://...`` outputs.

A smart camera that removes objects has to send the cleaned video somewhere: RTP over UDP to a
recorder or a media server, a hardware encoder into a file, a display. :class:`GstreamerSink`
hands each frame to OpenCV's GStreamer video writer, whose ``appsrc`` feeds the pipeline given:

    GstreamerSink("x264enc tune=zerolatency speed-preset=ultrafast ! rtph264pay config-interval=-1 ! "
                  "udpsink host=10.0.0.2 port=5000 sync=false")                   # any Linux
    GstreamerSink("nvvidconv ! nvv4l2h264enc insert-sps-pps=true ! h264parse ! rtph264pay config-interval=-1 ! "
                  "udpsink host=10.0.0.2 port=5000 sync=false")                   # Jetson, NVENC

(``config-interval=-1`` sends the stream's SPS/PPS with every key frame: rtph264pay sends them
never by default, and a plain ``udpsrc ! rtph264depay`` receiver, which gets no SDP, cannot
decode without them; the Orin Nano has no hardware encoder: x264enc there.)

Like the ``gst://`` and ``csi://`` sources it needs an OpenCV built with GStreamer: JetPack's
system OpenCV is, pip's ``opencv-python`` wheels are not (:class:`~edgefill.errors.ConfigError`
when the sink is made, before any frame is read).

What OpenCV's writer does with the pipeline (``modules/videoio/src/cap_gstreamer.cpp``,
``CvVideoWriter_GStreamer``), and what follows from it:

- Frames are pushed into the pipeline's first source element whose name contains ``appsrc``
  (``appsrc``, ``appsrc0`` ...). A pipeline without an ``appsrc`` gets ``appsrc ! videoconvert !``
  in front here; an ``appsrc`` renamed (``name=src``) would not be found, and is refused.
- The caps are BGR at the frame size (made even, as for video files) and the frame rate given
  (else the source's own, else 25): each buffer is stamped frame number / rate. A sink that
  syncs to the clock (a display; ``udpsink`` by default) then plays at that rate whatever the
  camera delivers: give ``sync=false`` to send each frame as it comes.
- ``appsrc`` blocks while the pipeline is full, so a stuck network sink stalls the output
  thread; put a ``queue leaky=downstream max-size-buffers=2`` before such a sink to drop frames
  instead.
- A failure inside the pipeline after it started is only logged by OpenCV (its ``write``
  returns nothing): frames are then lost without an error here.
- Closing sends end-of-stream and waits for it to reach the sinks (so an encoder finishes its
  file); a pipeline that never lets it through is abandoned after ``close_timeout_s``.
"""

from __future__ import annotations

import logging
import re
import threading

import cv2

from ..capture.base import redact_uri
from ..capture.gstreamer import require_gstreamer
from ..checks import is_finite
from ..errors import ConfigError
from .base import FrameResult, Sink
from .video_frames import FixedFrameSize, bgr, usable_fps

log = logging.getLogger(__name__)

#: what a pipeline without an appsrc gets in front of it
HEAD = "appsrc ! videoconvert ! "

_APPSRC = re.compile(r"(?:^|!)\s*appsrc\b([^!]*)")
_NAME = re.compile(r"""\bname\s*=\s*["']?([^\s"'!]+)""")


def output_pipeline(pipeline: str) -> str:
    """The full pipeline for OpenCV's writer: ``pipeline`` (with or without a leading ``gst://``),
    with ``appsrc ! videoconvert !`` in front if it has no ``appsrc``."""
    p = pipeline[len("gst://"):] if pipeline.startswith("gst://") else pipeline
    p = p.strip()
    if not p.strip("! "):
        raise ConfigError("the GStreamer output pipeline is empty: give the elements after appsrc, e.g. "
                          "gst://x264enc tune=zerolatency ! rtph264pay config-interval=-1 ! udpsink host=HOST port=5000 "
                          "sync=false")
    m = _APPSRC.search(p)
    if m is None:
        return HEAD + p.lstrip("! ")
    name = _NAME.search(m.group(1))
    if name and "appsrc" not in name.group(1) and "opencvsrc" not in name.group(1):
        raise ConfigError(f"the GStreamer output's appsrc is named {name.group(1)!r}: OpenCV feeds the source "
                          "element whose name contains 'appsrc' (or 'opencvsrc'); drop name= or keep 'appsrc' in it")
    return p


class GstreamerSink(Sink):
    """Writes every frame into a GStreamer pipeline (see the module's docstring).

    ``pipeline``: the elements after ``appsrc`` (or a whole pipeline that starts with one), with
    or without ``gst://``. ``fps``: the rate the frames are stamped with (None: the source's own,
    else 25; a source rate above 1000 fps, such as the RTP clock some RTSP streams report, is none)."""

    def __init__(self, pipeline: str, fps: float | None = None, close_timeout_s: float = 10.0):
        if fps is not None and not (is_finite(fps) and fps > 0):
            raise ConfigError(f"fps must be a finite number > 0, got {fps!r}")
        if not (is_finite(close_timeout_s) and close_timeout_s > 0):
            raise ConfigError(f"close_timeout_s must be a finite number of seconds > 0, got {close_timeout_s!r}")
        self.pipeline = output_pipeline(pipeline)
        #: the pipeline as logs and errors show it (credentials in it redacted)
        self.description = redact_uri("gst://" + self.pipeline)
        require_gstreamer(f"the output {self.description}", ConfigError)
        self.fps, self.close_timeout_s = fps, close_timeout_s
        self.writer: cv2.VideoWriter | None = None
        self.frames = 0
        self.frames_fit = FixedFrameSize(self.description)

    def write(self, result: FrameResult) -> None:
        img = bgr(result.image, self.description)
        if self.writer is None:
            fps = self.fps or usable_fps(result.source_fps) or 25.0
            w, h = self.frames_fit.start(img)
            writer = cv2.VideoWriter(self.pipeline, cv2.CAP_GSTREAMER, 0, fps, (w, h), True)
            if not writer.isOpened():
                writer.release()
                raise ConfigError(
                    f"OpenCV cannot start the GStreamer output {self.description} for {w}x{h} BGR frames at "
                    f"{fps:g} fps: an element or property it does not know, a plugin that is not installed, or "
                    "caps the pipeline cannot take (GST_DEBUG=2 shows why; gst-launch-1.0 videotestsrc ! "
                    f"video/x-raw,format=BGR,width={w},height={h} ! <the elements after appsrc> tries it alone)")
            log.info("streaming to %s at %dx%d, %g fps", self.description, w, h, fps)
            self.writer = writer
        self.writer.write(self.frames_fit.fit(img, result.index))
        self.frames += 1

    def close(self) -> None:
        """Send end-of-stream and wait for the pipeline to finish, at most ``close_timeout_s``."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        done = threading.Thread(target=writer.release, name="edgefill-gst-output-close", daemon=True)
        done.start()
        done.join(self.close_timeout_s)
        if done.is_alive():
            log.warning("%s did not finish within %g s of the end of the stream (a sink that never lets it "
                        "through); it is left to finish in the background", self.description, self.close_timeout_s)
