"""The real-time pipeline: capture thread -> inference thread -> sink thread.

    with edgefill.Pipeline("clip.mp4", mask="key:255,0,255", sinks=[VideoFileSink("out.mp4")]) as p:
        p.wait()
    print(p.stats.to_dict())

- Bounded queues join the threads. A **live** source drops the *oldest* queued frame
  when inference falls behind (freshest frame wins); a **file** source blocks instead,
  so every frame read is written: frames in == frames out.
- A per-frame **deadline**: the cost of a frame is predicted from its ROI plan (the
  bucket area to run) and the measured model speed; a frame that would miss the deadline
  goes to the cheaper ``fallback`` path (OpenCV Telea by default) and is counted. The
  model is re-probed every ``probe_every`` fallbacks so the estimate stays current.
- A :class:`~edgefill.stabilize.TemporalStabilizer` reuses or blends fills over time.
- Stop on end of stream, on :meth:`stop`, or on Ctrl-C: queued frames are finished and
  every sink is flushed and closed. A read that never returns does not hold this up:
  :meth:`stop` abandons the capture thread after a grace period.
- A failure in any stage ends the run: frames already past the failing stage still reach
  the sinks, and sinks that can (``close_partial``) keep what they wrote under a name that
  cannot be mistaken for a complete output.
- The pipeline closes what it made (the Inpainters made from ``model`` / ``backend`` /
  ``fallback`` names, a mask video named by a spec) when it ends, also when :meth:`start`
  fails; an :class:`Inpainter` or mask source passed in is the caller's, and is left open
  (two cameras may share one).
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import roi
from .capture import CaptureOptions, FrameSource, ResilientSource, open_source
from .checks import is_finite, is_whole
from .errors import ConfigError, EdgeFillError, EdgeFillInternalError, InputError, StopTimeoutError
from .fileio import atomic_write_bytes
from .inpainter import Inpainter
from .backends import uses_model
from .models import DEFAULT_MODEL
from .mask_sources import MaskPostprocess, MaskSource, as_mask_source, close_source
from .masks import dilate
from .sinks import FrameResult, Sink
from .overwrites import model_inputs, refuse_overwrites, refuse_shared_outputs, refuse_source_as_mask, run_inputs
from .sinks.files import ImageFolderSink, VideoFileSink, check_can_write
from .stabilize import StabilizerConfig, TemporalStabilizer

log = logging.getLogger(__name__)
_EOS = object()


class Percentiles:
    """The last ``window`` samples (seconds) in a preallocated ring buffer, so memory stays
    constant however long the pipeline runs; p50/p95/p99 in milliseconds."""

    def __init__(self, window: int = 20000):
        self._buf = np.zeros(window, np.float64)
        self._n = 0

    def add(self, seconds: float) -> None:
        self._buf[self._n % len(self._buf)] = seconds
        self._n += 1

    def summary(self) -> dict[str, float]:
        if not self._n:
            return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0}
        a = self._buf[: min(self._n, len(self._buf))] * 1000
        p50, p95, p99 = np.percentile(a, [50, 95, 99])
        return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "mean_ms": float(a.mean())}


@dataclass
class PipelineStats:
    source: str = ""
    backend: str = ""
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    fallbacks: int = 0
    deadline_misses: int = 0
    reused: int = 0
    passthrough: int = 0
    reconnects: int = 0
    frozen_events: int = 0
    elapsed_s: float = 0.0  # from start() until the last frame left the sinks (so far, while it runs)
    fps: float = 0.0  # frames_out / elapsed_s
    latency: dict[str, float] = field(default_factory=dict)
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def status_line(self) -> str:
        lat = self.latency or {}
        return (f"{self.frames_out} frames  {self.fps:5.1f} fps  latency p50 {lat.get('p50_ms', 0):6.1f} ms  "
                f"p99 {lat.get('p99_ms', 0):6.1f} ms  dropped {self.dropped}  fallbacks {self.fallbacks}  "
                f"reused {self.reused}")


class DeadlinePolicy:
    """Predicts a frame's model time as (seconds per bucket pixel) x (bucket pixels).

    The rate is the median of the last ``window`` model runs (the lower middle one while the
    count is even), so one slow run, a hiccup of the machine such as a garbage collection or a
    page fault, moves no prediction: with an exponential average one run five times the usual
    lifted the estimate by 80%, over the budget of a model that used 60% of it, and sent the
    next ``probe_every`` frames to the fallback. A lasting slowdown (thermal throttling, another
    process) moves the median after ``window // 2 + 1`` runs. The run of a periodic probe (after
    ``probe_every`` frames sent to the fallback) replaces the history: the runs before it are
    that many frames old."""

    def __init__(self, deadline_s: float | None, probe_every: int = 50, window: int = 5):
        self.deadline_s = deadline_s
        self.probe_every = probe_every
        self._runs: deque[float] = deque(maxlen=window)  # seconds per pixel, newest last
        self._since_probe = 0
        self._probing = False

    @property
    def rate(self) -> float | None:
        """The predicted seconds per bucket pixel; None before the first measured run."""
        return statistics.median_low(self._runs) if self._runs else None

    def use_model(self, cost_px: int, budget_s: float | None) -> bool:
        rate = self.rate
        if budget_s is None or rate is None or cost_px == 0:
            return True
        if rate * cost_px <= budget_s:
            return True
        self._since_probe += 1
        if self._since_probe >= self.probe_every:
            self._since_probe = 0
            self._probing = True
            return True
        return False

    def observe(self, cost_px: int, seconds: float, warm_up: bool = False) -> None:
        """Record a model run; a ``warm_up`` run (the first of its crop sizes) is not counted."""
        probing, self._probing = self._probing, False
        if cost_px <= 0 or warm_up:
            return
        if probing:
            self._runs.clear()
        self._runs.append(seconds / cost_px)


def _refuse_outputs_over_inputs(source: object, mask: object, sinks: Sequence[Sink],
                                stats_json: str | Path | None, models: Sequence[object] = ()) -> None:
    """An :class:`InputError` if a video sink (or its ``.part`` file) or the statistics would be
    written over the source or the mask, or an image-folder sink holds one of them: the CLI
    checks its options so, and a Python caller gets the same guard (a finished video is moved
    over its final name, so writing it over the clip being read replaced the clip). Nor may two
    outputs share a file."""
    files, folders = [], []
    for sink in sinks:
        if isinstance(sink, VideoFileSink):
            files += [(sink.path, "the output video"), (sink.tmp, "the output video's .part file")]
        elif isinstance(sink, ImageFolderSink):
            folders.append((sink.folder, "the output folder"))
    if stats_json:
        files.append((Path(stats_json), "the statistics"))
    # one file for two outputs: the statistics replaced the finished video, two video sinks interleaved
    refuse_shared_outputs(files, folders)
    inputs = run_inputs(source, mask)
    refuse_source_as_mask(inputs)
    refuse_overwrites(inputs + model_inputs(models), files, folders)


def _check_parts(sinks: object, inpainter: object, fallback: object, capture: object) -> None:
    """A :class:`ConfigError` for parts of the wrong kind, before anything is opened: they were a
    TypeError or an AttributeError, some only at the first frame (``sinks=[print]``)."""
    if isinstance(sinks, (str, bytes)) or not isinstance(sinks, Sequence):
        raise ConfigError(f"sinks must be a list of sinks, got {type(sinks).__name__} (a single sink: [sink])")
    bad = next((s for s in sinks if not callable(getattr(s, "write", None))), None)
    if bad is not None:
        raise ConfigError(f"each sink needs a write(result) method (edgefill.sinks.Sink), got {bad!r}; "
                          "a function: CallbackSink(fn)")
    if inpainter is not None and not isinstance(inpainter, Inpainter):
        raise ConfigError(f"inpainter must be an edgefill.Inpainter, got {inpainter!r} (a model name: model=...)")
    if fallback is not None and not isinstance(fallback, (str, Inpainter)):
        raise ConfigError(f"fallback must be a backend name, an edgefill.Inpainter or None, got {fallback!r}")
    if capture is not None and not isinstance(capture, CaptureOptions):
        raise ConfigError(f"capture must be an edgefill.capture.CaptureOptions, got {type(capture).__name__}")


def _ended(thread: threading.Thread | None) -> bool:
    """Whether a stage's thread will take nothing more: none, or started and finished. One not
    started yet is not ended (it was taken for one, and the end marker went past it)."""
    return thread is None or (thread.ident is not None and not thread.is_alive())


class Pipeline:
    """Capture -> mask -> inpaint -> stabilise -> sinks, on three threads.

    Parameters
    ----------
    source: a URI or path (see :mod:`edgefill.capture`) or a :class:`FrameSource`.
    mask: a ``--mask`` spec string (see :func:`edgefill.mask_sources.parse_mask_spec`),
        a mask array, or a callable ``(frame, index) -> mask or boxes``.
    sinks: where results go (:mod:`edgefill.sinks`).
    inpainter: a ready :class:`Inpainter`; otherwise one is made from ``model`` and ``backend``.
    fallback: backend name (or Inpainter) for frames that would miss the deadline; None disables.
    deadline_ms: per-frame budget; None disables the deadline fallback.
    stabilize: True, False, or a :class:`StabilizerConfig`.
    capture: :class:`~edgefill.capture.CaptureOptions` (size, fps, flip, loop, timeouts) for a
        source given by URI or path; a :class:`FrameSource` has its own (ignored here, with a warning).
    dilate, hold: mask dilation in pixels and hysteresis in frames.
    queue_size: capacity of each of the two queues (a whole number >= 1).
    max_frames: stop after this many frames, a whole number >= 1 (None: until the end of the stream).
    stats_json: where to write the final statistics (its folder is checked for writing here).
    """

    def __init__(self, source: str | FrameSource, mask: str | np.ndarray | Callable | MaskSource,
                 sinks: Sequence[Sink] = (), *, model: str | None = None, backend: str = "auto",
                 inpainter: Inpainter | None = None, fallback: str | Inpainter | None = "opencv-telea",
                 deadline_ms: float | None = None, stabilize: bool | StabilizerConfig = True,
                 capture: CaptureOptions | None = None, roi_config: roi.RoiConfig | None = None,
                 dilate: int = 0, hold: int = 0, invert_mask: bool = False, queue_size: int = 4,
                 max_frames: int | None = None, stats_json: str | Path | None = None):
        if not (is_whole(queue_size) and queue_size >= 1):  # "4" failed in a comparison, 2.5 passed
            raise ConfigError(f"queue_size must be a whole number >= 1, got {queue_size!r}")
        if max_frames is not None and not (is_whole(max_frames) and max_frames >= 1):
            # 0 or -1 ran no frame at all and wrote an empty output; 2.5 ran 3
            raise ConfigError(f"max_frames must be a whole number >= 1 (None: no limit), got {max_frames!r}")
        if deadline_ms is not None and not (is_finite(deadline_ms) and deadline_ms > 0):
            # NaN passed "<= 0" and then lost every comparison: nearly every frame went to the fallback
            raise ConfigError(f"deadline_ms must be a finite number > 0, got {deadline_ms!r}")
        if deadline_ms is not None and fallback is None:
            raise ConfigError("a deadline needs a fallback path (fallback=None disables it)")
        _check_parts(sinks, inpainter, fallback, capture)
        if capture is not None and isinstance(source, FrameSource):  # it was ignored without a word
            log.warning("capture= applies to a source given by URI or path and is ignored for a FrameSource, which "
                        "takes its options when it is made (open_source(uri, capture))")
        if stats_json:  # before anything is opened or loaded, not after the whole run
            check_can_write(Path(stats_json), "the statistics")
        # the model's files too (stats_json over the model replaced it): the one made here, or the
        # given Inpainter's (a path, not a name)
        given = getattr(getattr(getattr(inpainter, "backend", None), "model", None), "path", None)
        learned = inpainter is None and uses_model(backend)
        models = [given] if given is not None else [model or DEFAULT_MODEL] if learned else []
        _refuse_outputs_over_inputs(source, mask, sinks, stats_json, models)
        self.source = source if isinstance(source, FrameSource) else open_source(source, capture)
        self._own_mask_source = isinstance(mask, (str, Path))  # a mask video opened here from a spec
        self._own_inpainter = inpainter is None
        # a fallback Inpainter passed in is the caller's, as ``inpainter`` is: closing it at the
        # end of this run broke the next run (or another camera) that shared it ("backend is closed")
        self._own_fallback = isinstance(fallback, str)
        self.mask_source: MaskPostprocess | None = None
        self.inpainter: Inpainter | None = None
        self.fallback: Inpainter | None = None
        try:  # each part is kept as soon as it exists, so that a failure of a later one releases it
            # a looping source starts again at its end, and a per-frame mask video or folder with it
            loop = bool(getattr(getattr(self.source, "options", None), "loop", False))
            self.mask_source = MaskPostprocess(as_mask_source(mask, invert_mask, loop=loop), dilate=dilate, hold=hold)
            self.inpainter = inpainter or Inpainter(model=model, backend=backend, roi_config=roi_config)
            if isinstance(fallback, str):
                self.fallback = Inpainter(backend=fallback, roi_config=self.inpainter.roi_config)
            else:
                self.fallback = fallback
        except BaseException:
            # what was made so far is released (a mask video stayed open, and a loaded model's
            # session lived on, after a later part failed, e.g. an unknown fallback backend);
            # the sinks were never taken and stay the caller's
            self._release()
            raise
        self.sinks = list(sinks)
        feather = self.inpainter.roi_config.feather
        if isinstance(stabilize, StabilizerConfig):
            # the region it reuses and blends must cover every pixel the fill touches (the feather
            # ring too), or a reused frame loses the ring
            cfg = replace(stabilize, feather=max(stabilize.feather, feather))
            self.stabilizer: TemporalStabilizer | None = TemporalStabilizer(cfg)
        else:
            self.stabilizer = TemporalStabilizer(StabilizerConfig(feather=feather)) if stabilize else None
        self.policy = DeadlinePolicy(deadline_ms / 1000 if deadline_ms else None)
        self._run_shapes: frozenset = frozenset()  # the crop sizes the model has run (a first run is a warm-up)
        self.max_frames = max_frames
        self.stats_json = Path(stats_json) if stats_json else None
        self._stop = threading.Event()
        self._in: queue.Queue = queue.Queue(maxsize=queue_size)
        self._out: queue.Queue = queue.Queue(maxsize=queue_size)
        self._reader = ResilientSource(self.source, self._stop)
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._failed: set[str] = set()  # the stages ("capture", "infer", "sink") that failed
        self._t = {k: Percentiles() for k in ("capture", "mask", "infer", "sink")}
        self._latency = Percentiles()
        self._counts = dict.fromkeys(("frames_in", "frames_out", "dropped", "fallbacks", "deadline_misses",
                                      "reused", "passthrough"), 0)
        self._lock = threading.RLock()  # re-entrant: stats from a signal handler during the statistics' write
        self._t_start = 0.0
        self._t_end: float | None = None
        self._closed = False
        # held while finishing: a wait() in one thread while stop() runs in another returned as
        # soon as the other had begun, before the statistics were written
        # re-entrant: stop() from a signal handler runs on the main thread, which may be inside
        # _finish already (a plain Lock hung the process there for good)
        self._finish_lock = threading.RLock()
        self._finish_claims = itertools.count()  # the first _finish() takes 0
        # The capture thread may be abandoned by stop() inside a read() that never returns;
        # the source is then closed by that thread, if its read ever returns.
        self._capture_abandoned = threading.Event()
        self._source_lock = threading.Lock()
        self._capture_running = False
        self._close_source_on_capture_exit = False
        self._read_since: float | None = None  # when the capture thread's current read() began

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Pipeline:
        if self._threads or self._closed:  # a user's mistake, not an internal error (a stopped one leaked its source)
            raise ConfigError("a Pipeline runs once, and this one has started (or been stopped) already; make a new "
                              "Pipeline for another run")
        try:
            self._reader.open()
        except BaseException:  # a camera that cannot be opened: no run, and no wait() or stop() to release the rest
            self._closed = True
            self._reader.close()
            self._release()
            self._close_sinks(failed=True)  # as at the end of a run (an MJPEG preview's port stayed bound)
            raise
        self._t_start = time.monotonic()
        self._capture_running = True
        # every thread known before any runs: a stage that fails at once sends its end marker to
        # the next one (_send_end), which must not be taken for a thread that was never started
        self._threads.extend(threading.Thread(target=self._guard(name, target), name=f"edgefill-{name}", daemon=True)
                             for name, target in (("capture", self._capture_loop), ("infer", self._infer_loop),
                                                  ("sink", self._sink_loop)))
        for t in reversed(self._threads):  # the consumers first: a capture error in the first frames
            t.start()  # sent its end marker past an infer thread not started yet, and lost the frames read
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stream ends (True) or ``timeout`` passes (False). A :class:`ConfigError`
        before :meth:`start` (it finished a run that never began: an empty statistics file, the
        sinks closed) and from one of the pipeline's own threads (a sink's callback waited for
        itself: the run never ended)."""
        if threading.current_thread() in self._threads:
            raise ConfigError("wait() from the pipeline's own thread (a sink or mask callable) waits for itself; "
                              "call stop() there, and wait() from outside")
        if not self._threads and not self._closed:
            raise ConfigError("the pipeline has not started: call start() before wait() (or use run() or `with`)")
        return self._wait(timeout)

    def _wait(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            if t.name == "edgefill-capture" and self._capture_abandoned.is_set():
                continue  # stuck in read(); stop() has already ended the stream without it
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                return False
        self._finish()
        return True

    def stop(self, timeout: float = 30.0) -> PipelineStats:
        """Stop reading, finish the queued frames, flush and close every sink.

        A source whose ``read()`` is still running a grace period after the stop (the larger of
        its read and open timeouts plus 1 s, at most half of ``timeout``: a read that reconnects,
        and a camera's first read, may take the open timeout) is abandoned with a warning: the end of
        the stream is sent from here, so the frames already read are finished and the outputs
        are finalised; the capture thread (a daemon) closes the source if its read ever returns.

        Called from one of the pipeline's own threads (a sink's callback, a mask callable), it
        only asks the run to end and returns the stats so far: waiting there for the run to
        finish waited for itself, the whole ``timeout``. ``run()`` or ``wait()`` finishes it.
        """
        self._stop.set()
        if threading.current_thread() in self._threads:
            return self.stats
        t_stop = time.monotonic()
        t_end = t_stop + timeout
        options = getattr(self.source, "options", None)
        # the read timeout alone abandoned a camera reopening within its own open timeout, whose
        # release was then left to a daemon thread that the end of the process kills
        bound = max(getattr(options, "read_timeout_s", 5.0), getattr(options, "open_timeout_s", 10.0))
        grace = min(timeout / 2, bound + 1.0)
        capture = self._thread("edgefill-capture")
        while capture is not None and capture.is_alive() and not self._capture_abandoned.is_set():
            capture.join(0.05)
            since = self._read_since  # None while it is queueing a frame, which inference will take
            now = time.monotonic()
            if since is not None and capture.is_alive() and now - max(since, t_stop) > grace:
                log.warning("%s: read() has not returned %.3g s after the stop; finishing the frames already "
                            "read without it (the source is closed if that read ever returns)",
                            self.source.description, grace)
                self._capture_abandoned.set()
                self._send_end(self._in, "edgefill-infer")
            elif now > t_end:
                break
        if not self._wait(max(0.0, t_end - time.monotonic())):
            # a hung sink or inference is the hardware's or a plugin's, not a broken invariant: one
            # line for the CLI (it was an internal error, a traceback), naming what still runs
            busy = [t.name for t in self._threads if t.is_alive()]
            raise StopTimeoutError(f"the pipeline did not stop within {timeout:g} s; still running: "
                                   f"{', '.join(busy) or 'its end'} (a sink's write or an inference that does not return)")
        return self.stats

    def run(self) -> PipelineStats:
        """Start, process until the end of the stream (or Ctrl-C), stop; return the stats."""
        self.start()
        try:
            while not self.wait(0.5):
                pass
        except KeyboardInterrupt:
            log.warning("interrupted: finishing queued frames and closing outputs")
            raise
        finally:
            self.stop()
        return self.stats

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _finish(self) -> None:
        with self._finish_lock:
            # claimed by one atomic call: a signal handler's stop() landing between a check of
            # _closed and its setting ran the finishing twice (on the same thread, through the RLock)
            if next(self._finish_claims) or self._closed:
                return
            self._closed = True
            self._finish_locked()

    def _finish_locked(self) -> None:
        """Close the source, release what the pipeline made, close sinks that never got a thread,
        write the statistics, then raise the run's first error. Every step runs whatever an
        earlier one raised (a source whose close() raised, or a Ctrl-C in the middle, skipped the
        rest: the statistics unwritten, the pipeline's own Inpainters left open, for good, since
        the pipeline counted as finished); a Ctrl-C is raised again at the end."""
        if self._t_end is None:  # the sink thread's end (a run whose sink thread never started)
            self._t_end = time.monotonic()
        interrupted: BaseException | None = None
        stats_error: list[InputError] = []
        for step in (self._close_source, self._release, self._close_unstarted_sinks,
                     lambda: stats_error.extend(self._write_stats())):
            try:
                step()
            except Exception as exc:  # a source's or an Inpainter's close(): the run's error too
                log.error("finishing the pipeline: %s", exc)
                self._errors.append(exc)
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: the rest still runs
                interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted
        if self._errors:
            err = self._errors[0]
            if isinstance(err, EdgeFillError):
                raise err
            # its traceback is the cause: often a mask callable's or a sink callback's own error
            raise EdgeFillInternalError(f"a pipeline thread failed: {err!r} (in a source, mask callable or sink of "
                                        "yours, or in edgefill: see the traceback above)") from err
        if stats_error:
            raise stats_error[0]

    def _close_source(self) -> None:
        with self._source_lock:
            close_now = not self._capture_running
            self._close_source_on_capture_exit = not close_now
        if close_now:  # never under a read() still running in the abandoned capture thread
            self._reader.close()

    def _close_unstarted_sinks(self) -> None:
        """Close the sinks of a pipeline stopped before it started (its preview's port stayed bound):
        a started run's sink thread closes them."""
        if not self._threads:
            self._close_sinks(failed=False)

    def _write_stats(self) -> list[InputError]:
        """Write the statistics (if asked); the error it met, if any (logged), in a list."""
        if not self.stats_json:
            return []
        try:
            atomic_write_bytes(self.stats_json, (json.dumps(self.stats.to_dict(), indent=2) + "\n").encode())
        except OSError as exc:
            error = InputError(f"cannot write the statistics to {self.stats_json}: {exc.strerror or exc}")
            log.error("%s", error)
            return [error]
        return []

    def _release(self) -> None:
        """Close what this pipeline made: its Inpainters and a mask video it opened."""
        if self._own_inpainter and self.inpainter is not None:
            self.inpainter.close()
        if self._own_fallback and self.fallback is not None:
            self.fallback.close()
        if self._own_mask_source and self.mask_source is not None:
            close_source(self.mask_source)

    # -- statistics ------------------------------------------------------------------------------
    @property
    def stats(self) -> PipelineStats:
        end = self._t_end or time.monotonic()
        elapsed = max(1e-9, end - self._t_start) if self._t_start else 0.0
        with self._lock:
            counts = dict(self._counts)
        return PipelineStats(
            source=self.source.description, backend=self.inpainter.backend_name, **counts,
            reconnects=self._reader.reconnects, frozen_events=self._reader.frozen_events,
            elapsed_s=elapsed, fps=counts["frames_out"] / elapsed if elapsed else 0.0,
            latency=self._latency.summary(), stages={k: v.summary() for k, v in self._t.items()},
            error=repr(self._errors[0]) if self._errors else None,
        )

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    # -- threads ---------------------------------------------------------------------------------
    def _thread(self, name: str) -> threading.Thread | None:
        return next((t for t in self._threads if t.name == name), None)

    def _guard(self, stage: str, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # recorded and re-raised by wait(); the pipeline stops cleanly
                self._fail(stage, exc)
        return run

    def _fail(self, stage: str, exc: BaseException) -> None:
        log.error("%s: %s", threading.current_thread().name, exc)
        self._failed.add(stage)
        self._errors.append(exc)  # before any end marker is sent: the sinks see that the run failed
        self._stop.set()
        self._end_after_failure(stage)

    def _end_after_failure(self, stage: str) -> None:
        """After a failure in ``stage``: frames already past it still reach the sinks (nothing
        processed is lost); frames that can no longer be processed are dropped; every thread
        gets its end marker, so none blocks. The marker follows the frames: after a capture
        failure it goes to the inference thread, which finishes the frames queued before it
        and passes it on; it goes straight to the sink thread only when inference is dead."""
        dropped = {"capture": (), "infer": (self._in,), "sink": (self._in, self._out)}[stage]
        for q in dropped:
            try:
                while True:
                    q.get_nowait()
            except queue.Empty:
                pass
        if stage == "infer":
            self._send_end(self._out, "edgefill-sink")
        else:  # capture: end the stream; sink: stop the inference thread, whose results nobody takes
            self._send_end(self._in, "edgefill-infer")

    def _send_end(self, q: queue.Queue, consumer: str) -> None:
        """Put the end marker into ``q`` for the ``consumer`` thread, waiting for room while that
        thread still takes items. If the inference thread is dead, the marker it would have passed
        on goes to the sink thread directly. (If it dies later, its own failure handler does that.)"""
        thread = self._thread(consumer)
        if thread is not None and thread is not threading.current_thread():
            while True:
                try:
                    q.put(_EOS, timeout=0.2)
                    break
                except queue.Full:
                    if _ended(thread):
                        break
        if q is self._in and _ended(thread):
            self._send_end(self._out, "edgefill-sink")

    def _put(self, q: queue.Queue, item: object, drop_oldest: bool) -> None:
        if drop_oldest:
            while True:
                try:
                    q.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        old = q.get_nowait()
                        if old is _EOS:  # never drop the end marker
                            q.put_nowait(old)
                            return
                        self._count("dropped")
                    except queue.Empty:
                        pass
        while True:
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                if self._taker_gone(q):
                    return

    def _taker_gone(self, q: queue.Queue) -> bool:
        """Whether no thread will take another item from ``q``: the stage that takes it, or one
        after it, failed (its queues are drained and its end marker sent by :meth:`_fail`), its
        thread has ended, or (``_in``) stop() ended the stream without the capture thread.
        A failure upstream is not one: after a capture error the frames already read still go
        through inference to the sinks, however slow the sinks are (giving up on any error after
        0.2 s lost frames, and the end marker, behind a sink slower than that: a run that never
        ended)."""
        if q is self._in:
            if self._capture_abandoned.is_set():
                return True
            stages, taker = {"infer", "sink"}, self._thread("edgefill-infer")
        else:
            stages, taker = {"sink"}, self._thread("edgefill-sink")
        return bool(stages & self._failed) or _ended(taker)

    def _capture_loop(self) -> None:
        live = self._reader.live
        index = 0
        try:
            while not self._stop.is_set() and (self.max_frames is None or index < self.max_frames):
                t0 = self._read_since = time.monotonic()
                frame = self._reader.read()
                self._read_since = None
                if frame is None:
                    break
                now = time.monotonic()
                self._t["capture"].add(now - t0)
                self._count("frames_in")
                self._put(self._in, (frame, index, now, self._reader.last_wide), drop_oldest=live)
                index += 1
        finally:
            with self._source_lock:
                self._capture_running = False
                close_reader = self._close_source_on_capture_exit
            if close_reader:  # abandoned by stop() while in read(), which has now returned
                self._reader.close()
        # The normal end of the stream; after a failure, _fail() sends the marker once the error is recorded.
        self._put(self._in, _EOS, drop_oldest=False)

    def _infer_loop(self) -> None:
        live = self._reader.live
        while True:
            item = self._in.get()
            if item is _EOS:
                self._put(self._out, _EOS, drop_oldest=False)
                return
            frame, index, t_cap, wide = item
            t0 = time.monotonic()
            hole = self.mask_source(frame, index)
            t1 = time.monotonic()
            self._t["mask"].add(t1 - t0)
            out, path = self._fill(frame, hole, t_cap if live else t1)
            self._t["infer"].add(time.monotonic() - t1)
            if wide is not None:  # a 16-bit source: the frame at its own depth too, for the sinks that keep it
                wide = wide.restore(out, hole)
            # the hole handed on as a copy: a mask source's cached array (a mask file, shapes) was
            # handed to the sinks, and a sink that drew on it changed the holes of the frames after
            self._put(self._out, FrameResult(index, out, hole.copy(), t_cap, path, self.source.fps, wide),
                      drop_oldest=False)

    def _fill(self, frame: np.ndarray, hole: np.ndarray, t_ref: float) -> tuple[np.ndarray, str]:
        if not hole.any():
            self._count("passthrough")
            if self.stabilizer is not None:
                self.stabilizer.reset()
            return frame, "passthrough"
        if self.stabilizer is not None:
            reused = self.stabilizer.try_reuse(frame, hole)
            if reused is not None:
                self._count("reused")
                return reused, "reused"
        budget = None
        cost = 0
        shapes: frozenset = frozenset()
        if self.policy.deadline_s is not None:
            budget = self.policy.deadline_s - (time.monotonic() - t_ref)
            crops = roi.plan(dilate(hole, self.inpainter.roi_config.feather), self.inpainter.roi_config)
            cost = sum(c.bucket_h * c.bucket_w for c in crops)
            shapes = frozenset((c.bucket_h, c.bucket_w) for c in crops)
        if self.policy.use_model(cost, budget):
            t = time.monotonic()
            out = self.inpainter.inpaint(frame, hole)
            took = time.monotonic() - t
            # The first run of a crop size pays one-off costs (buffers, ONNX Runtime's CUDA
            # algorithm search: seconds, not milliseconds): not a measure of the model's speed.
            warm_up = not shapes <= self._run_shapes
            self._run_shapes |= shapes
            self.policy.observe(cost, self.inpainter.last_timing.total or took, warm_up)  # the thin-hole refill included
            path = "model"
        else:
            out = self.fallback.inpaint(frame, hole)
            self._count("fallbacks")
            path = "fallback"
        # a miss whichever path filled it: a slow fallback, or a frame whose budget ran out in the
        # queue, missed it too (only the model's were counted)
        if self.policy.deadline_s is not None and time.monotonic() - t_ref > self.policy.deadline_s:
            self._count("deadline_misses")
        if path == "fallback" and self.stabilizer is not None:
            # The fallback's fill is not kept for reuse: a static scene would show it for as
            # long as it stayed static, and the model would never be probed again.
            self.stabilizer.reset()
            return out, path
        if self.stabilizer is not None:
            out = self.stabilizer.update(frame, hole, out)
        return out, path

    def _sink_loop(self) -> None:
        try:
            while True:
                item = self._out.get()
                if item is _EOS:
                    break
                t0 = time.monotonic()
                for s in self.sinks:
                    s.write(item)
                now = time.monotonic()
                self._t["sink"].add(now - t0)
                self._latency.add(now - item.capture_time)
                self._count("frames_out")
        except BaseException as exc:
            self._fail("sink", exc)
        finally:
            # The run's end for its rate: a wait() or stop() called later (a caller doing other
            # work first) moved it, and the fps with it (a 0.4 s clip waited on after 4 s: 12 fps, not 115)
            self._t_end = time.monotonic()
            # A failure anywhere was recorded before the end marker was sent.
            self._close_sinks(failed=bool(self._errors))

    def _close_sinks(self, failed: bool) -> None:
        """Close every sink. After a failed run, a sink with ``close_partial()`` (the file sinks)
        keeps what it wrote under a name that cannot be taken for a complete output."""
        for s in self.sinks:
            close = (getattr(s, "close_partial", None) if failed else None) or s.close
            try:
                close()
            except Exception as exc:  # recorded after any error that ended the run, so that one is raised
                log.error("closing %s: %s", type(s).__name__, exc)
                self._errors.append(exc)
