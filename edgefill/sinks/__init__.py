"""Where processed frames go: files, a window, an MJPEG preview, or your code."""

from .base import FrameResult, Sink
from .callback import CallbackSink, WindowSink
from .files import ImageFolderSink, VideoFileSink
from .mjpeg import MjpegPreviewSink

__all__ = ["CallbackSink", "FrameResult", "ImageFolderSink", "MjpegPreviewSink", "Sink", "VideoFileSink", "WindowSink"]
