import numpy as np
import pytest

from edgefill.quality import BUCKETS, CLASSICAL, gains
from edgefill.quality_stats import difference_ci, gain_ci


def scores(seed, n_images=30, per_bucket=2, offsets=None, noise=1.0):
    """Hole PSNR per (image, bucket, mask): an image-level level shared by every method (images
    differ far more than methods do), plus each method's offset and independent noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(25, 3, size=(n_images, 1, 1)) - np.arange(len(BUCKETS))[None, :, None]
    offsets = offsets or {}
    out = {}
    for m in ("a", "b", *CLASSICAL):
        out[m] = base + offsets.get(m, 0.0) + rng.normal(0, noise, size=(n_images, len(BUCKETS), per_bucket))
    return out


def as_table(s):
    return [{"bucket": f"{int(lo * 100)}-{int(hi * 100)}%",
             **{m: {"psnr": float(v[:, b].mean()), "ssim": 0.0} for m, v in s.items()}}
            for b, (lo, hi) in enumerate(BUCKETS)]


def test_the_point_estimate_is_the_benchmarks_own_gain():
    s = scores(1, offsets={"a": 0.7, "opencv-ns": 0.2})
    point, lo, hi = gain_ci(s, "a", CLASSICAL)
    assert point == pytest.approx(gains(as_table(s), ["a"])["a"]["mean_psnr_gain_db"])
    assert lo < point < hi


def test_a_constant_lead_has_a_zero_width_interval():
    s = scores(2)
    s["opencv-telea"] = s["opencv-ns"] - 1.0  # NS the better classical method everywhere
    s["a"] = s["opencv-ns"] + 1.5  # 1.5 dB above it in every case
    point, lo, hi = gain_ci(s, "a", CLASSICAL)
    assert point == pytest.approx(1.5) and lo == pytest.approx(1.5) and hi == pytest.approx(1.5)


def test_the_interval_narrows_with_more_images_and_is_reproducible():
    widths = []
    for n in (10, 160):
        _, lo, hi = gain_ci(scores(3, n_images=n, offsets={"a": 0.5}), "a", CLASSICAL)
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 2
    s = scores(4)
    assert gain_ci(s, "a", CLASSICAL, seed=7) == gain_ci(s, "a", CLASSICAL, seed=7)


def test_the_paired_difference_separates_a_real_lead_from_noise():
    same = scores(5, offsets={"a": 0.3, "b": 0.3})
    point, lo, hi = difference_ci(same, "a", "b")
    assert lo < 0 < hi and abs(point) < 0.3
    ahead = scores(6, offsets={"a": 0.6, "b": 0.3})
    point, lo, hi = difference_ci(ahead, "a", "b")
    assert 0 < lo < point < hi and point == pytest.approx(0.3, abs=0.15)


def test_pairing_removes_the_spread_between_images():
    """Resampling the images moves both models together; an unpaired interval would be as wide
    as the 3 dB spread between images, the paired one is set by the 1 dB per-case noise."""
    s = scores(7, offsets={"a": 0.5})
    _, lo, hi = difference_ci(s, "a", "b")
    # unpaired: 2 x 1.96 x sqrt(2) x 3 / sqrt(30) = 3.0 dB wide; paired: ~0.35 dB
    assert hi - lo < 0.75


def test_bad_shapes_are_refused():
    s = scores(8)
    s["b"] = s["b"][:5]
    with pytest.raises(ValueError, match="same cases"):
        difference_ci(s, "a", "b")
    with pytest.raises(ValueError, match="images, buckets, masks"):
        gain_ci({"a": np.zeros((3, 5)), **{c: np.zeros((3, 5)) for c in CLASSICAL}}, "a", CLASSICAL)


def test_empty_slots_and_buckets_are_left_out():
    """With the user's own masks a bucket holds as many masks as fall in it (NaN slots) or none
    (an all-NaN bucket): the figures are those of the cases that exist."""
    s = scores(5, per_bucket=2, offsets={"a": 0.6, "b": 0.2})
    holed = {m: v.copy() for m, v in s.items()}
    for v in holed.values():
        v[:, 2, :] = np.nan  # 20-30%: no mask
        v[:, 3, 1] = np.nan  # 30-40%: one mask
    present = ((1, slice(None)), (3, slice(0, 1)), (4, slice(None)))  # the 10-50% cases left
    point, lo, hi = gain_ci(holed, "a", CLASSICAL, n_boot=300, seed=3)
    expect = np.mean([s["a"][:, b, ks].mean() - max(s[c][:, b, ks].mean() for c in CLASSICAL) for b, ks in present])
    assert point == pytest.approx(expect) and lo < point < hi
    assert np.isfinite([lo, hi]).all()
    d = difference_ci(holed, "a", "b", n_boot=300, seed=3)
    assert np.isfinite(d).all()
    assert d[0] == pytest.approx(np.mean([(s["a"][:, b, ks] - s["b"][:, b, ks]).mean() for b, ks in present]))


def test_no_case_in_the_gain_buckets_gives_nan_not_an_error():
    s = scores(6)
    for v in s.values():
        v[:, 1:] = np.nan
    assert all(np.isnan(x) for x in gain_ci(s, "a", CLASSICAL, n_boot=50))
