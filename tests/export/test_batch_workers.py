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
    """A sampler whose batch says which process made it and how that process takes SIGINT."""

    def batch(self, n, rng):
        ignores = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        return torch.tensor([os.getpid()]), torch.tensor([int(ignores), int(rng.integers(1 << 30))])


def test_workers_make_batches_in_other_processes_that_leave_ctrl_c_to_training():
    batches = BatchPrefetcher(_WhereSampler(), _cfg(4, workers=2))
    try:
        got = [batches.get(step) for step in range(4)]
    finally:
        batches.close()
    pids = {int(pid) for pid, _ in got}
    assert os.getpid() not in pids
    assert all(int(info[0]) == 1 for _, info in got)
    serial = BatchPrefetcher(_WhereSampler(), _cfg(4))
    assert [int(info[1]) for _, info in got] == [int(serial.get(step)[1][1]) for step in range(4)]


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
            batches.get(2)
        assert batches.get(1)[1].shape == (2,)
    finally:
        batches.close()


def test_a_run_with_nothing_left_to_train_starts_no_workers():
    batches = BatchPrefetcher(_WhereSampler(), _cfg(4, workers=2), start=4)
    assert batches.batches is None
    assert np.isscalar(int(batches.get(4)[0]))
