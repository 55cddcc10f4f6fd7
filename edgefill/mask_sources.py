"""Where each frame's mask comes from.

A mask source is a callable ``(frame, index) -> mask`` returning a uint8 HxW mask
in the public convention (255 = hole to fill). Built-ins:

- :class:`StaticMask` — one mask image for every frame;
- :class:`MaskSequence` — a mask video or a folder of mask images, one per frame;
- :class:`ShapesMask` — rectangles and polygons (from the CLI or a JSON file);
- :class:`ColourKey` — pixels within a tolerance of a key colour;
- :class:`CallableMask` — a user function (a detector) returning a mask or boxes.

:class:`MaskPostprocess` adds dilation and hysteresis (a pixel stays masked for
``hold`` frames after the detector last reported it, so a flickering detection
does not make the fill flicker). :func:`parse_mask_spec` turns the CLI's
``--mask`` value into a source, and :func:`as_mask_source` any accepted ``mask``
argument (a spec, an array, a callable, or a ready-made source).

``invert`` (CLI ``--invert-mask``: the mask marks the pixels to *keep*) applies to every
kind of source alike: the hole becomes the complement of what the source yields. A hole made
by inverting that covers almost the whole frame gets the warning with the advice for an
inverted mask, from the source (see :func:`edgefill.masks.mark_checked`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Iterator  # subscripted at import below: collections.abc's is not on Python 3.8

import cv2
import numpy as np

from . import masks
from .checks import is_finite, is_number, is_whole
from .errors import ConfigError, InputError, ShapeError
from .image_chunks import gif_frames
from .imageio import IMAGE_EXTS, declared_size, image_files, read_mask

log = logging.getLogger(__name__)

MaskSource = Callable[[np.ndarray, int], np.ndarray]
VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
#: The longest ``hold`` (frames) :class:`MaskPostprocess` accepts: over 2 years at 30 fps.
MAX_HOLD = 2**31 - 2


class _WarnsOnce:
    """A mask source that gives the "almost the whole image" warning for its first such frame
    only, and the "no pixel reaches 128" one once too: said for every frame of a stream, they
    were hundreds of lines a minute."""

    @property
    def _said(self) -> set:
        """The warnings given for this source: ``"almost_all"``, and ``"faint"``
        (:func:`edgefill.masks.normalize_mask` adds it)."""
        return self.__dict__.setdefault("_said_set", set())

    def _checked(self, hole: np.ndarray, invert: bool) -> np.ndarray:
        """``hole`` after the warning, with the advice that fits whether it was made by inverting;
        marked so that the Inpainter's check does not warn again (for an inverted hole, which it
        cannot know was inverted, it would advise ``--invert-mask`` as well;
        :func:`edgefill.masks.mark_checked`)."""
        if "almost_all" not in self._said and masks.warn_if_almost_all(hole, invert=invert, once=True):
            self._said.add("almost_all")
        return masks.mark_checked(hole)

    def _normalized(self, mask: np.ndarray, frame: np.ndarray, invert: bool) -> np.ndarray:
        """:func:`edgefill.masks.normalize_mask` of a mask read for ``frame``, with each of its
        warnings once per source; marked as checked."""
        hole = masks.normalize_mask(mask, frame.shape, invert=invert, warn_almost_all=False, said=self._said)
        return self._checked(hole, invert)


class StaticMask:
    def __init__(self, mask: np.ndarray | str | Path, invert: bool = False):
        self.path = Path(mask) if isinstance(mask, (str, Path)) else None
        self.mask = read_mask(self.path) if self.path is not None else np.asarray(mask)
        self.invert = invert
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        shape = frame.shape[:2]
        if self._cache is None or self._cache[0] != shape:
            with _named(f"mask {self.path}" if self.path is not None else None):
                hole = masks.normalize_mask(self.mask, frame.shape, invert=self.invert)
            self._cache = (shape, masks.mark_checked(hole))
        return self._cache[1]


@contextlib.contextmanager
def _named(where: str | None) -> Iterator[None]:
    """A mask of the wrong size, said with the file it came from: a run's "the mask is 481x320
    but 480x320 was expected" named no file among a folder of hundreds."""
    try:
        yield
    except ShapeError as exc:
        if where is None:
            raise
        raise ShapeError(where, exc.actual, exc.expected) from None


