"""Where processed frames go: files, a window, an MJPEG preview, a GStreamer pipeline, or your code."""

from .base import FrameResult, Sink
from .callback import CallbackSink, WindowSink
from .files import ImageFolderSink, VideoFileSink
from .gstreamer import GstreamerSink
from .mjpeg import MjpegPreviewSink

__all__ = ["CallbackSink", "FrameResult", "GstreamerSink", "ImageFolderSink", "MjpegPreviewSink", "Sink", "VideoFileSink", "WindowSink"]
