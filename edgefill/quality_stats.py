"""Confidence intervals for ``edgefill bench quality``: how sure is a mean gain in dB?

The benchmark's headline figure for a model is its mean hole-PSNR gain over the better of
OpenCV Telea and NS, averaged over the 10-50% buckets. With a few dozen images a difference of
a few hundredths of a dB between two models can be noise. These functions put a percentile
bootstrap interval on that figure, and on the difference between two models, by resampling
*images* with replacement (masks drawn on the same image are not independent draws, so the
image is the unit of resampling). numpy only.

Scores come in as ``{method: array (n_images, n_buckets, per_bucket)}`` of hole PSNR in dB,
the buckets in :data:`edgefill.quality.BUCKETS` order. Slots that hold no case are NaN: with a
folder of the user's own masks (``--masks``) each bucket holds as many masks as fall in it, the
same ones on every image, and a bucket may hold none; such a bucket is left out of the means.

An interval needs two images or more: resampling one image gives it back every time, an
interval of width 0 that is no certainty, so with one image the bounds are NaN (no interval),
as where no bucket of the range holds a case. ``n_boot`` must be a whole number >= 1 and
``level`` between 0 and 1 (0.95, not 95): a :class:`~edgefill.errors.ConfigError` otherwise.
"""

from __future__ import annotations

import warnings

import numpy as np

from .checks import is_finite, is_whole
from .errors import ConfigError

#: buckets that count for the headline gain: 10-20 ... 40-50% (index 0 is 0-10%)
GAIN_BUCKETS = slice(1, None)


def _per_image(scores: np.ndarray) -> np.ndarray:
    """(n_images, n_buckets): each image's mean over its masks in each bucket (NaN where a
    bucket holds no mask)."""
    if scores.ndim != 3:
        raise ValueError(f"scores must be (images, buckets, masks), got shape {scores.shape}")
    return _nanmean(scores, axis=2)


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmean`` without its warning for all-NaN slices (an empty bucket stays NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def _boot_means(per_image: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(n_boot, n_buckets) bucket means over each resample of images."""
    return per_image[idx].mean(axis=1)


def _check_options(n_boot: object, level: object) -> None:
    if not (is_whole(n_boot) and n_boot >= 1):
        raise ConfigError(f"n_boot must be a whole number of resamples >= 1, got {n_boot!r}")
    if not (is_finite(level) and 0 < level < 1):
        raise ConfigError(f"level must be a fraction between 0 and 1 (0.95 for a 95% interval), got {level!r}")


def _resamples(n_images: int, n_boot: int, seed: int) -> np.ndarray:
    if n_images < 1:
        raise ValueError("no images to resample")
    return np.random.default_rng(seed).integers(0, n_images, size=(n_boot, n_images))


def _interval(samples: np.ndarray, level: float, n_images: int) -> tuple[float, float]:
    # no bucket of the range holds a case, or one image (every resample is that image: width 0)
    if np.isnan(samples).all() or n_images < 2:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)


def gain_ci(scores: dict[str, np.ndarray], model: str, classical: tuple[str, ...],
            n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(mean gain, low, high): ``model``'s mean over the 10-50% buckets of its bucket mean PSNR
    minus the best classical bucket mean, with a ``level`` bootstrap interval over images. The
    point estimate is the benchmark's own figure (:func:`edgefill.quality.gains`)."""
    _check_options(n_boot, level)
    per = {m: _per_image(scores[m]) for m in (model, *classical)}

    def stat(means: dict[str, np.ndarray]) -> np.ndarray:
        best = np.max(np.stack([means[c] for c in classical]), axis=0)
        return _nanmean((means[model] - best)[..., GAIN_BUCKETS], axis=-1)

    point = float(stat({m: p.mean(axis=0) for m, p in per.items()}))
    idx = _resamples(per[model].shape[0], n_boot, seed)
    lo, hi = _interval(stat({m: _boot_means(p, idx) for m, p in per.items()}), level, per[model].shape[0])
    return point, lo, hi


def difference_ci(scores: dict[str, np.ndarray], a: str, b: str, n_boot: int = 2000, seed: int = 0,
                  level: float = 0.95, buckets: slice = GAIN_BUCKETS) -> tuple[float, float, float]:
    """(mean, low, high) of model ``a``'s headline gain minus model ``b``'s, paired: the same
    resampled images for both. The classical baseline cancels, so this is the mean over the
    10-50% buckets (``buckets`` of the scores' second axis) of the difference of their bucket
    means."""
    _check_options(n_boot, level)
    pa, pb = _per_image(scores[a]), _per_image(scores[b])
    if pa.shape != pb.shape:
        raise ValueError(f"{a} and {b} were not scored on the same cases")
    diff = pa - pb
    point = float(_nanmean(diff.mean(axis=0)[buckets], axis=0))
    idx = _resamples(diff.shape[0], n_boot, seed)
    lo, hi = _interval(_nanmean(_boot_means(diff, idx)[:, buckets], axis=1), level, diff.shape[0])
    return point, lo, hi
