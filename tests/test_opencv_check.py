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


def test_advice_to_uninstall_the_wheel_says_what_then_loads():
    """Regression: the advice was 'pip uninstall opencv-python' even where no other OpenCV is on
    this Python's path (a venv made without --system-site-packages, python3-opencv not
    installed): following it left no cv2 at all, and edgefill stopped importing."""
    (alone,) = OpenCVInfo("4.10.0", "/venv/cv2", False, ("opencv-python",), True, other_cv2=None).problems
    assert "pip uninstall opencv-python" in alone
    assert "apt-get install python3-opencv" in alone and "--system-site-packages" in alone
    system = "/usr/lib/python3/dist-packages/cv2"
    (shadowed,) = OpenCVInfo("4.10.0", "/venv/cv2", False, ("opencv-python",), True, other_cv2=system).problems
    assert f"JetPack's OpenCV at {system} is then used" in shadowed and "apt-get" not in shadowed


def test_finds_the_other_cv2_on_the_path(tmp_path, monkeypatch):
    import sys

    (tmp_path / "cv2").mkdir()
    (tmp_path / "cv2" / "__init__.py").write_text("")
    monkeypatch.setattr(opencv_check.metadata, "version", lambda name: "4.10.0")  # a wheel is installed
    monkeypatch.setattr(sys, "path", sys.path + [str(tmp_path)])
    assert opencv_check.opencv_info().other_cv2 == str(tmp_path / "cv2")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    assert opencv_check.opencv_info().other_cv2 is None


def test_doctor_exit_codes_and_lines(capsys, monkeypatch):
    """A Jetson whose OpenCV lacks GStreamer is a problem (exit 1, one 'problem:' line); a missing
    onnxruntime is listed with the extra to install but is not (OpenCV still inpaints)."""
    from edgefill.backends.base import Availability
    from edgefill.backends.onnxruntime import OnnxRuntimeBackend
    from edgefill.cli import main

    info = OpenCVInfo("4.10.0", "/venv/cv2", False, ("opencv-python",), True)
    monkeypatch.setattr(opencv_check, "opencv_info", lambda: info)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert [ln for ln in out.splitlines() if ln.startswith("problem: ")] == [f"problem: {info.problems[0]}"]
    monkeypatch.setattr(opencv_check, "opencv_info", lambda: OpenCVInfo("4.10.0", "/usr/cv2", True, (), True))
    monkeypatch.setattr(OnnxRuntimeBackend, "is_available",
                        classmethod(lambda cls: Availability(False, "onnxruntime is not installed (pip install edgefill[ort])")))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "problem" not in out and "onnxruntime    unavailable: onnxruntime is not installed (pip install edgefill[ort])" in out
    assert main(["backends"]) == 0


def test_doctor_finds_an_installed_tensorrt_that_does_not_import(capsys, monkeypatch, tmp_path):
    """The backends' check finds the package only; a tensorrt whose libraries do not match (here a
    stand-in whose import fails as libnvinfer's would) must be a problem line, exit 1."""
    import sys

    from edgefill.cli import main

    pkg = tmp_path / "tensorrt"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise ImportError('libnvinfer.so.10: cannot open shared object file')\n")
    for name in [m for m in sys.modules if m.split(".")[0] == "tensorrt"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(opencv_check, "opencv_info", lambda: OpenCVInfo("4.10.0", "/usr/cv2", True, (), True))
    assert main(["doctor"]) == 1
    problems = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("problem: ")]
    assert len(problems) == 1 and "tensorrt is installed but does not import (libnvinfer.so.10" in problems[0]
    assert "JetPack" in problems[0]
