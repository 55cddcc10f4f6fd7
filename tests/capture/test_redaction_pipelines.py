"""Credentials inside gst:// pipelines (an rtspsrc's URL or user-pw, an srt passphrase) are
redacted like those of rtsp:// URLs: they were shown whole in errors, logs and stats.json."""

from __future__ import annotations

import dataclasses

import pytest

import edgefill.capture.gstreamer as capture_gst
from edgefill.capture import CaptureOptions, open_source, redact_uri
from edgefill.errors import CaptureError
from edgefill.opencv_check import opencv_info


@pytest.mark.parametrize("uri,shown", [
    ("gst://rtspsrc location=rtsp://admin:hunter2@10.0.0.5/live latency=0 ! decodebin ! appsink",
     "gst://rtspsrc location=rtsp://***@10.0.0.5/live latency=0 ! decodebin ! appsink"),
    ('gst://rtspsrc location="rtsp://cam/live" user-id=admin user-pw=hunter2 ! appsink',
     'gst://rtspsrc location="rtsp://cam/live" user-id=admin user-pw=*** ! appsink'),
    ('gst://appsrc ! rtspclientsink location=rtsps://u:hunter2@srv/x user-pw="hunter 2"',
     "gst://appsrc ! rtspclientsink location=rtsps://***@srv/x user-pw=***"),
    ("gst://srtsink uri=srt://h:9000 PASSPHRASE=hunter2", "gst://srtsink uri=srt://h:9000 PASSPHRASE=***"),
    ("gst://rtspsrc location=rtsp://cam:554/live ! appsink", "gst://rtspsrc location=rtsp://cam:554/live ! appsink"),
    ("file:///data/a:b@c.mp4", "file:///data/a:b@c.mp4"),  # a path, not a user: as before
    ("rtsp://cam/s?password=pw9&channel=1", "rtsp://cam/s?password=***&channel=1"),  # the query's other values: as before
])
def test_credentials_inside_a_pipeline_are_redacted(uri, shown):
    assert redact_uri(uri) == shown


def test_a_gst_source_says_its_pipeline_without_the_password(monkeypatch):
    monkeypatch.setattr(capture_gst, "opencv_info", lambda: dataclasses.replace(opencv_info(), gstreamer=False))
    src = open_source("gst://rtspsrc location=rtsp://admin:hunter2@cam/live ! decodebin ! videoconvert ! appsink",
                      CaptureOptions())
    assert "hunter2" not in src.description
    with pytest.raises(CaptureError) as err:
        src.open()
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
