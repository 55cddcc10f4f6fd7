import numpy as np
import pytest

from edgefill.errors import ConfigError, InputError
from edgefill.stabilize import StabilizerConfig, TemporalStabilizer

from .conftest import natural_image


def _hole():
    h = np.zeros((120, 160), np.uint8)
    h[40:80, 60:100] = 255
    return h


def _noisy_fill(frame, hole, rng):
    out = frame.copy()
    out[hole > 0] = np.clip(120 + rng.normal(0, 15, (np.count_nonzero(hole), 3)), 0, 255).astype(np.uint8)
    return out


def test_static_scene_reuses_previous_fill():
    st = TemporalStabilizer()
    frame, hole = natural_image(120, 160), _hole()
    fill = _noisy_fill(frame, hole, np.random.default_rng(0))
    assert st.try_reuse(frame, hole) is None
    st.update(frame, hole, fill)
    again = st.try_reuse(frame, hole)
    assert again is not None and np.array_equal(again[hole > 0], fill[hole > 0]) and st.reused == 1


def test_changed_mask_or_scene_is_recomputed():
    st = TemporalStabilizer()
    frame, hole = natural_image(120, 160), _hole()
    st.update(frame, hole, frame)
    other = hole.copy()
    other[0, 0] = 255
    assert st.try_reuse(frame, other) is None
    brighter = np.clip(frame.astype(int) + 30, 0, 255).astype(np.uint8)  # lighting changed
    assert st.try_reuse(brighter, hole) is None


def test_blending_reduces_temporal_noise():
    rng = np.random.default_rng(1)
    base, hole = natural_image(120, 160), _hole()

    def run(stabilise):
        st = TemporalStabilizer(StabilizerConfig(static_threshold=0.0, blend=0.3)) if stabilise else None
        outs = []
        for _ in range(30):
            frame = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)  # sensor noise
            out = _noisy_fill(frame, hole, rng)
            outs.append(st.update(frame, hole, out) if st else out)
        return np.stack(outs)[:, hole > 0].astype(float).std(axis=0).mean()

    assert run(True) < 0.6 * run(False)


def test_config_validation():
    with pytest.raises(ConfigError):
        StabilizerConfig(blend=0)
    with pytest.raises(ConfigError):
        StabilizerConfig(static_threshold=5, move_threshold=1)


@pytest.mark.parametrize("kwargs", [
    {"static_threshold": float("nan")}, {"move_threshold": float("nan")}, {"static_threshold": float("inf")},
    {"static_threshold": float("nan"), "move_threshold": float("nan")}, {"blend": "0.5"}, {"static_threshold": None},
    {"feather": -3}, {"feather": 2.5}, {"feather": True},
])
def test_config_rejects_non_finite_and_mistyped_settings(kwargs):
    """NaN thresholds were accepted, and a NaN static_threshold reused the old fill after a scene
    cut (NaN compares False); a string raised TypeError; feather 2.5 failed on the first frame."""
    with pytest.raises(ConfigError):
        StabilizerConfig(**kwargs)


def test_a_scene_cut_is_never_reused():
    st = TemporalStabilizer()
    frame, hole = natural_image(120, 160), _hole()
    st.update(frame, hole, frame)
    assert st.try_reuse(255 - frame, hole) is None


def test_edge_cases_of_the_mask_and_the_frame_size():
    """Checked in review (they held on the code as it was): an empty hole, a hole over the whole
    frame (nothing left to compare: never reused, never blended), a frame whose size changes
    (no reuse, no blend, no crash), a frame smaller than one thumbnail cell, and reset()."""
    frame, hole = natural_image(120, 160), _hole()
    st = TemporalStabilizer(StabilizerConfig(feather=4))
    empty = np.zeros_like(hole)
    assert np.array_equal(st.update(frame, empty, frame), frame)
    assert np.array_equal(st.try_reuse(frame, empty), frame)
    full = np.full_like(hole, 255)
    st.update(frame, full, 255 - frame)
    assert st.try_reuse(frame, full) is None
    assert np.array_equal(st.update(frame, full, frame), frame) and st.blended == 0
    big, big_hole = natural_image(123, 165), np.zeros((123, 165), np.uint8)
    big_hole[40:80, 60:100] = 255
    st.update(frame, hole, frame)
    assert st.try_reuse(big, big_hole) is None
    assert np.array_equal(st.update(big, big_hole, big), big) and st.blended == 0
    tiny, tiny_hole = frame[:5, :5].copy(), np.zeros((5, 5), np.uint8)
    tiny_hole[2, 2] = 255
    st.update(tiny, tiny_hole, tiny)
    assert st.try_reuse(tiny, tiny_hole) is None  # the one thumbnail cell touches the hole
    st.reset()
    assert st.try_reuse(frame, hole) is None and st.reused == st.blended == 0


