"""The ``edgefill`` command: a thin layer over the Python API.

Exit codes: 0 success, 2 bad input or configuration (one line on stderr, no
traceback), 1 an unexpected internal error, or, for ``edgefill doctor``, problems found
(listed in its report).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .errors import BackendUnavailableError, ConfigError, EdgeFillError, InputError, ModelError
from .fileio import atomic_write_bytes, drop_stdout
from .imageio import ALPHA_EXTS, IMAGE_EXTS, JPEG_QUALITY, WIDE_EXTS, image_files, read_mask, read_stored_image, write_image
from .overwrites import model_inputs, refuse_overwrites, refuse_shared_outputs, refuse_source_as_mask, run_inputs, same_path
from .refill_settings import add_refill_options, refill_kwargs
from .backends import uses_model
from .models import DEFAULT_MODEL
from .thin import DEFAULT_THIN_HOLE_PX

log = logging.getLogger("edgefill")
_MODELS = "shipped model (lite, nano, lite-surface, or NAME.int8), an edgefill .onnx, or an export bundle folder"
#: --model of run, and of inpaint (which has no --profile)
MODEL_HELP = _MODELS + " (default lite, or the --profile's: at its precision on an ONNX Runtime profile)"
INPAINT_MODEL_HELP = _MODELS + " (default lite; none with an opencv backend)"


def _images_in(folder: Path) -> dict[str, Path]:
    """The images of a mask folder by name (stem); two with one name (``a.png`` and ``a.jpg``)
    are an InputError, as either could be the mask of ``a``."""
    found: dict[str, Path] = {}
    for p in image_files(folder, by_name=True):
        if p.stem in found:
            raise InputError(f"{folder} holds two images named {p.stem} ({found[p.stem].name}, {p.name}); "
                             "which one is the mask is ambiguous")
        found[p.stem] = p
    return found


#: ``--mask`` values that draw a mask instead of naming a file (mask_sources.parse_mask_spec)
SHAPE_SPECS = ("rect:", "poly:", "key:")


def plan_jobs(inp: Path, mask: Path | None, out: Path, *, out_is_folder: bool = False
              ) -> list[tuple[Path, Path | None, Path]]:
    """(input, mask, output) triples. Folders pair files by name (stem); a single mask
    file may serve a whole folder (``mask`` None: no mask file, the masks are drawn from shapes).
    Every problem with the paths is found before anything is
    written, an output that would replace an input or a mask included (an unreadable file or a
    mask of the wrong size is found at its turn: the outputs before it are kept).
    ``out_is_folder``: ``-o`` ended in a slash, so a single input is written into that folder
    (made if missing)."""
    if not inp.exists():
        raise InputError(f"input {inp} does not exist")
    if mask is not None and same_path(mask, inp) and inp.is_dir():  # each image its own mask, 77% filled
        raise InputError(f"the mask folder is the input folder {inp}: give the masks' own folder")
    if mask is not None and not mask.exists():
        raise InputError(f"mask {mask} does not exist (and is not a rect:, poly: or key: spec or a shapes .json)")
    if not inp.is_dir():
        if mask is not None and mask.is_dir():
            raise InputError(f"mask {mask} is a folder but input {inp} is a single file")
        if out.is_dir() or out_is_folder:
            out = out / inp.name
        jobs = [(inp, mask, out)]
    else:
        inputs = image_files(inp, by_name=True)
        if mask is not None and mask.is_file():  # one mask for all, kept in the folder: not an image to fill
            inputs = [p for p in inputs if not same_path(p, mask)]
        if not inputs:
            raise InputError(f"input folder {inp} has no images ({', '.join(IMAGE_EXTS)})")
        if out.exists() and not out.is_dir():
            raise InputError(f"output {out} must be a folder when the input is a folder")
        if same_path(out, inp):
            raise InputError("the output folder is the input folder; refusing to overwrite the inputs")
        masks = _images_in(mask) if mask is not None and mask.is_dir() else None
        if masks is not None and same_path(out, mask):
            raise InputError("the output folder is the mask folder; refusing to overwrite the masks")
        jobs = []
        for path in inputs:
            m = mask if masks is None else masks.get(path.stem)
            if m is None and masks is not None:
                raise InputError(f"no mask named {path.stem}.* in {mask} for input {path.name}")
            jobs.append((path, m, out / path.name))
    unwritable = next((dst for _, _, dst in jobs if dst.suffix.lower() not in IMAGE_EXTS), None)
    if unwritable is not None:  # found before the model loads (or a TensorRT engine builds), not after the fill
        raise InputError(f"cannot write {unwritable}: unsupported extension {unwritable.suffix.lower()!r} (use one of "
                         f"{', '.join(IMAGE_EXTS)})")
    read = {_file_id(msk): f"the mask {msk}" for _, msk, _ in jobs if msk is not None}  # by inode: links too
    read.update({_file_id(src): f"the input {src}" for src, _, _ in jobs})
    for _, _, dst in jobs:
        dst_id = _file_id(dst)
        what = read.get(dst_id) if dst_id is not None else None
        if what is not None:
            raise InputError(f"the output {dst} is {what}; refusing to overwrite it")
    return jobs


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:  # missing: nothing there to overwrite
        return None
    return st.st_dev, st.st_ino


def _turned_upright(src: Path, shape: tuple) -> str:
    """A hint when ``src`` was turned upright by its EXIF orientation (its stored size is the
    decoded one turned a quarter): the mismatch then gave a size no other tool shows."""
    from .imageio import declared_size

    try:
        stored = declared_size(Path(src).read_bytes())
    except OSError:
        return ""
    if stored and stored == (shape[0], shape[1]) and stored[0] != stored[1]:
        return (f" ({Path(src).name} is stored {stored[0]}x{stored[1]} and turned upright by its EXIF orientation, "
                "as photo viewers show it: draw the mask on the upright image)")
    return ""


def cmd_inpaint(args: argparse.Namespace) -> int:
    from .inpainter import Inpainter
    from .masks import dilate, mark_checked, normalize_mask
    from .roi import RoiConfig

    if args.dilate < 0:
        raise InputError(f"--dilate must be >= 0, got {args.dilate}")
    if not 1 <= args.jpeg_quality <= 100:  # before the model loads
        raise InputError(f"--jpeg-quality must be 1-100, got {args.jpeg_quality}")
    if not args.mask.strip():  # `--mask "$MASK"` unset: Path("") is the current folder, taken for the masks
        raise InputError("the mask is empty: give a mask file or folder, or a rect:/poly:/key: spec")
    shapes = None  # rect:, poly:, key: or a shapes .json: a mask drawn for each image (with --invert-mask in it)
    if args.mask.startswith(SHAPE_SPECS) or args.mask.lower().endswith(".json"):
        from .mask_sources import parse_mask_spec

        shapes = parse_mask_spec(args.mask, invert=args.invert_mask)
    jobs = plan_jobs(Path(args.input), None if shapes else Path(args.mask), Path(args.output),
                     out_is_folder=args.output.endswith(("/", os.sep)))
    model = args.model  # None: the Inpainter's default (lite) for a learned backend; no "'lite' is ignored"
    options = {"threads": args.threads} if args.threads else {}  # warning when auto falls back to OpenCV
    roi_cfg = RoiConfig(buckets=None, margin=args.margin, feather=args.feather)  # buckets: the backend's
    with Inpainter(model=model, backend=args.backend, roi_config=roi_cfg, thin_hole_px=args.thin_px,
                   **refill_kwargs(args), **options) as inp:
        desc = inp.backend_name + (f" ({inp.backend.model.name})" if getattr(inp.backend, "model", None) else "")
        bar = None
        if len(jobs) > 1:
            from tqdm import tqdm

            bar = tqdm(jobs, desc=f"inpainting with {desc}", unit="img", file=sys.stderr)
        total = 0.0
        for i, (src, msk, dst) in enumerate(bar or jobs):
            ext = Path(dst).suffix.lower()
            stored = read_stored_image(src, keep_alpha=ext in ALPHA_EXTS)
            image = stored.bgr
            invert = args.invert_mask
            if shapes is not None:
                mask, invert = shapes(image, i), False
                if not mask.any():
                    log.warning("%s marks no pixel of %s (%dx%d): written unchanged", args.mask, src,
                                image.shape[1], image.shape[0])
            else:
                mask = read_mask(msk)
            if mask.shape[:2] != image.shape[:2]:  # named here: the ShapeError below names no file, in a batch of hundreds
                raise InputError(f"mask {msk} is {mask.shape[1]}x{mask.shape[0]} but image {src} is "
                                 f"{image.shape[1]}x{image.shape[0]} (WxH); a mask must be the size of its image"
                                 f"{_turned_upright(src, image.shape)}")
            if args.dilate:
                # warned here, knowing the inversion: the Inpainter would advise --invert-mask for the result
                mask, invert = mark_checked(dilate(normalize_mask(mask, image.shape, invert=invert), args.dilate)), False
            # normalised (and warned about: a faint mask, an inverted one) once, here; the Inpainter
            # takes it as checked (a copy below skipped the Inpainter, and its warnings)
            hole_u8 = normalize_mask(mask, image.shape, invert=invert)
            hole = hole_u8 > 0
            if not hole.any() and ext == Path(src).suffix.lower():
                # nothing to fill: the file itself, byte for byte (a JPEG encoded anew changed 70% of
                # its pixels, and its colour profile and EXIF were dropped)
                atomic_write_bytes(dst, Path(src).read_bytes())
                if bar is None:
                    print(f"wrote {dst} (nothing to fill: a copy of {src})")
                continue
            stored = stored.for_hole(hole)  # a 16-bit file scaled over the pixels it keeps, as the Inpainter scales arrays
            result = inp.inpaint(stored.bgr, mark_checked(hole_u8))
            # as the file came: grey stays grey, 16 bits stay 16 bits and alpha stays where the format holds them
            write_image(dst, stored.restore(result, hole, keep_16_bit=ext in WIDE_EXTS), jpeg_quality=args.jpeg_quality)
            total += inp.last_timing.total
            if bar is None:
                t = inp.last_timing
                print(f"wrote {dst} ({image.shape[1]}x{image.shape[0]}, {desc}: {t.total * 1000:.1f} ms total, "
                      f"{t.infer * 1000:.1f} ms inference, {t.crops} crop{'s' if t.crops != 1 else ''})")
        if bar is not None:
            bar.close()
            print(f"wrote {len(jobs)} images to {Path(args.output)} ({desc}: {1000 * total / len(jobs):.1f} ms/image)")
    return 0


#: Schemes of cameras, the only sources a device profile's camera width, height, fps and flip
#: apply to. Files, image folders and streams (rtsp://, http://) have their own size and rate;
#: a gst:// pipeline states its own caps (CaptureOptions do not reach it).
CAMERA_SCHEMES = ("csi", "v4l2", "picam")
#: ``--preview``'s address unless --preview-host / --preview-port say otherwise
PREVIEW_HOST, PREVIEW_PORT = "127.0.0.1", 8090


def _is_stream_output(output: str) -> bool:
    """Whether ``-o`` is a GStreamer pipeline (``gst://...``) rather than a file or folder."""
    return output.startswith("gst://")


def _output_is_video(output: str) -> bool:
    """Whether ``-o`` names a video file (True) or a folder of images (False); InputError for an
    extension that is neither a video format the video sink writes nor a folder."""
    from .sinks.files import FOURCC

    out = Path(output)
    ext = out.suffix.lower()
    if output.endswith(("/", os.sep)):
        return False
    if ext in FOURCC:
        return True
    if not ext or out.is_dir():
        return False
    if ext in IMAGE_EXTS:
        raise InputError(f"-o {out} is an image file; give a video file ({', '.join(FOURCC)}) or a folder")
    raise InputError(f"-o {out}: cannot write {ext} video; use one of {', '.join(FOURCC)}, or a folder "
                     f"for images (a name without an extension, or ending in /)")


def _check_run_outputs(args: argparse.Namespace) -> None:
    """Refuse outputs that would overwrite an input (as ``plan_jobs`` does for ``inpaint``): a
    video (or its ``.part`` file) or the statistics on the source or the mask, or a folder of
    frames that holds one of them. Found before anything is opened or written (the Pipeline
    checks its sinks again, for callers of the Python API)."""
    from .sinks.files import part_path

    files, folders = [], []  # (path, what)
    if args.output and not _is_stream_output(args.output):
        out = Path(args.output)
        if _output_is_video(args.output):
            files += [(out, "the output video"), (part_path(out), "the output video's .part file")]
        else:
            folders.append((out, "the output folder"))
    if args.stats_json:
        files.append((Path(args.stats_json), "--stats-json"))
    refuse_shared_outputs(files, folders)  # the statistics written over the video, or over its .part file while it is written
    inputs = run_inputs(args.source, args.mask)
    refuse_source_as_mask(inputs)
    # the model (or bundle) and the profile are read too: --stats-json over them replaced them
    inputs += model_inputs([args.model or DEFAULT_MODEL] if uses_model(args.backend) else [])
    if args.profile is not None:
        from .profiles import profile_path

        inputs += [(p, "the profile") for p in [profile_path(args.profile)] if p is not None]
    refuse_overwrites(inputs, files, folders)


def _sinks_for(args: argparse.Namespace, output_fps: float | None = None) -> list:
    """The sinks of ``edgefill run``. A video is written at ``output_fps`` (the explicit --fps),
    else at the source's own frame rate."""
    from .sinks import GstreamerSink, ImageFolderSink, MjpegPreviewSink, VideoFileSink, WindowSink

    sinks = []
    try:
        if args.output and _is_stream_output(args.output):
            sinks.append(GstreamerSink(args.output, fps=output_fps))
        elif args.output:
            out = Path(args.output)
            sinks.append(VideoFileSink(out, fps=output_fps) if _output_is_video(args.output) else ImageFolderSink(out))
        if args.preview:
            p = MjpegPreviewSink(args.preview_host, args.preview_port, token=args.preview_token,
                                 allow_remote=args.preview_allow_remote)
            print(f"preview: {p.url}", file=sys.stderr)
            sinks.append(p)
        if args.window:
            sinks.append(WindowSink())
    except BaseException:
        for s in sinks:
            s.close()
        raise
    return sinks


def _stop_signals_set_event() -> tuple[threading.Event, Callable[[], None]]:
    """Make the first Ctrl-C (SIGINT) or SIGTERM (a service manager stopping the camera) set an
    event that the wait loop checks, so that the pipeline finishes its queued frames and closes
    its outputs; a KeyboardInterrupt raised wherever the main thread happens to be (inside
    ``Thread.join``, or while the stats are written) is avoided. A second signal acts as the
    signal's previous handler (Ctrl-C raises KeyboardInterrupt). A signal inherited as ignored
    (a shell's background job ignores SIGINT) stays ignored. Returns (event, restore handlers)."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return event, lambda: None
    # skipped: ignored signals, and handlers not installed from Python (None), which cannot be put back
    previous = {sig: old for sig in (signal.SIGINT, signal.SIGTERM)
                if (old := signal.getsignal(sig)) is not None and old is not signal.SIG_IGN}

    def handler(signum: int, frame: object) -> None:
        event.set()
        signal.signal(signum, previous[signum])

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return event, restore


def cmd_run(args: argparse.Namespace) -> int:
    from .capture import CaptureOptions, open_source, redact_uri, scheme_of
    from .inpainter import Inpainter
    from .pipeline import Pipeline
    from .sinks import GstreamerSink
    from .roi import RoiConfig

    prof = _apply_profile(args)
    if args.source is None:
        if prof is None:
            raise InputError("run needs a SOURCE (or --profile NAME, to use the profile's camera.source)")
        args.source = prof.runtime.camera.source
        print(f"source: {redact_uri(args.source)} (camera.source of profile {prof.name})", file=sys.stderr)
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames must be >= 1 (leave it out for no limit), got {args.max_frames}")
    if args.threads is not None and args.threads < 0:
        raise InputError(f"--threads must be >= 0 (0: the backend's default), got {args.threads}")
    output_fps = args.fps  # only an explicit --fps overrides the source's own frame rate in the output video
    scheme = scheme_of(args.source)  # a stat of the path: asked once
    if prof is not None and scheme in CAMERA_SCHEMES:
        cam = prof.runtime.camera  # explicit options win
        if args.width is None and args.height is None:
            args.width, args.height = cam.width, cam.height
        if args.fps is None:
            args.fps = cam.fps
        if args.flip is None:
            args.flip = cam.flip
        if args.fourcc is None and cam.fourcc is not None and scheme == "v4l2":
            args.fourcc = cam.fourcc
    if args.rtsp_transport and scheme not in ("rtsp", "rtsps"):
        raise InputError(f"--rtsp-transport applies to rtsp:// sources only, not {redact_uri(args.source)}")
    if args.fourcc and scheme != "v4l2":
        raise InputError(f"--fourcc applies to v4l2:// cameras only, not {redact_uri(args.source)}")
    # options that were parsed and then ignored: refused, as --fourcc and --rtsp-transport are
    if (args.width is not None or args.height is not None) and scheme not in CAMERA_SCHEMES:
        raise InputError(f"--width/--height apply to cameras ({', '.join(s + '://' for s in CAMERA_SCHEMES)}) only; "
                         f"{redact_uri(args.source)} keeps its own frame size")
    if args.loop and scheme not in ("file", "images"):
        raise InputError(f"--loop applies to video files and image folders only, not {redact_uri(args.source)}")
    # (a host or port given as its default cannot be told from one left out: harmless)
    preview_options = [flag for flag, given in (("--preview-host", args.preview_host != PREVIEW_HOST),
                                                ("--preview-port", args.preview_port != PREVIEW_PORT),
                                                ("--preview-token", args.preview_token is not None),
                                                ("--preview-allow-remote", args.preview_allow_remote)) if given]
    if preview_options and not args.preview:
        raise InputError(f"{', '.join(preview_options)} {'applies' if len(preview_options) == 1 else 'apply'} "
                         "to the MJPEG preview: add --preview")
    capture = CaptureOptions(width=args.width, height=args.height, fps=args.fps, flip=args.flip or 0,
                             loop=args.loop, read_timeout_s=args.read_timeout, rtsp_transport=args.rtsp_transport,
                             fourcc=args.fourcc)
    if not args.output and not args.preview and not args.window and not args.stats_json:
        raise InputError("nothing to write: give -o OUT, --preview, --window or --stats-json")
    _check_run_outputs(args)
    source = open_source(args.source, capture)
    sinks = _sinks_for(args, output_fps)
    try:
        options = {"threads": args.threads} if args.threads else {}
        if prof is not None and args.backend in ("tensorrt", "auto"):
            # the engine is built (and its cache key made) with this profile's workspace and DLA
            # settings, as `build-engine BUNDLE --profile NAME` built it: without it the run took
            # the bundle's recorded profile and rebuilt the engine on the board
            options["profile"] = prof
        inp = Inpainter(model=args.model, backend=args.backend, roi_config=RoiConfig(buckets=tuple(args.buckets) if args.buckets else None),
                        thin_hole_px=args.thin_px, **refill_kwargs(args), **options)
        pipe = Pipeline(source, args.mask, sinks, inpainter=inp, deadline_ms=args.deadline_ms,
                        fallback=args.fallback, stabilize=not args.no_stabilize, dilate=args.dilate, hold=args.hold,
                        invert_mask=args.invert_mask, queue_size=args.queue_size, max_frames=args.max_frames,
                        stats_json=args.stats_json)
        pipe.start()
    except BaseException:
        for s in sinks:
            s.close()
        raise
    tty = sys.stderr.isatty()
    interrupted, restore = _stop_signals_set_event()
    try:
        while not pipe.wait(0.5) and not interrupted.is_set():
            if tty:
                print("\r" + pipe.stats.status_line(), end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:  # a second Ctrl-C while waiting above
        interrupted.set()
    finally:
        restore()
    if interrupted.is_set():  # the first Ctrl-C or SIGTERM
        print("\ninterrupted: finishing queued frames and closing outputs", file=sys.stderr)
        pipe.stop()
    stats = pipe.stats
    if tty:
        print(file=sys.stderr)
    print(f"{stats.frames_out} frames from {stats.source} in {stats.elapsed_s:.1f} s ({stats.fps:.1f} fps) on "
          f"{stats.backend}; latency p50 {stats.latency['p50_ms']:.1f} ms p99 {stats.latency['p99_ms']:.1f} ms; "
          f"dropped {stats.dropped}, fallbacks {stats.fallbacks}, reused {stats.reused}")
    for s in sinks:  # only what this run wrote
        if getattr(s, "path", None):
            if getattr(s, "frames", 0) and Path(s.path).is_file():
                print(f"wrote {s.path}")
        elif getattr(s, "folder", None):
            if getattr(s, "frames", 0):
                print(f"wrote {s.frames} images to {s.folder}")
        elif isinstance(s, GstreamerSink) and s.frames:
            print(f"streamed {s.frames} frames to {s.description}")
    if args.stats_json and Path(args.stats_json).is_file():
        print(f"wrote {args.stats_json}")
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    from .profiles import DeviceProfile, list_profiles

    if args.action == "list":
        names = list_profiles()
        width = max(map(len, names), default=0)
        broken = []  # one bad file in EDGEFILL_PROFILES listed none of the good ones
        for name in names:
            try:
                p = DeviceProfile.load(name)
            except ConfigError as exc:
                broken.append(str(exc))
                continue
            r = p.runtime
            print(f"{name:{width}s} {r.backend:12s} {r.precision:5s} {r.model:5s} budget {r.latency_budget_ms:g} ms  "
                  f"{p.description}")
        for why in broken:
            print(f"edgefill: error: {why}", file=sys.stderr)
        return 2 if broken else 0
    if not args.name:
        raise InputError("profiles show needs a NAME (see: edgefill profiles list)")
    print(json.dumps(DeviceProfile.load(args.name).to_dict(), indent=2))
    return 0


def _apply_profile(args: argparse.Namespace):
    """Fill options the user did not give from the device profile (explicit options win); the
    profile (None without --profile). Its camera defaults are for camera sources only: cmd_run.

    An ONNX Runtime profile's model runs at the profile's precision where edgefill ships that graph
    (``lite`` + ``int8``: lite.int8, as ``bench --profile`` measures); its backend is used when it
    can run here and takes the model, else ``auto`` with a warning that says why (TensorRT runs an
    export bundle, never a shipped model name)."""
    from .backends import Availability, backend_class
    from .profiles import DeviceProfile

    if args.profile is None:
        if args.backend is None:
            args.backend = "auto"
        return None
    prof = DeviceProfile.load(args.profile)
    r = prof.runtime
    if args.deadline_ms is None:
        args.deadline_ms = r.latency_budget_ms
    model_given = args.model is not None
    if args.backend is None:
        args.backend = r.backend
        try:
            cls = backend_class(r.backend) if r.backend != "auto" else None
        except ConfigError:
            cls = None
        avail = cls.is_available() if cls is not None else r.backend == "auto"
        if avail and cls is not None and cls.uses_model:
            avail = cls.accepts_model(args.model if model_given else r.model)
            if not avail and r.backend == "tensorrt" and not model_given:  # a bundle given: its own reason
                avail = Availability(False, f"it runs an export bundle: make one with edgefill export --profile "
                                            f"{prof.name} -o BUNDLE, then pass --model BUNDLE")
        if not avail:
            why = getattr(avail, "reason", "not part of this installation")
            log.warning("profile %s prefers backend %r, which cannot run here (%s); using auto",
                        prof.name, r.backend, why)
            args.backend = "auto"
    # after the backend is settled: a profile whose backend is classical (opencv-telea) gave its
    # model too, and the run stopped with "takes no model" though no --model was given
    if not model_given and uses_model(args.backend):
        # at the profile's precision on ONNX Runtime profiles only: the shipped INT8 graphs are made
        # for ONNX Runtime on a CPU, and a Jetson profile's int8 (TensorRT's) given up for auto ran one
        args.model = _model_at(r.model, r.precision, prof.name) if r.backend == "onnxruntime" else r.model
    if args.threads is None:  # an explicit --threads 0 (the backend's default) wins too
        args.threads = r.threads
    args.buckets = r.buckets
    return prof


def _model_at(model: str, precision: str, profile: str) -> str:
    """The profile's model at its precision: the shipped graph of that precision when there is
    one (lite + int8: lite.int8), else the model as named (a path, or fp16 on ONNX Runtime, which
    runs the FP32 graph: said at INFO)."""
    from .bench import model_for

    try:
        return model_for(model, precision)
    except ModelError:
        log.info("profile %s asks for %s at %s; edgefill ships no %s graph of it, so the FP32 one runs",
                 profile, model, precision, precision)
        return model


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (``kill``, ``timeout``, a CI job cancelled) as SystemExit(143) for the block, so the
    clean-up of work in progress runs as it does for Ctrl-C: an export stopped so left its staging
    folder and ONNX Runtime's temporary graphs behind. A handler of the caller's own is kept."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends the process at once
        print("edgefill: terminated; removing what was written", file=sys.stderr)
        raise SystemExit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def cmd_export(args: argparse.Namespace) -> int:
    with _sigterm_unwinds():
        return _export(args)


def _export(args: argparse.Namespace) -> int:
    from .profiles import DeviceProfile

    if not args.output.strip():  # Path("") is the current folder: the bundle was written there
        raise InputError("-o is empty: give the bundle's folder")
    from .models import shipped_models

    name = args.output.rstrip("/" + os.sep)
    if name in shipped_models():  # `--model nano` would run the shipped nano
        log.warning("-o %s is named like a shipped model: run the bundle as --model ./%s (--model %s is the "
                    "shipped one)", args.output, name, name)
    prof = DeviceProfile.load(args.profile) if args.profile is not None else None
    if args.precision is None:
        args.precision = prof.runtime.precision if prof is not None else "fp32"
    if args.model is None:  # a jetson-nano or rpi5 bundle carried lite, sized against nano's budget
        args.model = prof.runtime.model if prof is not None else "lite"
    try:
        from edgefill_export.bundle import ExportRequest, export_bundle
        from edgefill_export.calibration import CalibrationError
        from edgefill_export.onnx_export import ExportError
        from edgefill_export.quantize import AccuracyGateError
        from edgefill_export.weights import CheckpointError
        import onnxruntime  # noqa: F401  (the parity check of every graph: it failed after the ONNX export)
    except ImportError as exc:
        why, note = f"the export toolchain cannot be imported ({exc})", export_python_note()
        if note:
            why += f"; it {note} and copy the bundle to the board"
        raise BackendUnavailableError("export", why, "export") from exc
    for flag, given in (("--calib-images", args.calib_images), ("--int8-target", args.int8_target)):
        if given is not None and args.precision != "int8":  # was ignored without a word
            raise InputError(f"{flag} is for --precision int8 only; {args.precision} is not calibrated")
    req = ExportRequest(model=args.model, out_dir=Path(args.output), precision=args.precision, profile=args.profile,
                        calib_dir=Path(args.calib) if args.calib else None, val_dir=Path(args.val) if args.val else None,
                        allow_accuracy_loss=args.allow_accuracy_loss, force=args.force, val_images=args.val_images,
                        int8_target=args.int8_target,
                        **({"calib_images": args.calib_images} if args.calib_images is not None else {}))
    try:
        out = export_bundle(req)
    except (CalibrationError, AccuracyGateError, CheckpointError, ExportError, FileExistsError, ValueError) as exc:
        raise InputError(str(exc)) from exc
    except OSError as exc:  # e.g. an output folder that cannot be created
        raise InputError(f"export to {args.output} failed: {exc.strerror or exc}"
                         f"{f' ({exc.filename})' if exc.filename else ''}") from exc
    from .models import read_bundle

    bundle = read_bundle(out)
    print(f"wrote bundle {out} ({bundle['model']}, {bundle['precision']}, profile {prof.name if prof else 'none'})")
    for art in bundle["artifacts"].values():
        v = art["validation"]  # delta_db is fp32 minus this artifact (a loss): shown as this one's change
        failed = v.get("passed") is False  # kept by --allow-accuracy-loss: said, not only in bundle.json
        print(f"  {art['file']:18s} hole PSNR {v['hole_psnr_db']:.2f} dB, {0.0 - v['delta_db']:+.3f} dB vs fp32"
              + (f"  FAILED the {v.get('gate_db')} dB gate (kept by --allow-accuracy-loss)" if failed else ""))
    _say_calibration_count(out, bundle, req.calib_images)
    return 0


def _say_calibration_count(out: Path, bundle: dict, asked: int) -> None:
    """A line when INT8 was calibrated on fewer images than --calib-images asked for (a small
    --calib folder): the scales rest on what was there, which the summary did not say."""
    calib = bundle.get("calibration")
    if not isinstance(calib, dict) or not isinstance(calib.get("file"), str):
        return
    try:
        used = json.loads((out / calib["file"]).read_text()).get("images")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(used, int) and used < asked:
        print(f"  note: INT8 was calibrated on {used} image{'s' if used != 1 else ''}, fewer than --calib-images "
              f"{asked}: the --calib folder holds no more; more images of your scenes give steadier scales")


def cmd_build_engine(args: argparse.Namespace) -> int:
    from .profiles import DeviceProfile
    from .trt.build import build_for_bundle

    profile = DeviceProfile.load(args.profile) if args.profile is not None else None
    path = build_for_bundle(Path(args.bundle), profile, force=args.force)
    side = json.loads(path.with_suffix(".json").read_text())
    print(f"engine {path} (TensorRT {side['tensorrt']}, sm {side['compute_capability']}, "
          f"{side['config']['precision']}, {len(side['config']['profiles'])} profiles)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import plot, run_bench, table, to_json
    from .fileio import atomic_write_bytes
    from .profiles import DeviceProfile

    for flag in ("model", "backend", "precision", "size", "json", "plot"):  # "$SIZES" unset ran the defaults
        value = getattr(args, flag)
        if value is not None and not value.strip():
            raise InputError(f"--{flag} is empty: leave it out for the default, or give a value")
    prof = DeviceProfile.load(args.profile) if args.profile is not None else None
    models = (args.model or (prof.runtime.model if prof else "lite,nano")).split(",")
    backends = (args.backend or (prof.runtime.backend if prof else "onnxruntime")).split(",")
    precisions = (args.precision or (prof.runtime.precision if prof else "fp32")).split(",")
    try:
        sizes = [int(x) for x in (args.size or ",".join(map(str, prof.runtime.buckets if prof else (256, 512)))).split(",")]
    except ValueError as exc:
        raise InputError(f"--size takes comma-separated integers: {exc}") from exc
    _check_bench_outputs(args, models)  # before the run, which may take many minutes on a board
    results, env = run_bench(models, backends, precisions, sizes, warmup=args.warmup, reps=args.reps, profile=prof)
    print(table(results, env))
    if args.json:
        try:
            atomic_write_bytes(Path(args.json), to_json(results, env).encode())
        except OSError as exc:
            raise InputError(f"cannot write --json {args.json}: {exc.strerror or exc}") from exc
        print(f"wrote {args.json}")
    if args.plot:
        plot(results, Path(args.plot))
        print(f"wrote {args.plot}")
    if env.get("interrupted"):  # what was measured is printed and written above
        print("edgefill: interrupted: results cover the rounds completed before Ctrl-C", file=sys.stderr)
        return 130
    return 0


def _check_bench_outputs(args: argparse.Namespace, models: list[str]) -> None:
    """--json and --plot must be files that can be written, distinct from each other and from a
    --model file, and --plot an image extension: checked before the run, not after it (a path
    under a file or on a read-only filesystem failed only once every row had been measured)."""
    from .sinks.files import check_can_write

    outs = [(flag, Path(v)) for flag, v in (("--json", args.json), ("--plot", args.plot)) if v]
    for flag, path in outs:
        if path.is_dir():
            raise InputError(f"{flag} {path} is a folder; give a file name")
    refuse_overwrites(model_inputs(m for m in models if m), [(path, flag) for flag, path in outs])
    refuse_shared_outputs([(path, flag) for flag, path in outs])
    if args.plot and Path(args.plot).suffix.lower() not in IMAGE_EXTS:
        raise InputError(f"--plot {args.plot}: unsupported extension {Path(args.plot).suffix!r} "
                         f"(use one of {', '.join(IMAGE_EXTS)})")
    for flag, path in outs:
        check_can_write(path, flag)


def cmd_masks(args: argparse.Namespace) -> int:
    import numpy as np

    from . import imageio, maskgen

    lo, hi = args.ratio
    if not 0 <= lo < hi <= 1:
        raise InputError(f"--ratio needs 0 <= LO < HI <= 1, got {lo} {hi}")
    if args.like is not None:
        if args.width is not None or args.height is not None:
            raise InputError("give --like or --width/--height, not both")
        args.height, args.width = imageio.read_image(args.like).shape[:2]
    args.width = 512 if args.width is None else args.width
    args.height = 512 if args.height is None else args.height
    if args.width < 8 or args.height < 8 or args.count < 1:
        raise InputError("--width/--height must be >= 8 and --count >= 1")
    if args.width * args.height > imageio.MAX_PIXELS:  # read_mask, and so inpaint and run, would refuse them
        raise InputError(f"--width x --height is {args.width}x{args.height} = {args.width * args.height} pixels, "
                         f"above the {imageio.MAX_PIXELS} that edgefill reads")
    if args.seed < 0:
        raise InputError(f"--seed must be >= 0, got {args.seed}")
    out = Path(args.output)
    missed = []
    for i in range(args.count):
        rng = np.random.default_rng([args.seed, i])
        m = maskgen.FAMILIES[args.family](args.height, args.width, rng, lo, hi)
        ratio = maskgen.hole_ratio(m)
        if not lo <= ratio <= hi:
            missed.append(ratio)
        write_image(out / f"{args.family}_{i:04d}.png", m)
    if missed:
        log.warning("%d of %d %s masks miss the hole ratio range %g-%g (closest reached: %.4f-%.4f); the family "
                    "may not reach it at %dx%d", len(missed), args.count, args.family, lo, hi, min(missed),
                    max(missed), args.width, args.height)
    print(f"wrote {args.count} {args.family} masks ({args.width}x{args.height}, hole ratio {lo * 100:.3g}%-{hi * 100:.3g}%) to {out}")
    return 0


def cmd_backends(args: argparse.Namespace, broken: dict[str, str] | None = None) -> int:
    """Each backend and whether it can run here; ``broken`` (doctor's imports, by backend) marks
    one whose packages are installed but do not import, which the backends' own cheap check
    (the package is found) calls available."""
    from .backends import Availability, backend_class, list_backends

    for name in list_backends():
        avail = backend_class(name).is_available()
        if avail and broken and name in broken:
            avail = Availability(False, broken[name])
        print(f"{name:14s} {'available' if avail else 'unavailable: ' + avail.reason}")
    return 0


def export_python_note() -> str | None:
    """Why this Python cannot export at all (None where it can): the runtime runs on 3.8, torch 2.13 does not."""
    return "needs Python >= 3.10 (torch 2.13): export on a workstation" if sys.version_info < (3, 10) else None


def export_toolchain_status() -> str:
    """Whether ``edgefill export`` / training can run here, found without importing torch."""
    import importlib.util

    note = export_python_note()
    if note:
        return note
    # onnxruntime too: the export checks every graph it writes against PyTorch with it
    missing = [m for m in ("torch", "onnx", "onnxruntime", "safetensors") if importlib.util.find_spec(m) is None]
    return f"not installed ({', '.join(missing)} missing: edgefill[export])" if missing else "installed"


def cmd_doctor(args: argparse.Namespace) -> int:
    import platform

    from . import __version__
    from .opencv_check import opencv_info

    print(f"edgefill {__version__} on Python {platform.python_version()} ({platform.machine()}); "
          f"export toolchain: {export_toolchain_status()}")
    info = opencv_info()
    print(f"OpenCV {info.version} from {info.path}; GStreamer: {'yes' if info.gstreamer else 'no'}; "
          f"FFmpeg: {'yes' if info.ffmpeg else 'no'}; pip wheels: {', '.join(info.pip_wheels) or 'none'}; "
          f"Jetson: {'yes' if info.is_jetson else 'no'}")
    for missing in info.missing_io:  # not a problem by itself: a USB camera and file outputs need neither
        print(f"note: {missing}")
    broken = _broken_imports()
    problems = info.problems + [why for _, why in broken]
    for p in problems:
        print(f"problem: {p}")
    cmd_backends(args, {backend: "installed but does not import (see the problem above)" for backend, _ in broken})
    return 1 if problems else 0


def _broken_imports() -> list[tuple[str, str]]:
    """Backend packages that are installed but fail to import: the backends' own check finds the
    package only (``find_spec``), so a TensorRT whose libnvinfer does not match JetPack, or a
    pycuda built against another CUDA, looks available until the first run. Imported here, and
    only in ``doctor``."""
    import importlib
    import importlib.util

    out = []  # (the backend that needs it, the problem)
    for backend, module, where in (("onnxruntime", "onnxruntime", "pip install edgefill[ort]"),
                                   ("tensorrt", "tensorrt", "it comes with JetPack"),
                                   ("tensorrt", "pycuda.driver", "pip install edgefill[trt], built against this CUDA")):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            continue  # not installed: `backends` below says so
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any failure to import is the finding
            reason = " ".join(str(exc).split()) or type(exc).__name__
            out.append((backend, f"{module} is installed but does not import ({reason}); reinstall it ({where})"))
    return out


def build_parser() -> argparse.ArgumentParser:
    from .backends import list_backends

    ap = argparse.ArgumentParser(prog="edgefill", description="Real-time image inpainting for edge devices.")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="log backend choices (-vv: debug)")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inpaint", help="fill the masked holes of an image or a folder of images",
                       description="Mask convention: 255 (or 1) = hole to fill, 0 = keep.")
    p.add_argument("input", help="image file or folder")
    p.add_argument("--mask", required=True,
                   help="mask file, folder of masks named like the inputs, or shapes drawn on every image: "
                        "rect:x,y,w,h[;...], poly:x1,y1,x2,y2,x3,y3[;...], key:B,G,R[,tolerance] or a shapes .json")
    p.add_argument("-o", "--output", required=True, help="output file, or folder (batch mode)")
    p.add_argument("--backend", default="auto", help=f"auto or one of: {', '.join(list_backends())}")
    p.add_argument("--model", default=None, help=INPAINT_MODEL_HELP)
    p.add_argument("--invert-mask", action="store_true", help="the mask marks pixels to keep, not holes")
    p.add_argument("--threads", type=int, default=0, help="inference threads (0: backend default)")
    p.add_argument("--margin", type=int, default=48, help="context pixels around the hole (default 48)")
    p.add_argument("--feather", type=int, default=0,
                   help="blend the fill over a ring of N known pixels around the hole (default 0: the known "
                        "pixels are kept; a ring costs fill quality, see RoiConfig)")
    p.add_argument("--thin-px", type=float, default=DEFAULT_THIN_HOLE_PX,
                   help="fill thin parts of the hole (scratches up to ~2x this wide) with OpenCV NS, measured "
                        f"better than the models there (default {DEFAULT_THIN_HOLE_PX:g}; 0: off)")
    add_refill_options(p)
    p.add_argument("--dilate", type=int, default=0, help="grow the mask by N pixels (cover an object's rim)")
    p.add_argument("--jpeg-quality", type=int, default=JPEG_QUALITY,
                   help=f"quality 1-100 of JPEG outputs (default {JPEG_QUALITY}): a JPEG is encoded anew, so "
                        "pixels outside the hole change too; write .png for exact ones")
    p.set_defaults(func=cmd_inpaint)

    from .capture.base import RTSP_TRANSPORTS  # numpy and OpenCV only

    p = sub.add_parser("run", help="run the real-time pipeline on a camera, stream or video",
                       description="SOURCE: video file, image folder/glob, v4l2:///dev/videoN, csi://N, rtsp://..., "
                                   "http://.../stream.mjpg, picam://N, gst://PIPELINE. Mask convention: 255 = fill.")
    p.add_argument("source", nargs="?", default=None,
                   help="where frames come from (default with --profile: the profile's camera.source)")
    p.add_argument("--mask", required=True,
                   help="mask image, mask video/folder (one per frame), shapes .json, rect:x,y,w,h[;...], "
                        "poly:x1,y1,x2,y2,x3,y3[;...], or key:B,G,R[,tol]")
    p.add_argument("-o", "--output", help="output video (.mp4/.avi/.mkv/.mov/.m4v), folder of images (no "
                   "extension, or ending in /), or gst://ELEMENTS a GStreamer pipeline fed by appsrc, e.g. "
                   "'gst://x264enc tune=zerolatency ! rtph264pay config-interval=-1 ! udpsink host=HOST port=5000 "
                   "sync=false'")
    p.add_argument("--profile", default=None, help="device profile (edgefill profiles list) for the defaults")
    p.add_argument("--backend", default=None, help="auto (default, or the profile's) or a backend name")
    p.add_argument("--model", default=None, help=MODEL_HELP)
    p.add_argument("--thin-px", type=float, default=DEFAULT_THIN_HOLE_PX,
                   help=f"fill thin parts of the hole (scratches) with OpenCV NS (default {DEFAULT_THIN_HOLE_PX:g}; 0: off)")
    add_refill_options(p)
    p.add_argument("--deadline-ms", type=float, default=None, help="per-frame budget (default: the profile's); "
                   "frames that would miss it use the fallback")
    p.add_argument("--threads", type=int, default=None,
                   help="inference threads (0: backend default; default: the profile's, else 0)")
    p.add_argument("--fallback", default="opencv-telea", help="backend for frames over the deadline")
    p.add_argument("--no-stabilize", action="store_true", help="disable temporal stabilisation")
    p.add_argument("--dilate", type=int, default=0, help="grow the mask by N pixels")
    p.add_argument("--hold", type=int, default=0, help="keep a pixel masked N frames after it was last masked")
    p.add_argument("--invert-mask", action="store_true", help="the mask marks pixels to keep, not holes")
    p.add_argument("--queue-size", type=int, default=4,
                   help="frames each of the two queues holds (live sources drop the oldest when full)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after N frames (default: no limit)")
    p.add_argument("--width", type=int, default=None, help="camera capture width (default: the profile's, for a camera)")
    p.add_argument("--height", type=int, default=None, help="camera capture height (default: the profile's, for a camera)")
    p.add_argument("--fps", type=float, default=None,
                   help="camera frame rate, and the output video's (default: the source's own; a camera: the profile's)")
    p.add_argument("--flip", type=int, default=None,
                   help="turn the frames by nvvidconv's flip-method 0-7 (2: 180, 4/6: mirrors; csi:// in nvvidconv, "
                        "picam:// 0/2/4/6 in the sensor, others in software) (default: the profile's, else 0)")
    p.add_argument("--loop", action="store_true", help="loop a video file or image folder")
    p.add_argument("--read-timeout", type=float, default=5.0, help="seconds before a silent stream counts as stalled")
    p.add_argument("--rtsp-transport", default=None, choices=RTSP_TRANSPORTS,
                   help="rtsp:// only: the RTSP transport (tcp: through NAT and lossy Wi-Fi; default: OpenCV's, "
                        "TCP first then UDP, or what OPENCV_FFMPEG_CAPTURE_OPTIONS says)")
    p.add_argument("--fourcc", default=None, metavar="CODE",
                   help="v4l2:// only: the camera's pixel format, e.g. MJPG (most USB webcams give 720p/1080p at "
                        "30 fps only in MJPEG) or YUYV (default: the driver's)")
    p.add_argument("--preview", action="store_true", help="serve an MJPEG preview (127.0.0.1 unless told otherwise)")
    p.add_argument("--preview-host", default=PREVIEW_HOST, help=f"with --preview: the address to serve on "
                   f"(default {PREVIEW_HOST})")
    p.add_argument("--preview-port", type=int, default=PREVIEW_PORT, help=f"with --preview: the port (default {PREVIEW_PORT})")
    p.add_argument("--preview-token", default=None, help="with --preview: a token the viewer must give")
    p.add_argument("--preview-allow-remote", action="store_true", help="allow a non-loopback --preview-host (needs a token)")
    p.add_argument("--window", action="store_true", help="show an OpenCV window (needs a display)")
    p.add_argument("--stats-json", default=None, help="write the run's statistics here")
    p.set_defaults(func=cmd_run, buckets=None)  # the model's (a TensorRT engine's profiles), else 256/384/512

    p = sub.add_parser("export", help="export a model as a deployable bundle (FP32/FP16/INT8 ONNX, gated)",
                       description="Needs edgefill[export]. Writes OUTDIR/bundle.json, model.fp32.onnx and, for "
                                   "fp16/int8, the quantised ONNX after an accuracy gate against fp32.")
    p.add_argument("--model", default=None,
                   help="shipped model name or a .safetensors file (default: the profile's model, else lite)")
    p.add_argument("--profile", default=None, help="device profile (edgefill profiles list)")
    p.add_argument("--precision", default=None, choices=["fp32", "fp16", "int8"],
                   help="default: the profile's precision, else fp32")
    p.add_argument("--calib", default=None, help="folder of calibration photos for int8 (default: fetched train set)")
    p.add_argument("--calib-images", type=int, default=None, metavar="N",
                   help="int8: calibrate on the first N photos of --calib (default 32)")
    p.add_argument("--int8-target", default=None, choices=["tensorrt", "cpu"],
                   help="int8 graph for TensorRT or for ONNX Runtime on the CPU (default: cpu for a profile without "
                        "TensorRT, such as rpi5 and x86-cpu, else tensorrt)")
    p.add_argument("--val", default=None, help="folder of validation photos for the gate (default: fetched eval set)")
    p.add_argument("--val-images", type=int, default=64, metavar="N",
                   help="the gate validates on the first N photos of --val, by name (default 64)")
    p.add_argument("--allow-accuracy-loss", action="store_true", help="keep an artifact that fails the accuracy gate")
    p.add_argument("--force", action="store_true", help="write into a non-empty OUTDIR")
    p.add_argument("-o", "--output", required=True, help="bundle folder")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("bench", help="measure latency, throughput, memory and %% of machine peak "
                                     "(`edgefill bench quality -h`: hole PSNR/SSIM against OpenCV)",
                       description="Times one backend call per crop size after a warm-up, plus the full pipeline's "
                                   "stages; reports GFLOP/s against this machine's measured GEMM peak. "
                                   "`edgefill bench quality ...` measures fill quality instead (see its -h).")
    p.add_argument("--profile", default=None, help="take model, backend, precision and sizes from a device profile")
    p.add_argument("--model", default=None, help="comma list (default: lite,nano)")
    p.add_argument("--backend", default=None, help="comma list (default: onnxruntime)")
    p.add_argument("--precision", default=None, help="comma list of fp32,fp16,int8 (default: fp32)")
    p.add_argument("--size", default=None, help="comma list of square crop sizes (default: 256,512)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--json", default=None, help="write the results as JSON (environment: machine, GEMM peaks, "
                   "telemetry, interrupted; results: one object per row, keys as in edgefill.bench.BenchResult)")
    p.add_argument("--plot", default=None, help="PNG of latency against size")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("train", add_help=False,
                       help="train or fine-tune a model, resumably (needs edgefill[export]; `edgefill train -h`, "
                            "docs/training.md)")
    p.set_defaults(func=lambda args: _train(["--help"]))  # `edgefill train` is handled before this parser

    p = sub.add_parser("data", help="fetch the training, texture and evaluation photos into a cache folder "
                                    "(`edgefill data fetch -h`; what `make data` runs)")
    p.add_argument("action", choices=["fetch"])  # `edgefill data fetch ...` is handled before this parser

    p = sub.add_parser("build-engine", help="build the TensorRT engine for this board from an export bundle",
                       description="Run on the board, where TensorRT (JetPack) and pycuda are installed.")
    p.add_argument("bundle", help="bundle folder from edgefill export")
    p.add_argument("--profile", default=None, help="device profile for workspace and DLA settings")
    p.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches")
    p.set_defaults(func=cmd_build_engine)

    p = sub.add_parser("profiles", help="list or show device profiles (firmware_configs/*.yaml)")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_profiles)

    from . import maskgen  # numpy and OpenCV only, like the rest of the parser's imports

    p = sub.add_parser("masks", help="generate seeded test masks (255 = hole) of a family and hole ratio")
    p.add_argument("--family", default="free-form", choices=list(maskgen.FAMILIES))
    p.add_argument("--ratio", type=float, nargs=2, default=(0.1, 0.2), metavar=("LO", "HI"),
                   help="hole ratio range (default 0.1 0.2)")
    p.add_argument("--width", type=int, default=None, help="mask width in pixels (default 512)")
    p.add_argument("--height", type=int, default=None, help="mask height in pixels (default 512)")
    p.add_argument("--like", type=Path, default=None, metavar="IMAGE",
                   help="make the masks the size of this image, as edgefill reads it (upright by its EXIF "
                        "orientation), instead of --width/--height")
    p.add_argument("--count", type=int, default=10, help="how many masks (default 10)")
    p.add_argument("--seed", type=int, default=0, help="mask i is drawn with the seed (SEED, i) (default 0)")
    p.add_argument("-o", "--output", required=True, help="folder for the PNG masks")
    p.set_defaults(func=cmd_masks)

    p = sub.add_parser("backends", help="list backends and whether each can run here")
    p.set_defaults(func=cmd_backends)
    p = sub.add_parser("doctor", help="check OpenCV (GStreamer on Jetson) and backends")
    p.set_defaults(func=cmd_doctor)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """The ``edgefill`` command. A reader that closes our stdout early (``edgefill doctor | head -1``)
    ends it quietly with 141 (128 + SIGPIPE), as shell tools do, instead of a traceback."""
    code = None
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at interpreter exit
        return code
    except BrokenPipeError:
        drop_stdout()
        return 141
    except OSError as exc:  # stdout itself failed (redirected to a full disk): one line, unless one was said
        drop_stdout()
        if not code:  # 0, or raised before a code (argparse's --help), where nothing was said
            print(f"edgefill: error: cannot write to standard output: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _train(argv: list[str]) -> int:
    """``edgefill train ...``: ``python -m edgefill_export.train ...`` under the package's command."""
    note = export_python_note()
    try:
        if note:
            raise ImportError(note)
        from edgefill_export.train import main as train_main
    except ImportError as exc:
        print(f"edgefill train: the training toolchain cannot be imported ({exc}); install edgefill[export]"
              f"{' on a workstation' if note else ''}", file=sys.stderr)
        return 2
    try:
        return train_main(argv, prog="edgefill train")
    except SystemExit as exc:  # its checks end in SystemExit("why"): one line and 2, as the other commands
        if isinstance(exc.code, str):
            print(f"edgefill train: error: {exc.code}", file=sys.stderr)
            return 2
        raise


def _fetch(argv: list[str]) -> int:
    """``edgefill data fetch ...``: ``python -m edgefill_export.fetch ...`` (stdlib and tqdm only:
    it needs no torch)."""
    from edgefill_export.fetch import main as fetch_main

    return fetch_main(argv, prog="edgefill data fetch")


def _quality(argv: list[str]) -> int:
    """``edgefill bench quality ...``: edgefill/quality.py."""
    from .quality import main as quality_main

    return quality_main(argv)


#: the subcommands with option sets of their own (edgefill_export/train.py, edgefill_export/fetch.py,
#: edgefill/quality.py), and what runs them
_OWN_OPTION_SETS = ((("train",), _train), (("data", "fetch"), _fetch), (("bench", "quality"), _quality))


def _log_level(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="edgefill: %(levelname)s: %(message)s")


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = verbose = 0  # the global -v / -vv / --verbose flags before the subcommand
    while first < len(args_list) and (args_list[first] == "--verbose" or re.fullmatch(r"-v+", args_list[first])):
        verbose += 1 if args_list[first] == "--verbose" else len(args_list[first]) - 1
        first += 1
    for words, run in _OWN_OPTION_SETS:  # handed the rest of the command line, before build_parser
        if tuple(args_list[first:first + len(words)]) == words:
            _log_level(verbose)
            rest = args_list[first + len(words):]
            return _one_line_errors(functools.partial(run, rest), "edgefill " + " ".join(words))
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_level(args.verbose)
    return _one_line_errors(lambda: args.func(args), "edgefill")


def _one_line_errors(run: Callable[[], int], prog: str) -> int:
    """``run()``, with an edgefill error as one line and exit 2, Ctrl-C as one line and exit 130:
    also for the subcommands with option sets of their own, where a Ctrl-C during a download or
    an error raised mid-run was a traceback."""
    try:
        return run()
    except EdgeFillError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # main() ends quietly
        raise
    except OSError as exc:  # the system refused a path or a write: a name too long, a full disk, stdout
        log.debug("%s", exc, exc_info=True)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{prog}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
