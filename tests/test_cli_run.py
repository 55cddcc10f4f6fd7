import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
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


# -- in-process checks of `edgefill run`'s options (edgefill.cli.main) ------------------------------

def _main(*args):
    from edgefill.cli import main

    return main([str(a) for a in args])


def _profile(tmp_path, flip=2, threads=4):
    """A board profile (rpi5's) whose camera flips and whose runtime sets threads."""
    import yaml

    from edgefill.profiles import profiles_dir

    data = yaml.safe_load((profiles_dir() / "rpi5.yaml").read_text())
    data["name"] = "testboard"
    data["runtime"].update(threads=threads)
    data["runtime"]["camera"].update(source="picam://0", width=640, height=480, fps=12, flip=flip)
    path = tmp_path / "testboard.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def stop_at_inpainter(monkeypatch):
    """Record the source URI and CaptureOptions `run` opens and the Inpainter's options, then
    stop the command there (exit 2, 'stopped here')."""
    import edgefill.capture
    import edgefill.inpainter
    from edgefill.errors import InputError

    seen = {}

    def fake_open_source(uri, options=None):
        seen["uri"], seen["options"] = uri, options
        return object()

    def fake_inpainter(**kwargs):
        seen["inpainter"] = kwargs
        raise InputError("stopped here")

    monkeypatch.setattr(edgefill.capture, "open_source", fake_open_source)
    monkeypatch.setattr(edgefill.inpainter, "Inpainter", fake_inpainter)
    return seen


def test_profile_camera_settings_apply_to_cameras_and_explicit_options_win(tmp_path, stop_at_inpainter, capsys):
    """`--flip 0` / `--threads 0` were taken for 'not given' (`if not args.flip`): the profile's won."""
    prof, seen = _profile(tmp_path), stop_at_inpainter
    common = ["--profile", prof, "--mask", "rect:0,0,5,5", "--stats-json", tmp_path / "s.json"]
    assert _main("run", "csi://0", *common) == 2 and "stopped here" in capsys.readouterr().err
    o = seen["options"]
    assert (o.width, o.height, o.fps, o.flip) == (640, 480, 12, 2) and seen["inpainter"]["threads"] == 4
    assert _main("run", "csi://0", *common, "--flip", "0", "--threads", "0", "--fps", "5",
                 "--width", "320", "--height", "240") == 2
    o = seen["options"]
    assert (o.width, o.height, o.fps, o.flip) == (320, 240, 5, 0) and "threads" not in seen["inpainter"]


def test_profile_camera_settings_do_not_apply_to_files_or_streams(tmp_path, stop_at_inpainter):
    """The profile's camera fps hid a file's own rate (FrameSource.fps = options.fps)."""
    clip = write_video(tmp_path / "c.avi", 2)
    for source in (clip, "rtsp://cam/stream", "http://cam:8080/s.mjpg"):
        assert _main("run", source, "--profile", _profile(tmp_path), "--mask", "rect:0,0,5,5",
                     "--stats-json", tmp_path / "s.json") == 2
        o = stop_at_inpainter["options"]
        assert (o.width, o.height, o.fps, o.flip) == (None, None, None, 0), source
        assert stop_at_inpainter["inpainter"]["threads"] == 4  # the rest of the profile still applies


def test_a_profile_does_not_change_the_output_video_frame_rate(tmp_path):
    """`run clip.mp4 --profile x86-cpu -o o.mp4` wrote a 30 fps video from a 16 fps clip."""
    clip = write_video(tmp_path / "c.avi", 4, fps=16)
    assert _main("run", clip, "--mask", "rect:0,0,30,30", "--profile", "x86-cpu", "--backend", "opencv-telea",
                 "-o", tmp_path / "o.avi") == 0
    assert cv2.VideoCapture(str(tmp_path / "o.avi")).get(cv2.CAP_PROP_FPS) == pytest.approx(16)
    assert _main("run", clip, "--mask", "rect:0,0,30,30", "--profile", "x86-cpu", "--backend", "opencv-telea",
                 "--fps", "10", "-o", tmp_path / "o10.avi") == 0  # an explicit --fps still sets it
    assert cv2.VideoCapture(str(tmp_path / "o10.avi")).get(cv2.CAP_PROP_FPS) == pytest.approx(10)


