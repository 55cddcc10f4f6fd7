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
``--mask`` value into a source.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Callable  # subscripted at import below: collections.abc's is not on Python 3.8

import cv2
import numpy as np

from . import masks
from .errors import ConfigError, InputError, ShapeError
from .imageio import IMAGE_EXTS, read_mask

MaskSource = Callable[[np.ndarray, int], np.ndarray]
VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")


class StaticMask:
    def __init__(self, mask: np.ndarray | str | Path, invert: bool = False):
        self.mask = read_mask(Path(mask)) if isinstance(mask, (str, Path)) else np.asarray(mask)
        self.invert = invert
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        shape = frame.shape[:2]
        if self._cache is None or self._cache[0] != shape:
            self._cache = (shape, masks.normalize_mask(self.mask, frame.shape, invert=self.invert))
        return self._cache[1]


class MaskSequence:
    """Frame i takes mask i from a video or a sorted folder; running out is an error."""

    def __init__(self, path: str | Path, invert: bool = False):
        self.path, self.invert = Path(path), invert
        self.cap: cv2.VideoCapture | None = None
        self.files: list[Path] = []
        self.next_index = 0
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_EXTS)
            if not self.files:
                raise InputError(f"mask folder {self.path} has no images")
        elif self.path.is_file():
            self.cap = cv2.VideoCapture(str(self.path))
            if not self.cap.isOpened():
                raise InputError(f"cannot open mask video {self.path}")
        else:
            raise InputError(f"mask source {self.path} does not exist")

    def _get(self, index: int) -> np.ndarray:
        if self.files:
            if index >= len(self.files):
                raise InputError(f"mask folder {self.path} has {len(self.files)} masks; frame {index} has none")
            return read_mask(self.files[index])
        if index != self.next_index:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, m = self.cap.read()
        if not ok:
            raise InputError(f"mask video {self.path} ended before frame {index}")
        self.next_index = index + 1
        return cv2.cvtColor(m, cv2.COLOR_BGR2GRAY) if m.ndim == 3 else m

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        return masks.normalize_mask(self._get(index), frame.shape, invert=self.invert)


class ShapesMask:
    """Rectangles ``(x, y, w, h)`` and polygons ``[(x, y), ...]`` in frame pixels."""

    def __init__(self, rects: Sequence[Sequence[int]] = (), polygons: Sequence[Sequence[Sequence[int]]] = ()):
        self.rects = [tuple(int(v) for v in r) for r in rects]
        self.polygons = [[(int(x), int(y)) for x, y in p] for p in polygons]
        if any(len(r) != 4 for r in self.rects):
            raise ConfigError("each rectangle needs 4 numbers: x, y, w, h")
        if not self.rects and not self.polygons:
            raise ConfigError("no rectangles or polygons given")
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None

    @classmethod
    def from_json(cls, path: str | Path) -> ShapesMask:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read mask shapes from {path}: {exc}") from exc
        if not isinstance(data, dict) or not set(data) <= {"rects", "polygons"}:
            raise InputError(f"{path}: expected an object with 'rects' and/or 'polygons'")
        return cls(data.get("rects", []), data.get("polygons", []))

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        shape = frame.shape[:2]
        if self._cache is None or self._cache[0] != shape:
            m = masks.from_rects(shape, self.rects) if self.rects else np.zeros(shape, np.uint8)
            if self.polygons:
                m = np.maximum(m, masks.from_polygons(shape, self.polygons))
            self._cache = (shape, m)
        return self._cache[1]


class ColourKey:
    """Mask the pixels within ``tolerance`` (max channel difference) of a BGR colour."""

    def __init__(self, bgr: Sequence[int], tolerance: int = 40):
        if len(bgr) != 3 or not all(0 <= int(c) <= 255 for c in bgr):
            raise ConfigError(f"a colour key needs three values 0..255 (B, G, R), got {bgr}")
        self.lo = np.array([max(0, int(c) - tolerance) for c in bgr], np.uint8)
        self.hi = np.array([min(255, int(c) + tolerance) for c in bgr], np.uint8)

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        return cv2.inRange(frame, self.lo, self.hi)