def test_a_bool_hole_is_the_same_hole_as_its_uint8_mask():
    """Used directly, a stabiliser given the same holes once as bool and then as 0/255 reuses."""
    st = TemporalStabilizer()
    frame, hole = natural_image(120, 160), _hole()
    st.update(frame, hole > 0, _noisy_fill(frame, hole, np.random.default_rng(0)))
    assert st.try_reuse(frame, hole) is not None
    assert st.try_reuse(frame, hole > 0) is not None


@pytest.mark.parametrize("frame, hole, match", [
    (np.zeros((120, 160), np.uint8), _hole(), "HxWx3"),  # a grey frame: was an OpenCV traceback
    (np.zeros((120, 160, 3), np.float32), _hole(), "uint8"),
    (np.zeros((120, 160, 3), np.uint8), _hole()[:60], "frame's size"),
    (np.zeros((120, 160, 3), np.uint8), _hole().astype(np.float32), "uint8 or bool"),
])
def test_bad_frames_and_holes_are_one_clear_error(frame, hole, match):
    st = TemporalStabilizer()
    with pytest.raises(InputError, match=match):
        st.try_reuse(frame, hole)
    with pytest.raises(InputError, match=match):
        st.update(frame, hole, np.zeros((120, 160, 3), np.uint8))


def test_an_output_of_another_size_is_refused():
    frame, hole = natural_image(120, 160), _hole()
    with pytest.raises(InputError, match="frame's shape"):
        TemporalStabilizer().update(frame, hole, np.zeros((60, 80, 3), np.uint8))


def _telea(frame, hole):
    import cv2

    return cv2.inpaint(frame, hole, 3, cv2.INPAINT_TELEA)


def test_a_blended_fill_is_not_reused_until_it_has_settled():
    """A light step (a change between the static and the move threshold) blended the old and new
    fills 50/50 and made the mix the key: the next, identical frames reused it for as long as the
    scene stayed still, 4.8 levels from the current fill after 100 frames."""
    frame, hole = natural_image(120, 160), _hole()
    lit = np.clip(frame.astype(int) + 8, 0, 255).astype(np.uint8)
    st = TemporalStabilizer()
    st.update(frame, hole, _telea(frame, hole))
    path = ""
    for _ in range(30):
        out = st.try_reuse(lit, hole)
        if out is None:
            out, step = st.update(lit, hole, _telea(lit, hole)), "M"
        else:
            step = "r"
        path += step
    assert st.blended >= 2 and path.startswith("MM") and path.endswith("r" * 20)
    fresh = _telea(lit, hole)
    assert np.abs(out[hole > 0].astype(int) - fresh[hole > 0]).mean() <= StabilizerConfig().static_threshold


def test_a_noisy_still_scene_settles_and_is_reused():
    """Settling judged on the largest difference never came on a noisy camera (each fresh fill
    differs a little somewhere): the model ran on every still frame after a light step."""
    rng = np.random.default_rng(4)
    frame, hole = natural_image(120, 160), _hole()
    st = TemporalStabilizer()
    runs = 0
    for i in range(60):
        base = frame if i < 10 else np.clip(frame.astype(int) + 6, 0, 255)
        noisy = np.clip(base + rng.normal(0, 1.5, frame.shape), 0, 255).astype(np.uint8)
        if st.try_reuse(noisy, hole) is None:
            st.update(noisy, hole, _telea(noisy, hole))
            runs += 1 if i >= 30 else 0
    assert runs == 0 and st.reused >= 40


@pytest.mark.parametrize("change", ["shadow around the hole", "colour cast", "object beside the hole"])
def test_a_change_next_to_the_hole_or_in_colour_is_not_static(change):
    """The scene test was a whole-frame mean of a grey thumbnail without the cells near the hole:
    a shadow around the hole, a colour cast or an object placed beside it scored below the static
    threshold, and the old fill was shown against the new surroundings."""
    frame = natural_image(240, 320, seed=3)
    hole = np.zeros((240, 320), np.uint8)
    hole[100:140, 140:180] = 255
    st = TemporalStabilizer()
    st.update(frame, hole, _telea(frame, hole))
    assert st.try_reuse(frame, hole) is not None
    after = frame.astype(int)
    if change == "shadow around the hole":
        after[80:160, 120:200] -= 40
    elif change == "colour cast":
        after[..., 0] += 25
        after[..., 2] -= 10
    else:
        after[110:130, 182:200] = (20, 200, 20)
    assert st.try_reuse(np.clip(after, 0, 255).astype(np.uint8), hole) is None


def test_drawing_on_the_returned_frame_does_not_change_the_kept_fill():
    """update() kept the very array it returned, which the pipeline hands to its sinks: a sink
    that drew on frame 0 drew on every frame that reused its fill."""
    frame, hole = natural_image(120, 160), _hole()
    st = TemporalStabilizer()
    shown = st.update(frame, hole, _telea(frame, hole))
    kept = shown[hole > 0].copy()
    shown[50:70, 70:90] = (0, 0, 255)  # a sink's overlay, inside the hole
    again = st.try_reuse(frame, hole)
    assert again is not None and np.array_equal(again[hole > 0], kept)
