"""csi:// pipelines: NVIDIA's documented nvarguscamerasrc form, and user values checked before
they are pasted into the pipeline string."""

import re

import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.capture.gstreamer import csi_pipeline
from edgefill.errors import CaptureError, ConfigError


def test_csi_pipeline_is_the_documented_nvarguscamerasrc_form():
    p = csi_pipeline(1, CaptureOptions(width=1280, height=720, fps=59.9, flip=2))
    elements = [e.strip() for e in p.split("!")]
    assert elements[0] == "nvarguscamerasrc sensor-id=1"
    assert elements[1] == "video/x-raw(memory:NVMM), width=1280, height=720, framerate=599/10, format=NV12"
    assert elements[2] == "nvvidconv flip-method=2"
    assert elements[3:5] == ["video/x-raw, format=BGRx", "videoconvert"]
    assert elements[-1].startswith("appsink") and "drop=true" in elements[-1] and "max-buffers=1" in elements[-1]


@pytest.mark.parametrize("kwargs,says", [
    ({"fps": float("nan")}, "frame rate"),  # ValueError from int(round(nan))
    ({"fps": float("inf")}, "frame rate"),  # OverflowError
    ({"fps": 0.3}, "frame rate"),  # framerate=0/1
    ({"fps": -30}, "frame rate"),
    ({"width": 0, "height": 0}, "width"),  # silently 1920x1080
    ({"width": -640, "height": 480}, "width"),
    ({"width": 640, "height": 480.5}, "height"),
    ({"width": "640 ! filesink location=/tmp/x", "height": 480}, "width"),  # an extra element in the caps
])
def test_bad_csi_options_are_config_errors(kwargs, says):
    with pytest.raises(ConfigError, match=says if "fps" not in kwargs else "frame rate|fps"):
        csi_pipeline(0, CaptureOptions(**kwargs))  # CaptureOptions refuses a rate no source can have


@pytest.mark.parametrize("uri", ["csi://²", "csi://0 ! filesink location=/tmp/x", "csi://-1", "csi://0x1", "csi://0\n"])
def test_a_csi_uri_takes_a_sensor_number_only(uri):
    """'csi://²' passed str.isdigit() and int() raised ValueError."""
    with pytest.raises(CaptureError, match="takes a sensor number"):
        open_source(uri, CaptureOptions()).pipeline()


def test_bad_csi_options_are_said_at_open_before_the_gstreamer_check():
    """Without GStreamer (or before the device thread), the bad value was hidden behind another error."""
    with pytest.raises(ConfigError, match=re.escape("got nan")):
        open_source("csi://0", CaptureOptions(fps=float("nan"))).open()


@pytest.mark.parametrize("name, refused", [("sink", True), ("out", True), ("appsink0", False), ("opencvsink", False),
                                           (None, False)])
def test_a_gst_pipeline_whose_appsink_opencv_cannot_find_is_refused_by_name(name, refused):
    """OpenCV takes frames from an appsink named appsink* or opencvsink only: `appsink name=sink`
    failed to open with no reason given."""
    named = f" name={name}" if name else ""
    src = open_source(f"gst://videotestsrc ! videoconvert ! appsink drop=1{named} sync=false", CaptureOptions())
    if refused:
        with pytest.raises(CaptureError, match=f"not name={name}"):
            src.pipeline()
    else:
        assert src.pipeline().endswith("sync=false")
