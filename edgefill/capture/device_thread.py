"""Calls into a capture driver that may never return, made to time out.

A stalled camera can block a driver call for a long time or for ever: OpenCV's V4L2 backend
waits up to its select timeout (10 s by default) for each frame, a GStreamer appsink read
(``csi://``, ``gst://``) waits for ever on OpenCV before 4.7 (30 s after), and opening a
wedged device can hang. A Python thread blocked in C code cannot be interrupted, not even
by Ctrl-C.

A :class:`DeviceThread` runs every call on one capture object in a daemon thread of its own.
The caller waits at most a timeout and then gets a :class:`~edgefill.errors.CaptureError`
(which :class:`~edgefill.capture.resilient.ResilientSource` answers by reconnecting); the
call goes on in the background, and what it returns late is handed to ``on_late`` (an
opened capture is released there, in that thread). Calls on one device stay serial, so
the driver is never entered from two threads at once, and the final ``release`` runs after
any call still in progress.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from ..errors import CaptureError

log = logging.getLogger(__name__)


class _Job:
    __slots__ = ("fn", "on_late", "done", "lock", "finished", "abandoned", "settled", "result", "error")

    def __init__(self, fn: Callable[[], Any], on_late: Callable[[Any], None] | None):
        self.fn, self.on_late = fn, on_late
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.finished = self.abandoned = False
        self.settled = False  # the device thread is done with it, late clean-up included
        self.result: Any = None
        self.error: BaseException | None = None


class DeviceThread:
    """One daemon thread that makes the calls on one capture object, in order.

    ``call`` waits at most ``timeout`` seconds for a result; ``close`` queues the final call
    (a ``release``) and ends the thread after it, waiting for it only when no abandoned call
    is still running.

    The thread holds no reference to this object, nor to a call once it is done with it: a
    source dropped without ``close`` frees its capture (OpenCV releases it) and its thread ends.
    """

    def __init__(self, name: str):
        self.name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._given_up: _Job | None = None  # the last call its caller gave up on
        self._thread = threading.Thread(target=_serve, args=(name, self._jobs), name=f"edgefill-device {name}",
                                        daemon=True)
        self._thread.start()
        weakref.finalize(self, self._jobs.put, None)  # dropped without close(): end the thread

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stuck(self) -> bool:
        """A call that its caller gave up on (or its late clean-up) has not returned yet.

        Calls run in order, so it is enough to look at the last one given up on, whether it is
        still queued, running, or cleaning up after itself (releasing a capture opened late).
        """
        job = self._given_up
        return job is not None and not job.settled

    def call(self, fn: Callable[[], Any], timeout: float, what: str,
             on_late: Callable[[Any], None] | None = None) -> Any:
        job = _Job(fn, on_late)
        self._jobs.put(job)
        try:
            returned = job.done.wait(timeout)
        except BaseException:  # Ctrl-C while waiting: leave the call to its thread
            if not self._abandon(job):
                _late(self.name, job)
            raise
        if not returned and self._abandon(job):
            raise CaptureError(f"{self.name}: {what} did not return within {timeout:g} s (stalled)")
        if job.error is not None:
            raise job.error
        return job.result

    def _abandon(self, job: _Job) -> bool:
        """Give up on ``job`` unless it has just finished; whether it was given up on."""
        with job.lock:
            if not job.finished:
                job.abandoned = True
                self._given_up = job
            return job.abandoned

    def close(self, final: Callable[[], Any] | None, timeout: float) -> None:
        """Queue ``final`` (run after any call in progress) and end the thread after it.

        A ``final`` that does not return within ``timeout`` is given up on like any call, so
        that :attr:`stuck` says the thread is still inside the driver.
        """
        job = _Job(final or (lambda: None), None)
        stuck = self.stuck
        self._jobs.put(job)
        self._jobs.put(None)
        if stuck:
            log.warning("%s: a call into the driver has not returned; the device is released when it does",
                        self.name)
        elif not job.done.wait(timeout) and self._abandon(job):
            log.warning("%s: releasing the device took more than %g s; it goes on in the background",
                        self.name, timeout)
        elif job.error is not None:
            log.warning("%s: releasing the device failed: %s", self.name, job.error)


def _serve(name: str, jobs: queue.SimpleQueue[_Job | None]) -> None:
    """The device thread: run the jobs in order until ``None``."""
    while True:
        job = jobs.get()
        if job is None:
            return
        _execute(name, job)
        job = None  # hold nothing while idle: not the capture (``fn`` is its read), not the last frame


def _execute(name: str, job: _Job) -> None:
    try:
        result, error = job.fn(), None
    except BaseException as exc:  # handed to the caller, or logged when nobody waits
        result, error = None, exc
    with job.lock:
        job.result, job.error, job.finished = result, error, True
        late = job.abandoned
    result = error = None
    job.done.set()
    job.fn = None  # for a read, the capture's bound method
    if late:
        _late(name, job)
        job.result = job.error = job.on_late = None  # nobody reads them (a caller that has not given up may)
    job.settled = True


def _late(name: str, job: _Job) -> None:
    if job.error is not None:
        log.debug("%s: a call given up on failed later: %s", name, job.error)
    elif job.on_late is not None:
        try:
            job.on_late(job.result)
        except Exception as exc:  # noqa: BLE001 - nobody to hand it to; the device is gone
            log.debug("%s: cleaning up after a late call failed: %s", name, exc)