class MaskSequence(_WarnsOnce):
    """Frame i takes mask i from a video or a sorted folder; running out is an error.

    With ``loop`` (the frame source starts again at its end: ``CaptureOptions.loop``, CLI
    ``--loop``) the masks start again after the last one, as the frames do: frame i takes mask
    ``i % n`` of n masks, so mask i is for frame i of each pass when the sequence has one mask
    per frame of the source (one of another length starts again at its own end, out of step with
    the frames). Without ``loop``, a sequence shorter than the source stops the run at its end
    with an InputError.

    A mask video holds an open ``cv2.VideoCapture`` (a file handle and a decoder) until
    :meth:`close`; the sequence is also a context manager."""

    def __init__(self, path: str | Path, invert: bool = False, loop: bool = False):
        self.path, self.invert, self.loop = Path(path), invert, loop
        self.cap: cv2.VideoCapture | None = None
        # one decoder, read by one thread at a time: two pipelines sharing a mask video (two cameras
        # with one mask) called FFmpeg's decoder from two threads at once and aborted the process
        self._lock = threading.RLock()
        self.files: list[Path] = []
        self.next_index = 0
        self.length: int | None = None  # of a mask video, once a loop has found its end
        if self.path.is_dir():
            self.files = image_files(self.path)
            if not self.files:
                raise InputError(f"mask folder {self.path} has no images")
        elif self.path.is_file():
            self.cap = cv2.VideoCapture(str(self.path))
            if not self.cap.isOpened():
                raise InputError(f"cannot open mask video {self.path}")
        else:
            raise InputError(f"mask source {self.path} does not exist")

    def close(self) -> None:
        """Release the mask video (idempotent); a later frame is an InputError."""
        with self._lock:
            cap, self.cap = self.cap, None
        if cap is not None:
            cap.release()

    def __enter__(self) -> MaskSequence:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, index: int) -> np.ndarray:
        with self._lock:  # each run its own frame: another run's index is a seek
            return self._get_locked(index)

    def _get_locked(self, index: int) -> np.ndarray:
        if self.files:
            if self.loop:
                index %= len(self.files)
            if index >= len(self.files):
                raise InputError(f"mask folder {self.path} has {len(self.files)} masks; frame {index} has none")
            return read_mask(self.files[index])
        if self.cap is None:
            raise InputError(f"mask video {self.path} is closed; frame {index} has no mask")
        if self.loop and self.length:
            index %= self.length
        sequential = index == self.next_index
        if not sequential:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, m = self.cap.read()
        if not ok and self.loop and self.length is None and index > 0:
            # the end of the video, found by reading it (a container's frame count can be wrong)
            self.length = index if sequential else self._count_frames()
            if self.length:
                return self._get_locked(index)
        if not ok:
            raise InputError(f"mask video {self.path} ended before frame {index}")
        self.next_index = index + 1
        # as decoded (BGR): normalize_mask takes the largest channel, as read_mask does for a mask
        # image, so a stroke in any colour marks a hole (grey conversion made pure red 76, under 128)
        return m

    def _count_frames(self) -> int:
        """The frames of the mask video, decoded from the start (once: a seek past its end)."""
        self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        n = 0
        while self.cap.grab():
            n += 1
        self.next_index = n
        return n

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        mask = self._get(index)
        with _named(f"mask {self._name(index)} (for frame {index})"):
            return self._normalized(mask, frame, self.invert)

    def _name(self, index: int) -> str:
        """Where mask ``index`` is: its file in a folder, else the video."""
        if self.files:
            return f"{self.files[index % len(self.files)]}"
        return f"video {self.path}"


#: Shape coordinates beyond this magnitude are rejected (OpenCV draws with 32-bit integers).
MAX_COORD = 1 << 24


def _coord(value: object, what: str) -> int:
    """One shape coordinate as an int; ConfigError for anything that is not a finite number."""
    if not (is_number(value) or isinstance(value, str)):
        raise ConfigError(f"{what}: {value!r} is not a number")
    try:
        f = float(value)
    except ValueError:
        raise ConfigError(f"{what}: {value!r} is not a number") from None
    except OverflowError:  # an integer beyond a float's range (a JSON 1000...0): out of range below
        f = math.inf
    if not math.isfinite(f) or abs(f) > MAX_COORD:
        raise ConfigError(f"{what}: {value!r} is not a finite number within +-{MAX_COORD}")
    return int(f)


