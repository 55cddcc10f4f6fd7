"""Shared test doubles: a fake MJPEG camera on 127.0.0.1, video writers, slow backends."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

from edgefill.backends.base import Availability, Backend, InputInfo


def write_video(path: Path, frames: int, size=(320, 240), fps=25.0, moving_object=True, seed=0) -> Path:
    """A real video file: a textured background with a magenta disc moving across it."""
    w, h = size
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    fourcc = "MJPG" if path.suffix == ".avi" else "mp4v"
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    for i in range(frames):
        f = bg.copy()
        if moving_object:
            cv2.circle(f, (20 + (i * 7) % (w - 40), h // 2), 18, (255, 0, 255), -1)
        cv2.putText(f, str(i), (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        wr.write(f)
    wr.release()
    return path


class FakeMjpegCamera:
    """An MJPEG-over-HTTP camera on 127.0.0.1 that can stall or disconnect on cue.

    ``behaviour(connection_index, frame_index) -> "ok" | "stall" | "drop"``.
    """

    def __init__(self, behaviour=lambda conn, i: "ok", fps: float = 50.0, size=(160, 120), stall_s: float = 30.0):
        self.behaviour, self.period, self.size, self.stall_s = behaviour, 1.0 / fps, size, stall_s
        self.connections = 0
        self.frames_sent = 0
        self._stop = threading.Event()
        cam = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):  # noqa: N802
                conn = cam.connections
                cam.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                while not cam._stop.is_set():
                    what = cam.behaviour(conn, i)
                    if what == "drop":
                        return
                    if what == "stall":
                        cam._stop.wait(cam.stall_s)
                        return
                    img = np.full((cam.size[1], cam.size[0], 3), (i * 5) % 255, np.uint8)
                    cv2.putText(img, str(i), (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 255), 2)
                    jpg = cv2.imencode(".jpg", img)[1].tobytes()
                    try:
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + jpg + b"\r\n")
                        self.wfile.flush()
                    except OSError:
                        return
                    cam.frames_sent += 1
                    i += 1
                    time.sleep(cam.period)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SlowBackend(Backend):
    """Fills the hole with grey after sleeping ``delay`` seconds (not registered)."""

    name = "slow"
    uses_model = True

    def __init__(self, delay: float = 0.05, **unused):
        super().__init__()
        self.delay = delay
        self.calls = 0

    @classmethod
    def is_available(cls) -> Availability:
        return Availability(True)

    @property
    def input_info(self) -> InputInfo:
        return InputInfo(multiple=64)

    def _infer(self, image, mask):
        time.sleep(self.delay)
        self.calls += 1
        out = image.copy()
        out[mask > 0] = 128
        return out


class FakePicamera2:
    """A stand-in for ``picamera2.Picamera2`` (install with :meth:`module`). Like the real one,
    constructing it claims the camera until ``close()``: a second claim raises "busy".
    ``fail_configure`` / ``fail_stop`` make those calls raise; ``stall`` makes ``wait`` time out."""

    claimed: set = set()
    fail_configure = False
    fail_stop = False
    stall = False

    def __init__(self, camera_num=0):
        if camera_num in type(self).claimed:
            raise RuntimeError("Failed to acquire camera: Device or resource busy")
        type(self).claimed.add(camera_num)
        self.num, self.calls, self.waits = camera_num, {}, []

    @classmethod
    def module(cls, **settings):
        import types

        attrs = {"claimed": set(), "fail_configure": False, "fail_stop": False, "stall": False, **settings}
        return types.SimpleNamespace(Picamera2=type("Picamera2", (cls,), attrs))

    def create_video_configuration(self, main, controls, transform=None):
        self.calls["main"], self.calls["controls"], self.calls["transform"] = main, controls, transform
        return {"main": main}

    def configure(self, cfg):
        if self.fail_configure:
            raise RuntimeError("configure failed (unsupported size)")
        self.config = {"main": dict(cfg["main"], size=tuple(cfg["main"]["size"]))}

    def camera_configuration(self):
        """As picamera2's: the configuration as libcamera validated it (the size it delivers)."""
        return self.config

    def start(self):
        self.calls["started"] = True

    def capture_array(self, name="main", wait=None):
        if wait is not False:
            raise AssertionError("edgefill must not block in capture_array: it passes wait=False and waits itself")
        return ("job", name)

    def wait(self, job, timeout=None):
        import concurrent.futures

        self.waits.append(timeout)
        if self.stall:
            raise concurrent.futures.TimeoutError()
        a = np.zeros((4, 6, 3), np.uint8)
        a[..., 0] = 10  # first byte in memory is blue for RGB888
        return a

    def stop(self):
        self.calls["stopped"] = True
        if self.fail_stop:
            raise RuntimeError("stop failed")

    def close(self):
        self.calls["closed"] = True
        type(self).claimed.discard(self.num)


def fake_export_toolchain(monkeypatch, export_bundle) -> None:
    """Stand-ins for the edgefill_export modules `edgefill export` imports, with ``export_bundle``
    as the export: the CLI's own handling is tested without torch."""
    import sys
    import types

    def request(**kw):  # ExportRequest's defaults for what the CLI may leave out
        return types.SimpleNamespace(**{"calib_images": 32, "val_images": 64, **kw})

    fakes = {"bundle": {"ExportRequest": request, "export_bundle": export_bundle},
             "calibration": {"CalibrationError": type("CalibrationError", (Exception,), {})},
             "onnx_export": {"ExportError": type("ExportError", (Exception,), {})},
             "quantize": {"AccuracyGateError": type("AccuracyGateError", (Exception,), {})},
             "weights": {"CheckpointError": type("CheckpointError", (Exception,), {})}}
    for name, attrs in fakes.items():
        monkeypatch.setitem(sys.modules, f"edgefill_export.{name}", types.SimpleNamespace(**attrs))
