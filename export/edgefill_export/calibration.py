"""Calibration and validation data: real images with generated masks, through a reader.

A reader is any iterable of ``(image, mask)`` pairs (uint8 HxWx3 BGR, uint8 HxW with
255 = hole), like ONNX Runtime's ``CalibrationDataReader``. :class:`ImageFolderPairs`
makes them from a folder of photos: seeded centre/random crops and free-form masks
with hole ratios spread over 10-50%, so calibration sees the activations of real use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from edgefill import maskgen
from edgefill.checks import is_whole
from edgefill.errors import EdgeFillError
from edgefill import imageio
from edgefill.imageio import IMAGE_EXTS, read_image


class CalibrationError(EdgeFillError):
    """No usable calibration or validation images."""


def image_files(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise CalibrationError(f"{folder} is not a folder of images")
    # by plain name, as the shipped INT8 graphs were calibrated; hidden files are not images
    files = sorted(p for p in folder.iterdir() if imageio.is_image_file(p))
    if not files:
        raise CalibrationError(f"{folder} has no images ({', '.join(IMAGE_EXTS)})")
    return files


@dataclass
class ImageFolderPairs:
    """``per_image`` crops of ``size`` from each photo, each with a seeded free-form mask."""

    folder: Path
    size: int = 256
    per_image: int = 2
    seed: int = 0
    limit: int | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        # a negative limit sliced files[:limit] (all but the last images) and 0 meant all of them
        for name, label in (("size", "crop size"), ("per_image", "per_image"), ("limit", "image limit (--calib-images)")):
            value = getattr(self, name)
            if name == "limit" and value is None:
                continue
            if not is_whole(value) or value < 1:
                raise CalibrationError(f"{label} must be a whole number >= 1, got {value!r}")

    def files(self) -> list[Path]:
        files = image_files(self.folder)
        return files[: self.limit] if self.limit else files

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        files = self.files()
        for i, path in enumerate(tqdm(files, desc="calibration images", unit="img", disable=not self.progress)):
            img = read_image(path)
            h, w = img.shape[:2]
            scale = self.size / min(h, w) * 1.5
            if scale < 1:
                img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            h, w = img.shape[:2]
            if min(h, w) < self.size:
                img = cv2.resize(img, (max(w, self.size), max(h, self.size)))
                h, w = img.shape[:2]
            for k in range(self.per_image):
                rng = np.random.default_rng([self.seed, i, k])
                y, x = int(rng.integers(0, h - self.size + 1)), int(rng.integers(0, w - self.size + 1))
                crop = np.ascontiguousarray(img[y : y + self.size, x : x + self.size])
                lo = 0.1 + 0.4 * ((i * self.per_image + k) % 5) / 5
                yield crop, maskgen.free_form(self.size, self.size, rng, lo, lo + 0.1)

    def summary(self) -> dict:
        files = self.files()
        digest = hashlib.sha256()
        for p in files:
            digest.update(p.name.encode())
            digest.update(hashlib.sha256(p.read_bytes()).digest())
        return {"folder": str(self.folder), "images": len(files), "pairs": len(files) * self.per_image,
                "crop": self.size, "seed": self.seed, "masks": "free-form, hole ratio 10-50%",
                "sha256": digest.hexdigest(), "files": [p.name for p in files]}
