"""Temporal stabilisation of the fill in video.

Two mechanisms:

1. **Reuse.** When the mask is unchanged and the scene around the hole is static, the
   previous fill is pasted again and the model is not run at all. Static means both: the mean
   absolute difference of a 1/8-scale colour thumbnail, outside the hole, against the frame
   the current fill was computed on, and the change of the mean colour of the ring of
   :data:`RING` px around the hole (per channel), are at most ``static_threshold`` levels. (A
   grey thumbnail alone missed colour casts, and a shadow or an object next to the hole, whose
   thumbnail cells are left out with the hole's: the old fill was shown against new
   surroundings.)
2. **Blend.** Otherwise, when the scene moved only a little (at most ``move_threshold``),
   the new fill is blended with the previous one inside the hole (an exponential moving
   average with weight ``blend`` on the new fill), so sensor noise does not make the fill
   shimmer. A larger change (camera moved, scene cut) resets the history. A blend that left
   the fill more than ``static_threshold`` levels from the new one on average is not reused:
   the model runs again until the average has settled (a light step followed by a still scene
   showed the half-old fill for as long as the scene stayed still).

Comparisons are always against the key frame, never the previous frame, so a slow drift
(lighting) accumulates and eventually triggers a recompute. The fill is kept as a copy: a sink
that draws on the frame it is handed does not draw on the fill reused later.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .checks import is_finite, is_whole
from .errors import ConfigError, InputError
from .masks import copy_where, dilate, hole_box, validate_image


@dataclass(frozen=True)
class StabilizerConfig:
    static_threshold: float = 2.0
    move_threshold: float = 12.0
    blend: float = 0.5
    feather: int = 0  # the inpainter's seam width (RoiConfig.feather): the region the fill may touch

    def __post_init__(self) -> None:
        for name in ("static_threshold", "move_threshold", "blend"):
            value = getattr(self, name)
            # NaN passed the range checks below and then compared False: every frame was "static"
            if not is_finite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
        if not is_whole(self.feather) or self.feather < 0:
            raise ConfigError(f"feather must be a whole number of pixels >= 0, got {self.feather!r}")
        if not 0 < self.blend <= 1:
            raise ConfigError(f"blend must be in (0, 1], got {self.blend}")
        if self.static_threshold < 0 or self.move_threshold < self.static_threshold:
            raise ConfigError("need 0 <= static_threshold <= move_threshold")


#: width in pixels of the ring around the hole whose mean colour must also be unchanged for a reuse
RING = 16


def _thumb(frame: np.ndarray) -> np.ndarray:
    """The 1/8-scale colour thumbnail (float32, HxWx3) the scene is compared on."""
    size = (max(1, frame.shape[1] // 8), max(1, frame.shape[0] // 8))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def _checked(frame: object, hole: object) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` as :func:`~edgefill.masks.validate_image` accepts it (HxWx3 uint8) and ``hole``
    as an HxW uint8 mask of the same size (a bool mask as 0/255, so the same holes compare equal
    however they are given): a grey frame failed inside OpenCV's colour conversion."""
    frame = validate_image(frame)
    if not isinstance(hole, np.ndarray) or hole.dtype not in (np.uint8, np.bool_) \
            or hole.shape != frame.shape[:2]:
        shape = getattr(hole, "shape", None)
        raise InputError(f"the hole must be an HxW uint8 or bool mask of the frame's size "
                         f"{frame.shape[:2]}, not {getattr(hole, 'dtype', type(hole).__name__)} of shape {shape}")
    return frame, (hole.view(np.uint8) * np.uint8(255) if hole.dtype == np.bool_ else hole)


