import json
import subprocess
import sys

import cv2
import pytest

from .fakes import write_video


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "edgefill", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_run_writes_video_and_stats(tmp_path):
    clip = write_video(tmp_path / "c.avi", 12)
    proc = run_cli("run", clip, "--mask", "key:255,0,255,60", "--dilate", "3", "--model", "nano",
                   "-o", tmp_path / "o.mp4", "--stats-json", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    assert "12 frames" in proc.stdout and "wrote" in proc.stdout
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["frames_in"] == stats["frames_out"] == 12 and stats["backend"] == "onnxruntime"
    assert int(cv2.VideoCapture(str(tmp_path / "o.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 12


def test_run_to_image_folder(tmp_path):
    clip = write_video(tmp_path / "c.avi", 5)
    proc = run_cli("run", clip, "--mask", "rect:0,0,30,30", "--backend", "opencv-telea", "-o", tmp_path / "frames")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "frames").glob("*.png"))) == 5


def test_run_with_thin_hole_refill(tmp_path):
    clip = write_video(tmp_path / "c.avi", 4)
    proc = run_cli("run", clip, "--mask", "rect:10,10,60,3", "--model", "nano", "--thin-px", "3",
                   "--stats-json", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["frames_out"] == 4


def test_run_bad_inputs_exit_2(tmp_path):
    clip = write_video(tmp_path / "c.avi", 3)
    cases = [
        (["run", tmp_path / "missing.mp4", "--mask", "rect:0,0,5,5", "-o", tmp_path / "o.mp4"], "does not exist"),
        (["run", clip, "--mask", "rect:0,0,5", "-o", tmp_path / "o.mp4"], "4 numbers"),
        (["run", clip, "--mask", "rect:0,0,5,5"], "nothing to write"),
        (["run", "ftp://cam/x", "--mask", "rect:0,0,5,5", "-o", tmp_path / "o.mp4"], "unknown source scheme"),
        (["run", clip, "--mask", "rect:0,0,5,5", "-o", tmp_path / "o.mp4", "--preview", "--preview-host", "0.0.0.0"],
         "not loopback"),
        (["run", clip, "--mask", "rect:0,0,5,5", "-o", tmp_path / "o.mp4", "--model", "nano", "--thin-radius", "20"],
         "thin_radius"),
    ]
    for args, expected in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and expected in proc.stderr, (args, proc.stderr)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_finishes_and_flushes_outputs(tmp_path, signame):
    """Ctrl-C, or SIGTERM from a service manager, finishes the queued frames and closes the
    outputs. The child starts with default SIGINT handling: a shell's background job (CI
    started with `&`) inherits SIGINT ignored, and Ctrl-C would then never arrive."""
    import signal
    import time

    clip = write_video(tmp_path / "c.avi", 20)
    out, stats_path = tmp_path / "o.avi", tmp_path / "s.json"
    proc = subprocess.Popen([sys.executable, "-m", "edgefill", "run", str(clip), "--loop", "--mask", "rect:0,0,40,40",
                             "--backend", "opencv-ns", "-o", str(out), "--stats-json", str(stats_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    part = tmp_path / "o.part.avi"
    while not part.exists() and time.monotonic() < deadline:  # wait until frames are being written
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(getattr(signal, signame))
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    stats = json.loads(stats_path.read_text())
    assert stats["frames_out"] > 0 and stats["frames_out"] == stats["frames_in"]
    assert int(cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)) == stats["frames_out"]
    assert not part.exists()