def test_run_without_source_uses_the_profiles_camera(tmp_path, stop_at_inpainter, capsys):
    """The README lists a profile's camera among its defaults; camera.source was never read."""
    assert _main("run", "--profile", _profile(tmp_path), "--mask", "rect:0,0,5,5",
                 "--stats-json", tmp_path / "s.json") == 2
    assert stop_at_inpainter["uri"] == "picam://0" and stop_at_inpainter["options"].flip == 2
    capsys.readouterr()
    assert _main("run", "--mask", "rect:0,0,5,5", "--stats-json", tmp_path / "s.json") == 2
    assert "needs a SOURCE" in capsys.readouterr().err


def _overwrite_cases(tmp_path):
    clip = write_video(tmp_path / "in.avi", 3)
    mask = write_video(tmp_path / "mask.avi", 3, moving_object=False)
    part_named = write_video(tmp_path / "o.part.avi", 3)
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "000000.png"), np.zeros((32, 32, 3), np.uint8))
    return {
        "output is the input": ([clip, "--mask", "rect:0,0,5,5", "-o", clip], clip),
        "output is the mask video": ([clip, "--mask", mask, "-o", mask, "--max-frames", "2"], mask),
        "stats are the input": ([clip, "--mask", "rect:0,0,5,5", "--stats-json", clip], clip),
        "stats are the mask": ([clip, "--mask", mask, "--stats-json", mask], mask),
        "the .part file is the input": ([part_named, "--mask", "rect:0,0,5,5", "-o", tmp_path / "o.avi"], part_named),
        "frames folder holds the input": ([clip, "--mask", "rect:0,0,5,5", "-o", tmp_path], clip),
        "frames folder is the input folder": ([frames, "--mask", "rect:0,0,5,5", "-o", frames], frames / "000000.png"),
        "via file:// and ..": ([f"file://{clip}", "--mask", "rect:0,0,5,5", "-o", tmp_path / "x" / ".." / "in.avi"],
                               clip),
    }


@pytest.mark.parametrize("case", ["output is the input", "output is the mask video", "stats are the input",
                                  "stats are the mask", "the .part file is the input",
                                  "frames folder holds the input", "frames folder is the input folder",
                                  "via file:// and .."])
def test_run_refuses_to_overwrite_its_inputs(tmp_path, case, capsys):
    """`run in.mp4 --mask inm.mp4 -o in.mp4` replaced the input (inpaint checks this; run did not)."""
    args, victim = _overwrite_cases(tmp_path)[case]
    before = victim.read_bytes()
    assert _main("run", *args, "--backend", "opencv-telea") == 2
    assert "refusing" in capsys.readouterr().err
    assert victim.read_bytes() == before
    assert not list(tmp_path.glob("0*.png"))


@pytest.mark.parametrize("frames", ["0", "-3"])
def test_max_frames_below_one_is_refused(tmp_path, frames, capsys):
    """--max-frames 0 ran nothing and still said 'wrote out.avi'."""
    clip = write_video(tmp_path / "c.avi", 3)
    assert _main("run", clip, "--mask", "rect:0,0,5,5", "--backend", "opencv-telea", "-o", tmp_path / "o.avi",
                 "--max-frames", frames) == 2
    assert "--max-frames" in capsys.readouterr().err


def test_wrote_is_said_only_of_outputs_that_exist(tmp_path, monkeypatch, capsys):
    import edgefill.capture
    from edgefill.capture import FrameSource

    class NoFrames(FrameSource):
        def open(self):
            pass

        def read(self):
            return None

    monkeypatch.setattr(edgefill.capture, "open_source", lambda uri, options=None: NoFrames(uri, options))
    assert _main("run", "nothing.avi", "--mask", "rect:0,0,5,5", "--backend", "opencv-telea",
                 "-o", tmp_path / "o.avi") == 0
    out = capsys.readouterr().out
    assert "0 frames" in out and "wrote" not in out and not (tmp_path / "o.avi").exists()