class TemporalStabilizer:
    """Reuses or blends fills over a video (see the module's docstring). ``frame`` and
    ``output`` are HxWx3 uint8 BGR; ``hole`` is HxW, uint8 (non-zero = hole) or bool."""

    def __init__(self, config: StabilizerConfig | None = None):
        self.config = config or StabilizerConfig()
        self.reset()

    def reset(self) -> None:
        self._key_thumb: np.ndarray | None = None
        self._key_hole: np.ndarray | None = None
        self._valid_thumb: np.ndarray | None = None
        # the key fill: the window around the hole and its ring, the region the fill may touch
        # and the ring in it, and a copy of the output there
        self._box: tuple[slice, slice] | None = None
        self._region: np.ndarray | None = None
        self._ring: np.ndarray | None = None
        self._ring_mean: np.ndarray | None = None
        self._patch: np.ndarray | None = None
        self._settled = False
        self.reused = 0
        self.blended = 0

    def _scene_change(self, frame: np.ndarray, thumb: np.ndarray) -> float:
        """How far ``frame`` (its thumbnail: ``thumb``) is from the key frame: the larger of the
        thumbnail's mean absolute difference outside the hole and the ring's change of mean
        colour (inf: nothing to compare)."""
        if self._key_thumb is None or self._key_hole is None or self._key_hole.shape != frame.shape[:2]:
            return float("inf")  # nothing kept, or a frame of another size
        d = np.abs(thumb - self._key_thumb)[self._valid_thumb]
        if not d.size:
            return float("inf")
        change = float(d.mean())
        if self._ring_mean is not None:
            ring = frame[self._box][self._ring].mean(axis=0)
            change = max(change, float(np.abs(ring - self._ring_mean).max()))
        return change

    def try_reuse(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray | None:
        """The previous fill on this frame, if the mask and the scene are unchanged and the fill
        has settled; else None."""
        frame, hole = _checked(frame, hole)
        if not self._settled or self._key_hole is None or self._key_hole.shape != hole.shape \
                or not np.array_equal(hole, self._key_hole):
            return None
        if self._scene_change(frame, _thumb(frame)) > self.config.static_threshold:
            return None
        out = frame.copy()
        copy_where(out[self._box], self._patch, self._region)
        self.reused += 1
        return out

    def update(self, frame: np.ndarray, hole: np.ndarray, output: np.ndarray) -> np.ndarray:
        """Blend a freshly computed ``output`` with the history; make it the new key."""
        frame, hole = _checked(frame, hole)
        output = validate_image(output)
        if output.shape != frame.shape:
            raise InputError(f"the output must have the frame's shape {frame.shape}, not {output.shape}")
        region = dilate(hole, self.config.feather)
        thumb = _thumb(frame)  # compared here, and kept as the new key's
        change = self._scene_change(frame, thumb)
        settled = True
        if self._patch is not None and change <= self.config.move_threshold:
            # the pixels of the new region that the kept fill covers, in the kept window
            both = self._region & (region[self._box] > 0)
            if both.any():
                a = self.config.blend
                fresh = output[self._box][both].astype(np.float32)
                mixed = np.clip(a * fresh + (1 - a) * self._patch[both].astype(np.float32) + 0.5, 0, 255).astype(np.uint8)
                output = output.copy()
                output[self._box][both] = mixed
                # judged as the scene is, on the mean: the largest difference was never <= 1 on a noisy
                # camera (each fresh fill differs a little), and the model ran on every still frame
                settled = float(np.abs(mixed - fresh).mean()) <= max(self.config.static_threshold, 0.5)
                self.blended += 1
        self._key_thumb = thumb
        # A thumbnail cell is "valid" only if none of its pixels is near the hole.
        touched = cv2.resize((region > 0).astype(np.float32), self._key_thumb.shape[1::-1],
                             interpolation=cv2.INTER_AREA) > 0
        self._valid_thumb = dilate(touched.astype(np.uint8) * 255, 1) == 0
        grown = dilate(region, RING)
        x, y, w, h = hole_box(grown)
        self._box = (slice(y, y + h), slice(x, x + w))
        self._region = region[self._box] > 0
        self._ring = (grown[self._box] > 0) & ~self._region
        self._ring_mean = frame[self._box][self._ring].mean(axis=0) if self._ring.any() else None
        self._patch = output[self._box].copy()  # not the array handed on: a sink may draw on that
        self._key_hole, self._settled = hole.copy(), settled
        return output
