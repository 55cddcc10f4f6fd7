import numpy as np
import pytest

from edgefill import roi
from edgefill.errors import ConfigError

CFG = roi.RoiConfig(buckets=(256, 384, 512), margin=48, feather=6)


def covered(mask, crops):
    cov = np.zeros(mask.shape, bool)
    for c in crops:
        cov[c.slices] = True
    return cov


def test_no_hole_no_crop():
    assert roi.plan(np.zeros((100, 100), np.uint8), CFG) == []


def test_small_hole_single_smallest_bucket():
    m = np.zeros((1080, 1920), np.uint8)
    m[500:560, 900:980] = 255
    (c,) = roi.plan(m, CFG)
    assert (c.h, c.w, c.bucket_h, c.bucket_w) == (256, 256, 256, 256)
    assert c.y <= 500 - 48 and c.y + c.h >= 560 + 48


def test_crop_stays_inside_image_at_corner():
    m = np.zeros((720, 1280), np.uint8)
    m[0:10, 1270:1280] = 255
    (c,) = roi.plan(m, CFG)
    assert c.y == 0 and c.x + c.w == 1280


@pytest.mark.parametrize("seed", range(5))
def test_every_hole_pixel_is_covered(seed):
    rng = np.random.default_rng(seed)
    m = np.zeros((1080, 1920), np.uint8)
    for _ in range(6):
        y, x = rng.integers(0, 1000), rng.integers(0, 1800)
        m[y : y + rng.integers(5, 700), x : x + rng.integers(5, 900)] = 255
    crops = roi.plan(m, CFG)
    assert covered(m, crops)[m > 0].all()
    for c in crops:
        assert c.bucket_h in CFG.buckets and c.bucket_w in CFG.buckets
        assert c.h <= c.bucket_h and c.w <= c.bucket_w


def test_distant_holes_get_separate_crops():
    m = np.zeros((1080, 1920), np.uint8)
    m[10:40, 10:40] = 255
    m[1000:1040, 1800:1840] = 255
    assert len(roi.plan(m, CFG)) == 2


def test_small_frame_is_padded_not_resized():
    m = np.zeros((120, 200), np.uint8)
    m[50:60, 50:60] = 255
    (c,) = roi.plan(m, CFG)
    assert (c.h, c.w) == (120, 200) and (c.bucket_h, c.bucket_w) == (256, 256)
    img = np.zeros((120, 200, 3), np.uint8)
    sub, sm = roi.extract(img, m, c)
    assert sub.shape == (256, 256, 3) and sm.shape == (256, 256)
    assert np.array_equal(sm[120:239, :200], m[118::-1]) and sm[179:189].any()  # mirrored like the image


def test_a_hole_at_the_edge_is_mirrored_as_hole():
    m = np.zeros((120, 200), np.uint8)
    m[100:, 80:120] = 255  # touches the bottom edge, where the padding starts
    img = np.zeros((120, 200, 3), np.uint8)
    img[m > 0] = (0, 0, 255)  # the object being removed
    (c,) = roi.plan(m, CFG)
    sub, sm = roi.extract(img, m, c)
    known = sm == 0
    assert not (sub[known] == (0, 0, 255)).all(axis=-1).any()  # no copy of it is offered as context


def test_paste_leaves_zero_weight_pixels_identical():
    dst = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
    before = dst.copy()
    hole = np.zeros((256, 256), np.uint8)
    hole[100:120, 100:120] = 255
    w = roi.feather_weights(hole, 4)
    c = roi.Crop(0, 0, 256, 256, 256, 256)
    roi.paste(dst, np.zeros((256, 256, 3), np.uint8), w, c)
    assert (dst[100:120, 100:120] == 0).all()
    changed = np.any(dst != before, axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.min() >= 100 - 4 and ys.max() < 120 + 4 and xs.min() >= 96 and xs.max() < 124


def test_config_validation():
    with pytest.raises(ConfigError):
        roi.RoiConfig(buckets=(256, 200)).validate(64)
    with pytest.raises(ConfigError):
        roi.RoiConfig(buckets=(300,)).validate(64)
    roi.RoiConfig().validate(64)


@pytest.mark.parametrize("kwargs", [{"feather": 6.0}, {"feather": -1}, {"margin": 2.5}, {"margin": True}])
def test_margin_and_feather_are_whole_pixels(kwargs):
    with pytest.raises(ConfigError, match="whole number of pixels"):
        roi.RoiConfig(**kwargs).validate(64)


@pytest.mark.parametrize("cfg", [roi.RoiConfig(buckets=(256.0, 512.0)), roi.RoiConfig(buckets=256),
                                 roi.RoiConfig(buckets="256"), {"buckets": (256,)}])
def test_bad_buckets_and_configs_are_config_errors_through_the_inpainter(cfg):
    """Float buckets passed every check and failed on the first frame (a TypeError from slicing);
    a bare int, a string or a dict were TypeErrors / AttributeErrors at construction."""
    import edgefill

    with pytest.raises(ConfigError, match="buckets|roi_config"):
        with edgefill.Inpainter(backend="opencv-telea", roi_config=cfg) as inp:
            m = np.zeros((300, 700), np.uint8)
            m[10:290, 20:680] = 255
            inp.inpaint(np.zeros((300, 700, 3), np.uint8), m)


def test_whole_numpy_buckets_are_accepted():
    roi.RoiConfig(buckets=(np.int64(256), 512)).validate(64)


@pytest.mark.parametrize("feather", [1, 3, 6, 11])
def test_no_pixel_farther_than_feather_from_the_hole_is_changed(feather):
    """RoiConfig's promise: pixels farther than ``feather`` px from the hole are untouched. The
    elliptical dilation's corners and the 5x5 distance approximation gave pixels up to
    feather + 0.5 px away (sqrt(40) = 6.32 for feather 6) a weight of 0.1-0.2."""
    import edgefill

    from .fakes import SlowBackend

    rng = np.random.default_rng(feather)
    img = np.zeros((96, 96, 3), np.uint8)
    img[..., 2] = 200
    mask = np.zeros((96, 96), np.uint8)
    for y, x in rng.integers(20, 76, (3, 2)):
        mask[y, x] = 255  # single pixels: every direction of the dilation's corners
    mask[40:44, 50:57] = 255
    inp = edgefill.Inpainter(backend=SlowBackend(delay=0), roi_config=roi.RoiConfig(buckets=(128,), margin=8,
                             feather=feather), thin_hole_px=0, wide_ns_weight=0)
    out = inp.inpaint(img, mask)
    import cv2

    dist = cv2.distanceTransform((mask == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    changed = np.any(out != img, axis=2)
    assert changed[dist <= 0.5].all() and dist[changed].max() <= feather + 1e-3
    assert changed[(dist > 0) & (dist <= feather)].any()  # the ring is feathered