class CallableMask:
    """Wrap a user function returning a mask (HxW) or boxes (a list of (x, y, w, h))."""

    def __init__(self, fn: Callable[[np.ndarray, int], object], invert: bool = False):
        self.fn, self.invert = fn, invert

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        out = self.fn(frame, index)
        if isinstance(out, np.ndarray) and out.ndim >= 2 and out.shape[:2] == frame.shape[:2]:
            return masks.normalize_mask(out, frame.shape, invert=self.invert, warn=False)
        if isinstance(out, np.ndarray) and out.ndim == 2 and out.shape[1] == 4:
            out = out.tolist()
        if isinstance(out, (list, tuple)):
            return masks.from_rects(frame.shape, [tuple(int(v) for v in b) for b in out]) if out else \
                np.zeros(frame.shape[:2], np.uint8)
        if isinstance(out, np.ndarray):
            raise ShapeError("the mask returned by the callable", out.shape[:2], frame.shape[:2])
        raise InputError(f"the mask callable returned {type(out).__name__}; expected an HxW mask or a list of boxes")


class MaskPostprocess:
    """Dilation and hysteresis around any mask source."""

    def __init__(self, source: MaskSource, dilate: int = 0, hold: int = 0):
        if dilate < 0 or hold < 0:
            raise ConfigError("dilate and hold must be >= 0")
        self.source, self.dilate, self.hold = source, dilate, hold
        self._age: np.ndarray | None = None  # frames since each pixel was last masked

    def __call__(self, frame: np.ndarray, index: int) -> np.ndarray:
        m = self.source(frame, index)
        if self.hold:
            if self._age is None or self._age.shape != m.shape:
                self._age = np.full(m.shape, 255, np.uint8)
            self._age = np.where(m > 0, 0, np.minimum(self._age.astype(np.uint16) + 1, 255)).astype(np.uint8)
            m = np.where(self._age <= self.hold, 255, 0).astype(np.uint8)
        return masks.dilate(m, self.dilate)


def _numbers(text: str, what: str) -> list[int]:
    try:
        return [int(float(v)) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError as exc:
        raise ConfigError(f"bad {what} spec {text!r}: {exc}") from exc


def parse_mask_spec(spec: str, invert: bool = False) -> MaskSource:
    """The CLI's ``--mask`` value:

    - ``mask.png`` — a static mask; ``masks/`` or ``mask.mp4`` — one mask per frame;
    - ``shapes.json`` — ``{"rects": [[x, y, w, h], ...], "polygons": [[[x, y], ...], ...]}``;
    - ``rect:x,y,w,h[;x,y,w,h...]`` — rectangles;
    - ``poly:x1,y1,x2,y2,x3,y3[;...]`` — polygons;
    - ``key:B,G,R[,tolerance]`` — a colour key.
    """
    if spec.startswith("rect:"):
        rects = [_numbers(part, "rect") for part in spec[5:].split(";") if part.strip()]
        return ShapesMask(rects=rects)
    if spec.startswith("poly:"):
        polys = []
        for part in spec[5:].split(";"):
            v = _numbers(part, "poly")
            if len(v) < 6 or len(v) % 2:
                raise ConfigError(f"a polygon needs at least 3 x,y pairs, got {part!r}")
            polys.append(list(zip(v[::2], v[1::2])))
        return ShapesMask(polygons=polys)
    if spec.startswith("key:"):
        v = _numbers(spec[4:], "key")
        if len(v) not in (3, 4):
            raise ConfigError(f"key: takes B,G,R or B,G,R,tolerance, got {spec!r}")
        return ColourKey(v[:3], v[3] if len(v) == 4 else 40)
    p = Path(spec)
    if p.suffix.lower() == ".json":
        return ShapesMask.from_json(p)
    if p.is_dir() or p.suffix.lower() in VIDEO_EXTS:
        return MaskSequence(p, invert=invert)
    if not p.exists():
        raise InputError(f"mask {spec} does not exist (and is not a rect:/poly:/key: spec)")
    return StaticMask(p, invert=invert)
