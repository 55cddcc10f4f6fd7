"""rtsp:// through OpenCV's FFmpeg backend, against a local server that accepts and stays silent."""

from __future__ import annotations

import logging

import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.errors import CaptureError


def test_a_stalled_open_is_ended_by_ffmpeg_not_abandoned(silent_server, caplog):
    """FFmpeg's open timeout fires before the capture thread's bound: the open returns a clean
    'cannot open' and no driver call is left running. With equal timeouts the thread gave up a
    moment before FFmpeg, warned that a driver call 'has not returned', and left it running."""
    src = open_source(f"rtsp://admin:hunter2@127.0.0.1:{silent_server}/live",
                      CaptureOptions(open_timeout_s=2.0, read_timeout_s=2.0))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(CaptureError, match="cannot open") as err:
            src.open()
        src.close()
    assert "hunter2" not in str(err.value) and "hunter2" not in caplog.text
    assert "has not returned" not in caplog.text and "did not return" not in caplog.text
    assert not src._stuck


def test_ffmpeg_timeouts_are_shorter_than_the_thread_bound():
    from edgefill.capture.rtsp import ffmpeg_timeout_ms

    assert ffmpeg_timeout_ms(10.0) == 9000
    assert ffmpeg_timeout_ms(2.0) == 1000
    assert ffmpeg_timeout_ms(0.4) == 200
    assert ffmpeg_timeout_ms(1e-4) == 1  # never 0, which would be FFmpeg's default (no timeout)