def _points(value: object, n: int, what: str) -> list[int]:
    """``n`` coordinates, e.g. a rectangle's x, y, w, h; ConfigError naming ``what`` otherwise."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)) or len(value) != n:
        raise ConfigError(f"{what}, got {value!r}")
    return [_coord(v, what) for v in value]


def _shape_list(value: object, what: str) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ConfigError(f"{what} must be a list, got {value!r}")
    return list(value)


class ShapesMask:
    """Rectangles ``(x, y, w, h)`` and polygons ``[(x, y), ...]`` in frame pixels."""

    def __init__(self, rects: Sequence[Sequence[int]] = (), polygons: Sequence[Sequence[Sequence[int]]] = ()):
        self.rects = [tuple(_points(r, 4, "each rectangle needs 4 numbers: x, y, w, h"))
                      for r in _shape_list(rects, "rects")]
        for r in self.rects:  # here, not on the first frame (after the camera and the model are opened)
            if r[2] <= 0 or r[3] <= 0:
                raise ConfigError(f"rectangle {r} (x, y, w, h) has no area")
        self.polygons = []
        for p in _shape_list(polygons, "polygons"):
            pts = [tuple(_points(xy, 2, "each polygon point needs 2 numbers: x, y"))
                   for xy in _shape_list(p, "each polygon (a list of [x, y] points)")]
            if len(pts) < 3:
                raise ConfigError(f"a polygon needs at least 3 points, got {len(pts)}")
            self.polygons.append(pts)
        if not self.rects and not self.polygons:
            raise ConfigError("no rectangles or polygons given")
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None

    @classmethod
    def from_json(cls, path: str | Path) -> ShapesMask:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read mask shapes from {path}: {exc}") from exc
        if not isinstance(data, dict) or not set(data) <= {"rects", "polygons"}:
            raise InputError(f"{path}: expected an object with 'rects' and/or 'polygons'")
        try:
            return cls(data.get("rects", []), data.get("polygons", []))
        except ConfigError as exc:
            raise InputError(f"mask shapes {path}: {exc}") from exc

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        shape = frame.shape[:2]
        if self._cache is None or self._cache[0] != shape:
            m = masks.from_rects(shape, self.rects) if self.rects else np.zeros(shape, np.uint8)
            if self.polygons:
                m = np.maximum(m, masks.from_polygons(shape, self.polygons))
            self._cache = (shape, m)
        return self._cache[1]


def _in_byte(value: object) -> bool:
    """A number (not a bool or NaN) whose int() is 0..255, as a colour key takes it."""
    return is_finite(value) and 0 <= int(value) <= 255


class ColourKey:
    """Mask the pixels within ``tolerance`` (max channel difference, 0..255) of a BGR colour."""

    def __init__(self, bgr: Sequence[int], tolerance: int = 40):
        if isinstance(bgr, (str, bytes)) or not isinstance(bgr, (Sequence, np.ndarray)) or len(bgr) != 3 \
                or not all(_in_byte(c) for c in bgr):
            raise ConfigError(f"a colour key needs three values 0..255 (B, G, R), got {bgr}")
        if not _in_byte(tolerance):
            raise ConfigError(f"a colour key's tolerance must be 0..255, got {tolerance}")
        tolerance = int(tolerance)
        self.lo = np.array([max(0, int(c) - tolerance) for c in bgr], np.uint8)
        self.hi = np.array([min(255, int(c) + tolerance) for c in bgr], np.uint8)

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        return cv2.inRange(frame, self.lo, self.hi)


class CallableMask(_WarnsOnce):
    """Wrap a user function returning a mask (HxW) or boxes (a list of (x, y, w, h)).

    Boxes may be floats (a detector's): each covers every pixel the box touches (x rounded
    down, x + w up), so no edge of the object is left out. A box without area (w or h <= 0,
    a degenerate detection) marks nothing: it is skipped with a warning, once, rather than
    stopping a live run. ``None`` (a detector's "nothing found") is no boxes."""

    def __init__(self, fn: Callable[[np.ndarray, int], object], invert: bool = False):
        self.fn, self.invert = fn, invert
        self._warned_empty = False

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        out = self.fn(frame, index)
        if isinstance(out, np.ndarray) and out.ndim >= 2 and out.shape[:2] == frame.shape[:2]:
            # with the source's warnings, once each: a detector's faint (0/90) mask filled nothing unsaid
            return self._normalized(out, frame, self.invert)
        if isinstance(out, np.ndarray) and out.ndim == 2 and out.shape[1] == 4:
            out = out.tolist()
        if out is None:  # a detector's "nothing found" (it stopped the run as an InputError)
            out = []
        if isinstance(out, (list, tuple)):
            boxes = [_box(b) for b in out]
            kept = [b for b in boxes if b[2] > 0 and b[3] > 0]
            if len(kept) < len(boxes) and not self._warned_empty:
                # quoted as returned: _box() has already turned it into (x, y, 0, 0)
                empty = next(b for b, whole in zip(out, boxes) if whole[2] <= 0 or whole[3] <= 0)
                log.warning("the mask callable returned a box without area, e.g. (%s) at frame %d; such boxes "
                            "are skipped (warned once)", ", ".join(str(v) for v in empty), index)
                self._warned_empty = True
            m = masks.from_rects(frame.shape, kept) if kept else np.zeros(frame.shape[:2], np.uint8)
            return self._checked(_inverted(m), invert=True) if self.invert else m
        if isinstance(out, np.ndarray):
            raise ShapeError("the mask returned by the callable", out.shape[:2], frame.shape[:2])
        raise InputError(f"the mask callable returned {type(out).__name__}; expected an HxW mask or a list of boxes")


def _box(box: object) -> tuple[int, ...]:
    """One (x, y, w, h) box from a mask callable, as the whole pixels it touches (w or h <= 0 when
    it has no area); InputError for anything else (a bare box not in a list, NaN or infinite
    coordinates)."""
    if isinstance(box, (str, bytes)) or not isinstance(box, (Sequence, np.ndarray)) or len(box) != 4 \
            or not all(is_finite(v) for v in box):
        raise InputError(f"the mask callable returned the box {box!r}; each box must be 4 finite numbers "
                         "(x, y, w, h), in a list of boxes")
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        return int(x), int(y), 0, 0
    # within +-MAX_COORD (OpenCV draws with 32-bit integers): a box at x = 1e30 lost its width to
    # float rounding and was reported as "without area"; one beyond the frame marks nothing anyway
    x, y = min(max(x, -MAX_COORD), MAX_COORD), min(max(y, -MAX_COORD), MAX_COORD)
    x0, y0 = math.floor(x), math.floor(y)
    return x0, y0, max(1, math.ceil(x + min(w, MAX_COORD)) - x0), max(1, math.ceil(y + min(h, MAX_COORD)) - y0)


class MaskPostprocess(_WarnsOnce):
    """Dilation and hysteresis around any mask source; the "almost the whole image" warning
    (probably an inverted mask) for the first such frame of a hole its source did not check (a
    shape, a colour key, a callable's), once: the Inpainter warned on every frame of a stream."""

    def __init__(self, source: MaskSource, dilate: int = 0, hold: int = 0):
        for name, value in (("dilate", dilate), ("hold", hold)):  # a float failed on the first frame
            if not is_whole(value) or value < 0:
                raise ConfigError(f"{name} must be a whole number >= 0, got {value!r}")
        if hold > MAX_HOLD:
            raise ConfigError(f"hold must be <= {MAX_HOLD} frames, got {hold}")
        self.source, self.dilate, self.hold = source, dilate, int(hold)
        # frames since each pixel was last masked, saturating at hold + 1 ("not held"): the
        # narrowest unsigned type that holds hold + 1 (uint8 up to hold 254)
        self._age_dtype = np.min_scalar_type(self.hold + 1)
        self._age: np.ndarray | None = None

    def close(self) -> None:
        """Close the wrapped source, where it has something to close (:meth:`MaskSequence.close`)."""
        close_source(self.source)

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        m = self.source(frame, index)
        checked = masks.is_checked(m)
        if self.hold:
            never = self.hold + 1
            if self._age is None or self._age.shape != m.shape:
                self._age = np.full(m.shape, never, self._age_dtype)
            aged = np.minimum(self._age, never - 1) + self._age.dtype.type(1)  # no overflow: <= never
            self._age = np.where(m > 0, self._age.dtype.type(0), aged)
            m = np.where(self._age <= self.hold, 255, 0).astype(np.uint8)
        m = masks.dilate(m, self.dilate)
        return masks.mark_checked(m) if checked else self._checked(m, invert=False)


def _numbers(text: str, what: str) -> list[int]:
    return [_coord(v.strip(), f"bad {what} spec {text!r}") for v in text.replace(";", ",").split(",") if v.strip()]


def parse_mask_spec(spec: str, invert: bool = False, loop: bool = False) -> MaskSource:
    """The CLI's ``--mask`` value:

    - ``mask.png`` — a static mask; ``masks/`` or ``mask.mp4`` — one mask per frame (with
      ``loop``, for a source that starts again at its end, the masks start again too: see
      :class:`MaskSequence`);
    - ``shapes.json`` — ``{"rects": [[x, y, w, h], ...], "polygons": [[[x, y], ...], ...]}``;
    - ``rect:x,y,w,h[;x,y,w,h...]`` — rectangles;
    - ``poly:x1,y1,x2,y2,x3,y3[;...]`` — polygons;
    - ``key:B,G,R[,tolerance]`` — a colour key.
    """
    if spec.startswith("rect:"):
        rects = [_numbers(part, "rect") for part in spec[5:].split(";") if part.strip()]
        return _invert_if(ShapesMask(rects=rects), invert)
    if spec.startswith("poly:"):
        polys = []
        for part in [part for part in spec[5:].split(";") if part.strip()]:  # a trailing ";" is fine, as in rect:
            v = _numbers(part, "poly")
            if len(v) < 6 or len(v) % 2:
                raise ConfigError(f"a polygon needs at least 3 x,y pairs, got {part!r}")
            polys.append(list(zip(v[::2], v[1::2])))
        return _invert_if(ShapesMask(polygons=polys), invert)
    if spec.startswith("key:"):
        v = _numbers(spec[4:], "key")
        if len(v) not in (3, 4):
            raise ConfigError(f"key: takes B,G,R or B,G,R,tolerance, got {spec!r}")
        return _invert_if(ColourKey(v[:3], v[3] if len(v) == 4 else 40), invert)
    if not spec.strip():  # Path("") is the current folder: its images were taken for masks
        raise InputError("the mask is empty: give a mask file, folder or video, or a rect:/poly:/key: spec")
    p = Path(spec)
    if p.suffix.lower() == ".json":
        return _invert_if(ShapesMask.from_json(p), invert)
    if p.is_dir() or p.suffix.lower() in VIDEO_EXTS:
        return MaskSequence(p, invert=invert, loop=loop)
    if not p.exists():
        raise InputError(f"mask {spec} does not exist (and is not a rect:/poly:/key: spec)")
    if p.is_file() and p.suffix.lower() not in IMAGE_EXTS and _is_video(p):
        # a .ts or .mpg mask video was "not a readable image"; an animated GIF was its first frame
        # for every frame, without a word
        return MaskSequence(p, invert=invert, loop=loop)
    return StaticMask(p, invert=invert)


def _is_video(path: Path) -> bool:
    """Whether a mask file of no image suffix is a video: not an image by its header (a GIF of
    one frame is an image), and one that OpenCV opens as a video."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return gif_frames(path.read_bytes(), stop=2) > 1
    if declared_size(head) is not None or cv2.haveImageReader(str(path)):  # .pgm, .jp2 ...: an image
        return False  # (FFmpeg opens one as a video of one frame: "ended before frame 1")
    cap = cv2.VideoCapture(str(path))
    try:
        return cap.isOpened()
    finally:
        cap.release()


class InvertedMask(_WarnsOnce):
    """The complement of another source's hole: ``invert`` for the sources that draw their
    mask (shapes, colour keys) and for ready-made ones. The sources of this module yield
    {0, 255} masks, so the complement is a bitwise not."""

    def __init__(self, source: MaskSource):
        self.source = source

    def close(self) -> None:
        close_source(self.source)

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        return self._checked(_inverted(self.source(frame, index)), invert=True)


def close_source(source: object) -> None:
    """Release what a mask source holds (a mask video's capture), through the wrappers of this
    module; a no-op for sources that hold nothing (shapes, arrays, a user's function)."""
    close = getattr(source, "close", None)
    if callable(close):
        close()


def _invert_if(source: MaskSource, invert: bool) -> MaskSource:
    return InvertedMask(source) if invert else source


def as_mask_source(mask: object, invert: bool = False, loop: bool = False) -> MaskSource:
    """A mask source from anything ``Pipeline(mask=...)`` accepts: a ``--mask`` spec string or
    path, an HxW array, a callable ``(frame, index) -> mask or boxes``, or a ready-made source
    (wrapped in :class:`InvertedMask` when ``invert`` is set, so that no kind ignores it).
    ``loop``: the frame source starts again at its end, so a mask video or folder named by a
    spec does too (:class:`MaskSequence`)."""
    if isinstance(mask, (str, Path)):
        return parse_mask_spec(str(mask), invert=invert, loop=loop)
    if isinstance(mask, np.ndarray):
        return StaticMask(mask, invert=invert)
    if isinstance(mask, (StaticMask, MaskSequence, ShapesMask, ColourKey, CallableMask, MaskPostprocess, InvertedMask)):
        return _invert_if(mask, invert)
    if callable(mask):
        return CallableMask(mask, invert)
    raise ConfigError(f"mask must be a spec string, an array or a callable, not {type(mask).__name__}")


def _inverted(mask: np.ndarray) -> np.ndarray:
    """255 - mask for a {0, 255} uint8 mask."""
    return cv2.bitwise_not(mask)
