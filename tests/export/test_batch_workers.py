"""Batches made ahead in worker processes (``--workers``): the same batches as made in the
training process, made in other processes (threads were held to one core by the GIL), with
Ctrl-C left to the training process."""

import os
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.train import BatchPrefetcher, CropSampler, TrainConfig, photo_sets  # noqa: E402


def _cfg(steps, **kw):
    return TrainConfig(model="nano", steps=steps, batch=2, crop=64, threads=1, **kw)


class _WhereSampler:
    """A sampler whose arrays say which process made them and how that process takes SIGINT."""

    def arrays(self, n, rng):
        ignores = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        return np.array([os.getpid()]), np.array([int(ignores), int(rng.integers(1 << 30))])


def test_workers_make_batches_in_other_processes_that_leave_ctrl_c_to_training():
    batches = BatchPrefetcher(_WhereSampler(), _cfg(4, workers=2))
    try:
        got = [batches.arrays(step) for step in range(4)]
    finally:
        batches.close()
    pids = {int(pid) for pid, _ in got}
    assert os.getpid() not in pids
    assert all(int(info[0]) == 1 for _, info in got)
    serial = BatchPrefetcher(_WhereSampler(), _cfg(4))
    assert [int(info[1]) for _, info in got] == [int(serial.arrays(step)[1][1]) for step in range(4)]


def test_a_resumed_run_gets_the_batches_from_its_step_on(photo_dir):
    photos, _ = photo_sets(sorted(photo_dir.iterdir()))
    sampler = CropSampler(photos, 64, 0.5)
    serial = BatchPrefetcher(sampler, _cfg(6))
    resumed = BatchPrefetcher(sampler, _cfg(6, workers=2), start=3)
    try:
        for step in range(3, 6):
            (xa, va), (xb, vb) = serial.get(step), resumed.get(step)
            assert torch.equal(xa, xb) and torch.equal(va, vb)
    finally:
        resumed.close()


def test_steps_out_of_order_are_refused():
    batches = BatchPrefetcher(_WhereSampler(), _cfg(4, workers=1), start=1)
    try:
        with pytest.raises(ValueError, match="step 1 is next, not 2"):
            batches.arrays(2)
        assert batches.arrays(1)[1].shape == (2,)
    finally:
        batches.close()


def test_a_run_with_nothing_left_to_train_starts_no_workers():
    batches = BatchPrefetcher(_WhereSampler(), _cfg(4, workers=2), start=4)
    assert batches.batches is None
    assert int(batches.arrays(4)[0][0]) == os.getpid()


_AFTER_OPENCV_THREADS = r"""
import sys
from concurrent.futures import ThreadPoolExecutor
import cv2, numpy as np
sys.path.insert(0, sys.argv[1])
from edgefill_export import train as t
if len(sys.argv) > 2:
    t._WORKER_START = sys.argv[2]
rng = np.random.default_rng(0)
photos = [rng.integers(0, 255, (700, 900, 3), dtype=np.uint8) for _ in range(4)]
sampler = t.CropSampler(photos, 64, 0.5)
cfg = t.TrainConfig(model="nano", steps=6, batch=2, crop=64, workers=2)
with ThreadPoolExecutor(2) as pool:  # the training process uses OpenCV's thread pool first
    list(pool.map(lambda s: sampler.batch(8, t.batch_rng(cfg, s)), range(8)))
    list(pool.map(lambda _: cv2.resize(photos[0], (1800, 1400)), range(8)))
batches = t.BatchPrefetcher(sampler, cfg)
for step in range(6):
    batches.get(step)
batches.close()
print("ok")
"""


def test_workers_start_after_the_training_process_used_opencv_threads():
    """Forked workers hung in cv2.setNumThreads (and would in any parallel OpenCV call) once the
    training process had used OpenCV's thread pool: its lock is copied without its threads."""
    import subprocess
    import sys
    from pathlib import Path

    export_dir = str(Path(__file__).resolve().parents[2] / "export")
    try:
        run = subprocess.run([sys.executable, "-c", _AFTER_OPENCV_THREADS, export_dir], capture_output=True,
                             text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("batch workers hung after the training process used OpenCV's thread pool")
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


_PRELOAD_PROBE = r"""
import os, sys
import numpy as np
from edgefill_export import train as t


class Where:
    def arrays(self, n, rng):  # in the worker: which process imported the training module
        return np.array([os.getpid()]), np.array([t._IMPORTED_BY])


if __name__ == "__main__":
    if sys.argv[1] == "off":
        t._WORKER_PRELOAD = ["__main__"]  # the stdlib's default
    batches = t.BatchPrefetcher(Where(), t.TrainConfig(model="nano", steps=1, batch=2, crop=64, workers=1))
    pid, imported_by = batches.arrays(0)
    batches.close()
    print("worker" if int(pid[0]) == int(imported_by[0]) else "fork server")
"""


def test_the_fork_server_imports_the_training_module_once_for_all_workers(tmp_path):
    """Each worker imported torch and OpenCV itself (seconds each) unless the fork server had
    preloaded them; run as ``python -m`` (as train is), in a fresh process: a fork server that
    another test started keeps its preload list."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "preload_probe.py").write_text(_PRELOAD_PROBE)
    export_dir = str(Path(__file__).resolve().parents[2] / "export")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), export_dir, os.environ.get("PYTHONPATH", "")])}
    if "forkserver" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork server on this platform: workers are spawned")
    seen = {}
    for arm in ("on", "off"):
        p = subprocess.run([sys.executable, "-m", "preload_probe", arm], env=env, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        seen[arm] = p.stdout.strip()
    assert seen == {"on": "fork server", "off": "worker"}
