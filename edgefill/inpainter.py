"""The high-level API: ``Inpainter(model="lite", backend="auto").inpaint(image, mask)``."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from . import roi
from .backends import Backend, backend_class, create_backend
from .checks import is_finite
from .errors import ConfigError, InputError
from .grey import is_grey, make_grey_in_place, single_channel
from .imageio import stored_array
from .masks import dilate, hole_box, normalize_mask, validate_image
from .models import DEFAULT_MODEL
from .refill_settings import RefillSettings, requested_settings
from .thin import DEFAULT_THIN_HOLE_PX

log = logging.getLogger(__name__)


@dataclass
class InpaintTiming:
    """Seconds spent in the last :meth:`Inpainter.inpaint` call."""

    total: float = 0.0
    infer: float = 0.0  # in the backend's infer() (with any wait for another thread's inference on it)
    crops: int = 0
    post: float = 0.0  # pasting fills back, the NS mix, the thin-hole refill (OpenCV NS), a grey frame's grey fill

    @property
    def pre(self) -> float:
        """Validation, mask normalisation, ROI planning and crop extraction."""
        return max(0.0, self.total - self.infer - self.post)


class Inpainter:
    """Fill holes in BGR or grey images (8 or 16 bits) with a learned model or a classical method.

    Parameters
    ----------
    model:
        A shipped model name (``"lite"``, ``"nano"``, ``"lite-surface"``, or an INT8 graph such as
        ``"lite.int8"``; :func:`edgefill.shipped_models` lists them), a path to an edgefill
        ``.onnx``, or an export bundle folder.
        Defaults to ``"lite"`` for learned backends. Classical backends take no model.
    backend:
        ``"auto"`` (best available, logged), a name from :func:`edgefill.list_backends`, or a
        :class:`~edgefill.backends.Backend` instance.
    roi_config:
        Crop buckets, context margin and seam feathering (:class:`edgefill.roi.RoiConfig`).
        Not given, or given with ``buckets=None``: the backend's own buckets (a TensorRT
        engine's optimisation profiles), else 256/384/512. Buckets larger than the backend
        takes are refused with a :class:`~edgefill.errors.ConfigError`.
    thin_hole_px:
        Hole components at most this many pixels from their border everywhere (scratches,
        cracks: half-width) are filled by OpenCV Navier-Stokes instead of the model, which is
        measured to be better for them (:mod:`edgefill.thin`; +0.5 dB for lite on scratched
        photos, no change on wide holes). 5 by default (``edgefill.thin.DEFAULT_THIN_HOLE_PX``);
        0 turns it off. Its time is part of ``last_timing.post``: a few ms at 512x512 unless
        the hole is mostly thin.
    thin_radius:
        OpenCV NS neighbourhood radius of that refill. None (default): the one the model records
        (:mod:`edgefill.refill_settings`), else ``edgefill.thin.NS_RADIUS`` (2, tuned on
        validation photos and textures). Larger radii suit stationary textures and cost more
        (about r squared).
    thin_ns_weight:
        Share of NS in each thin pixel, the rest being the model's own fill there (1: NS alone).
        None (default): the share the model records (lite 0.5), else 0.7
        (``edgefill.thin.DEFAULT_NS_WEIGHT``): the mix beats either alone by 0.2-0.3 dB on
        validation scratches, at no extra cost.
    wide_ns_weight, wide_ns_scale, wide_ns_max_std:
        Share of an OpenCV NS fill in the hole pixels, the rest being the model's fill
        (:mod:`edgefill.wide_mix`; applied before the thin-hole refill), the factor NS's
        resolution is divided by (1: full), and the gate: the share falls from full where the
        grey-level std of the known pixels within 8 px of the hole is ``wide_ns_max_std / 2`` to
        none at ``wide_ns_max_std`` (128: every hole mixed). None (default): what the model
        records, else 0.5, 4 and 25: smooth surroundings (surfaces) get the mix, which gained
        0.06-0.23 dB there on validation textures, and most photo holes do not, where it
        costs detail. Weight 0 turns it off. Its time is part of ``last_timing.post``. The
        settings in use are in :attr:`refill` (an :class:`edgefill.RefillSettings`).
    grey_fill:
        True (default): a grey image (one channel, or BGR with B = G = R) gets a grey fill
        (:mod:`edgefill.grey`). False only to measure the other steps alone (``edgefill bench
        quality --feather``).
    **backend_options:
        Passed to the backend (e.g. ``threads=2``, ``providers="CPUExecutionProvider"``).

    An Inpainter may be shared by threads (one per camera, say): each ``inpaint`` call keeps
    its own state, and the backend runs one inference at a time (:class:`~edgefill.backends.Backend`);
    :attr:`last_timing` is that of whichever call finished last.

    The mask convention is **255 (or 1) = hole to fill, 0 = keep**; pass
    ``invert=True`` to :meth:`inpaint` for masks that mark the pixels to keep.
    Pixels farther than ``roi_config.feather`` pixels from the hole are returned
    bit-identical to the input.
    """

    def __init__(self, model: str | Path | None = None, backend: str | Backend = "auto",
                 roi_config: roi.RoiConfig | None = None, thin_hole_px: float = DEFAULT_THIN_HOLE_PX, thin_radius: float | None = None,
                 thin_ns_weight: float | None = None, wide_ns_weight: float | None = None,
                 wide_ns_scale: int | None = None, wide_ns_max_std: float | None = None, grey_fill: bool = True,
                 **backend_options: object):
        # the caller's numbers first: a bad one must not cost a model load (or a TensorRT build)
        if not (is_finite(thin_hole_px) and thin_hole_px >= 0):
            raise ConfigError(f"thin_hole_px must be a finite number >= 0, got {thin_hole_px!r}")
        try:
            requested = requested_settings(thin_radius, thin_ns_weight, wide_ns_weight, wide_ns_scale, wide_ns_max_std)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if isinstance(backend, Backend):  # a ready backend instance (custom or pre-configured)
            if model is not None or backend_options:
                raise ConfigError("pass model and options to the backend itself, not with a backend instance")
            self.backend = backend
        else:
            if backend != "auto":
                cls = backend_class(backend)  # raises UnknownBackendError early
                if model is not None and not cls.uses_model:
                    raise ConfigError(f"backend {backend!r} is classical and takes no model (got model={model!r})")
            self.backend = create_backend(backend, model=model if model is not None else DEFAULT_MODEL,
                                          **backend_options)
        if model is not None and not self.backend.uses_model:
            log.warning("backend %r does not use a model; %r is ignored", self.backend.name, model)
        given = list(requested.to_dict())
        given += ["thin_hole_px"] if thin_hole_px != DEFAULT_THIN_HOLE_PX else []
        if given and not self.backend.uses_model:  # they refine a model's fill: were ignored without a word
            log.warning("backend %r is classical: the refinement of a model's fill (%s) does not apply and is "
                        "ignored", self.backend.name, ", ".join(given))
        self.thin_hole_px = float(thin_hole_px)
        #: a grey image's fill made grey (:mod:`edgefill.grey`); ``grey_fill=False`` only where a
        #: measurement needs one step alone (``bench quality --feather``: the seam ring without it)
        self._grey_fill = bool(grey_fill)
        # what the caller asks for, else what the model records, else the runtime's defaults
        recorded = self.backend.refill if self.backend.uses_model else RefillSettings()
        self.refill = recorded.updated(requested).resolved()
        taken = {k: v for k, v in recorded.to_dict().items() if getattr(requested, k) is None}
        if taken:
            log.info("refinement as the model records: %s", ", ".join(f"{k} {v:g}" for k, v in taken.items()))
        info = self.backend.input_info
        try:
            self.roi_config = roi.resolve(roi_config, info.buckets)
            self.roi_config.validate(info.multiple, info.max_size)
        except ConfigError:
            if not isinstance(backend, Backend):  # ours: do not leave it loaded
                self.backend.close()
            raise
        # a classical backend takes any crop: holes are cropped as they are (roi.plan's exact), with
        # at least the margin it reads (--margin 0 handed OpenCV crops of hole alone: left unfilled)
        self._exact_crops = not self.backend.uses_model and info.multiple == 1 and info.max_size is None
        self._plan_config = self.roi_config
        if self._exact_crops and info.context > self.roi_config.margin:
            self._plan_config = replace(self.roi_config, margin=info.context)
        self.last_timing = InpaintTiming()

    @property
    def thin_radius(self) -> float:
        """The thin-hole refill's NS radius in use (``refill.thin_radius``)."""
        return self.refill.thin_radius

    @property
    def thin_ns_weight(self) -> float:
        """The thin-hole refill's share of NS in use (``refill.thin_ns_weight``)."""
        return self.refill.thin_ns_weight

    @property
    def wide_ns_weight(self) -> float:
        """The whole-hole NS mix's share in use (``refill.wide_ns_weight``; 0: off)."""
        return self.refill.wide_ns_weight

    @property
    def wide_ns_scale(self) -> int:
        """The whole-hole NS mix's resolution divisor in use (``refill.wide_ns_scale``)."""
        return self.refill.wide_ns_scale

    @property
    def wide_ns_max_std(self) -> float:
        """The whole-hole NS mix's gate in use (``refill.wide_ns_max_std``)."""
        return self.refill.wide_ns_max_std

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def inpaint(self, image: np.ndarray, mask: np.ndarray, invert: bool = False) -> np.ndarray:
        """Return a copy of ``image`` with the hole filled. ``image``: HxWx3 BGR, or a
        single-channel HxW / HxWx1 grey image (a mono camera's), returned in its own shape;
        uint8, or uint16 (a 10-, 12- or 16-bit camera's samples: see below);
        ``mask``: HxW uint8/bool, 255 = fill (see module docs for accepted forms). A grey image
        (single-channel, or BGR with B = G = R) gets a grey fill (:mod:`edgefill.grey`).

        A uint16 image is filled as ``edgefill inpaint`` fills a 16-bit file: the model sees it
        divided by :func:`edgefill.imageio.image_scale` (the bits the largest sample outside the
        hole uses, so a 12-bit image spans 0-255 as an 8-bit one does, whatever is being
        removed), its fill is multiplied back and rounded, and every pixel it did not repaint
        keeps all of its bits (each image is scaled by its own samples; the result is at the
        input's scale)."""
        t0 = time.perf_counter()
        mono_shape = image.shape if single_channel(image) else None
        if mono_shape is not None:
            if image.size == 0:
                raise InputError(f"the image is empty (shape {mono_shape})")
            image = image.reshape(mono_shape[:2])
        stored = hole = None
        if isinstance(image, np.ndarray) and image.dtype == np.uint16:
            wide = image if mono_shape is not None else validate_image(image, (np.uint16,))
            hole = normalize_mask(mask, wide.shape, invert=invert)
            stored = stored_array(wide, hole=hole)  # scaled over the pixels it keeps, not what it removes
            image = stored.bgr
        elif mono_shape is not None:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        image = validate_image(image, (np.uint8, np.uint16))  # uint8 by now; the error names both
        if hole is None:
            hole = normalize_mask(mask, image.shape, invert=invert)
        out, window, infer, crops, post = self._fill(image, hole, grey=mono_shape is not None)
        if stored is not None:
            t_restore = time.perf_counter()
            out = stored.restore(out, hole, box=window)  # grey (HxW) or BGR, uint16
            post += time.perf_counter() - t_restore
        elif mono_shape is not None:
            out = np.ascontiguousarray(out[..., 0])
        self.last_timing = InpaintTiming(time.perf_counter() - t0, infer, crops, post)
        return out if mono_shape is None else out.reshape(mono_shape)

    def _fill(self, image: np.ndarray, hole: np.ndarray, grey: bool
              ) -> tuple[np.ndarray, tuple[int, int, int, int], float, int, float]:
        """A filled copy of the BGR uint8 ``image`` (``hole``: HxW uint8, 255 = fill; ``grey``:
        the image was single-channel), the window ``(x, y, w, h)`` outside which it equals
        ``image``, the seconds spent in inference, the crops run and the seconds spent after
        inference (:class:`InpaintTiming`)."""
        out = image.copy()
        x, y, w, h = hole_box(hole)
        if w == 0:
            return out, (0, 0, 0, 0), 0.0, 0, 0.0
        cfg = self.roi_config
        # Work on the hole's bounding window only: the model also repaints a ring of `feather`
        # px around the hole, blended by distance, so the seam is smooth.
        pad = cfg.feather + 1
        y0, x0 = max(0, y - pad), max(0, x - pad)
        y1, x1 = min(hole.shape[0], y + h + pad), min(hole.shape[1], x + w + pad)
        win_hole = hole[y0:y1, x0:x1]
        win_weights = roi.feather_weights(win_hole, cfg.feather)
        remaining = np.zeros_like(hole)
        remaining[y0:y1, x0:x1] = dilate(win_hole, cfg.feather)
        infer = post = 0.0
        crops = roi.plan(remaining, self._plan_config, exact=self._exact_crops)
        for crop in crops:
            sub_img, sub_mask = roi.extract(out, remaining, crop)
            if not sub_mask.any():
                continue
            t_infer = time.perf_counter()  # here, not backend.last_inference_time: another thread may share it
            filled = self.backend.infer(sub_img, sub_mask)
            infer += time.perf_counter() - t_infer
            weights = np.zeros((crop.h, crop.w), np.float32)
            # the part of the crop that overlaps the hole's window
            oy0, ox0 = max(crop.y, y0), max(crop.x, x0)
            oy1, ox1 = min(crop.y + crop.h, y1), min(crop.x + crop.w, x1)
            if oy1 > oy0 and ox1 > ox0:
                weights[oy0 - crop.y : oy1 - crop.y, ox0 - crop.x : ox1 - crop.x] = \
                    win_weights[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0]
            t_paste = time.perf_counter()
            todo = sub_mask[: crop.h, : crop.w] > 0
            roi.paste(out, filled, np.where(todo, weights, 0.0), crop)
            sy, sx = crop.slices
            remaining[sy, sx][todo] = 0
            post += time.perf_counter() - t_paste
        if self.backend.uses_model and (self.wide_ns_weight or self.thin_hole_px):
            t_refine = time.perf_counter()
            self.refill.refine_in_place(out, image, hole, (x, y, w, h), self.thin_hole_px)
            post += time.perf_counter() - t_refine
        window = (x0, y0, x1 - x0, y1 - y0)  # every pixel the fill changed
        if self._grey_fill and (grey or is_grey(image, window, hole)):
            t_grey = time.perf_counter()
            make_grey_in_place(out, window)
            post += time.perf_counter() - t_grey
        return out, window, infer, len(crops), post

    def close(self) -> None:
        """Close the backend, also one passed in as an instance: the Inpainter takes it over, so
        share an Inpainter, not one backend between Inpainters. (A :class:`~edgefill.Pipeline`
        leaves an Inpainter passed to it open.)"""
        self.backend.close()

    def __enter__(self) -> "Inpainter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