def test_output_extension_the_video_sink_cannot_write_is_refused(tmp_path, capsys):
    """`-o out.webm` wrote a folder of PNGs named out.webm."""
    clip = write_video(tmp_path / "c.avi", 2)
    assert _main("run", clip, "--mask", "rect:0,0,5,5", "--backend", "opencv-telea", "-o", tmp_path / "o.webm") == 2
    err = capsys.readouterr().err
    assert ".webm" in err and ".mp4" in err and ".avi" in err and not (tmp_path / "o.webm").exists()
    # a folder: no extension, a trailing slash, or an existing folder with a dot in its name
    (tmp_path / "run.1").mkdir()
    for out in (tmp_path / "frames", f"{tmp_path / 'frames.v2'}/", tmp_path / "run.1"):
        assert _main("run", clip, "--mask", "rect:0,0,5,5", "--backend", "opencv-telea", "-o", out) == 0
        assert len(list(Path(out).glob("*.png"))) == 2


def test_preview_port_errors_are_one_line(tmp_path, capsys):
    """--preview-port 99999 raised OverflowError (a traceback, exit 1)."""
    clip = write_video(tmp_path / "c.avi", 2)
    assert _main("run", clip, "--mask", "rect:0,0,5,5", "--backend", "opencv-telea", "--preview",
                 "--preview-port", "99999") == 2
    assert "0..65535" in capsys.readouterr().err


def test_an_ipv6_preview_host_is_printed_as_a_usable_url(tmp_path):
    """http://::1:8090/ is no URL a browser opens: an IPv6 host goes in brackets."""
    clip = write_video(tmp_path / "c.avi", 3)
    proc = run_cli("run", clip, "--mask", "rect:0,0,30,30", "--backend", "opencv-telea", "--preview",
                   "--preview-host", "::1", "--preview-port", "0")
    assert proc.returncode == 0, proc.stderr
    assert "preview: http://[::1]:" in proc.stderr


def test_run_writes_a_folder_of_16_bit_frames_back_at_their_depth(tmp_path):
    """A folder of 12-bit grey frames to a folder of frames: 16-bit grey PNGs out, every pixel
    outside the hole with all of its bits (before, 8-bit BGR)."""
    (tmp_path / "in").mkdir()
    rng = np.random.default_rng(0)
    frames = []
    for i in range(3):
        f = rng.integers(0, 4096, (48, 64)).astype(np.uint16)
        f[0, 0] = 4095
        cv2.imwrite(str(tmp_path / "in" / f"{i:03d}.png"), f)
        frames.append(f)
    assert _main("run", tmp_path / "in", "--mask", "rect:10,10,20,10", "-o", tmp_path / "out",
                 "--backend", "opencv-telea") == 0
    hole = np.zeros((48, 64), bool)
    hole[10:20, 10:30] = True
    for i, f in enumerate(frames):
        out = cv2.imread(str(tmp_path / "out" / f"{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert out.dtype == np.uint16 and out.shape == (48, 64)
        assert np.array_equal(out[~hole], f[~hole]) and not np.array_equal(out[hole], f[hole])


@pytest.mark.parametrize("stats", ["o.avi", "o.part.avi"])
def test_run_refuses_statistics_over_its_own_video(tmp_path, stats, capsys):
    """--stats-json naming the output video, or the .part file it is written to, is refused before
    the run (the .part case wrote the statistics into the video being written)."""
    clip = write_video(tmp_path / "c.avi", 3)
    assert _main("run", clip, "--mask", "rect:0,0,5,5", "--backend", "opencv-telea", "-o", tmp_path / "o.avi",
                 "--stats-json", tmp_path / stats) == 2
    err = capsys.readouterr().err
    assert "--stats-json" in err and "is also the output video" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.avi"]
