"""Thin holes (scratches, cracks) are filled better by diffusion than by the learned models
(docs/training.md: OpenCV Navier-Stokes beats lite by 1.2 dB on photos and 3.3 dB on metal and
wood textures with scratch masks). :func:`refill_thin` gives those components to OpenCV NS and
keeps the model's fill everywhere else; ``Inpainter(thin_hole_px=...)`` applies it."""

from __future__ import annotations

import cv2
import numpy as np


def thin_components(hole: np.ndarray, max_half_width: float) -> np.ndarray:
    """Boolean mask of the hole pixels that belong to thin structures: those a morphological
    opening with a disk of diameter ``2 * max_half_width + 1`` removes (lines and cracks up to
    about ``2 * max_half_width`` px wide, and small spots). Wide regions, even where thin
    scratches run into them, stay with the model."""
    hole8 = (hole > 0).astype(np.uint8)
    if max_half_width <= 0 or not hole8.any():
        return np.zeros(hole.shape, bool)
    k = 2 * int(round(max_half_width)) + 1
    wide = cv2.morphologyEx(hole8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return (hole8 > 0) & (wide == 0)


def refill_thin(filled: np.ndarray, original: np.ndarray, hole: np.ndarray, max_half_width: float,
                radius: float = 3.0) -> np.ndarray:
    """``filled`` with the thin components of ``hole`` redone by OpenCV Navier-Stokes from the
    known pixels of ``original`` (only the bounding window of the thin parts is processed)."""
    thin = thin_components(hole, max_half_width)
    pts = cv2.findNonZero(thin.astype(np.uint8))
    if pts is None:
        return filled
    x, y, w, h = cv2.boundingRect(pts)
    pad = int(radius) + 2
    y0, x0 = max(0, y - pad), max(0, x - pad)
    y1, x1 = min(hole.shape[0], y + h + pad), min(hole.shape[1], x + w + pad)
    window_hole = ((hole[y0:y1, x0:x1] > 0) * 255).astype(np.uint8)
    ns = cv2.inpaint(np.ascontiguousarray(original[y0:y1, x0:x1]), window_hole, radius, cv2.INPAINT_NS)
    out = filled.copy()
    sel = thin[y0:y1, x0:x1]
    out[y0:y1, x0:x1][sel] = ns[sel]
    return out
