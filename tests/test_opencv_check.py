from edgefill import opencv_check
from edgefill.opencv_check import OpenCVInfo


def test_parses_gstreamer_line():
    assert opencv_check._gstreamer_enabled("  Video I/O:\n    GStreamer:                   YES (1.20.3)\n")
    assert not opencv_check._gstreamer_enabled("    GStreamer:                   NO\n")
    assert not opencv_check._gstreamer_enabled("nothing here")


def test_jetson_without_gstreamer_is_a_problem_naming_the_wheel():
    info = OpenCVInfo("4.10.0", "/site-packages/cv2", gstreamer=False, pip_wheels=("opencv-python-headless",), is_jetson=True)
    (problem,) = info.problems
    assert "pip uninstall opencv-python-headless" in problem


def test_no_problem_off_jetson_or_with_gstreamer():
    assert OpenCVInfo("4.10", "/x", False, ("opencv-python",), False).problems == []
    assert OpenCVInfo("4.10", "/usr/lib/python3/dist-packages/cv2", True, (), True).problems == []


def test_reports_this_machine():
    info = opencv_check.opencv_info()
    assert info.version and isinstance(info.gstreamer, bool)
