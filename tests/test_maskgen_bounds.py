"""maskgen's sampling loops end, and the masks of every range that could be reached before are
unchanged (they seed `edgefill bench quality` and training: published figures depend on them)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgefill import maskgen
from edgefill.cli import main


def _reference_grow_until(h, w, rng, lo, hi, draw, tries=200):
    """maskgen._grow_until as it was before its loop was bounded (it never ended for a range
    above what the family can cover)."""
    best = np.zeros((h, w), np.uint8)
    for _ in range(tries):
        mask = np.zeros((h, w), np.uint8)
        while True:
            before = mask.copy()
            draw(mask, rng)
            ratio = np.count_nonzero(mask) / mask.size
            if lo <= ratio <= hi:
                return mask
            if ratio > hi:
                if lo <= np.count_nonzero(before) / mask.size:
                    return before
                best = before if np.count_nonzero(before) > np.count_nonzero(best) else best
                break
    return best


DRAWS = {"free-form": maskgen._stroke, "blobs": maskgen._blob, "scratches": maskgen._scratch,
         "rects": maskgen._rect, "objects": maskgen._object}


@pytest.mark.parametrize("family", sorted(DRAWS))
@pytest.mark.parametrize("lo,hi,h,w", [(0.0, 0.1, 64, 80), (0.2, 0.3, 64, 80), (0.5, 0.6, 48, 48),
                                       (0.9, 0.969, 64, 64)])
def test_reachable_ranges_keep_their_seeded_masks_and_draws(family, lo, hi, h, w):
    for i in range(8):
        new_rng, ref_rng = np.random.default_rng([2, i]), np.random.default_rng([2, i])
        new = maskgen.FAMILIES[family](h, w, new_rng, lo, hi)
        ref = _reference_grow_until(h, w, ref_rng, max(lo, 1.0 / (h * w)), hi, DRAWS[family])
        assert np.array_equal(new, ref), (family, lo, hi, i)
        assert new_rng.bit_generator.state == ref_rng.bit_generator.state  # the same draws, too


def _run_with_limit(code: str) -> subprocess.CompletedProcess:
    """In a child, killed after a generous limit: the old loop never ended."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("mask generation did not end")


def test_rects_reach_the_last_row_and_column_for_a_range_only_they_can_reach():
    """`edgefill masks --family rects --ratio 0.98 1 --width 64 --height 64` spun for ever: boxes
    never covered the last row and column, so at most 63*63/64**2 = 0.969 of the image."""
    proc = _run_with_limit("""
        import numpy as np
        from edgefill import maskgen
        for i in range(5):
            m = maskgen.rects(64, 64, np.random.default_rng([0, i]), 0.98, 1.0)
            assert 0.98 <= maskgen.hole_ratio(m) <= 1.0, maskgen.hole_ratio(m)
        print("ok")
    """)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def test_a_family_that_cannot_reach_the_range_gives_up_with_the_closest_mask():
    proc = _run_with_limit("""
        import numpy as np
        from edgefill import maskgen

        def one_pixel(mask, rng):  # a shape family that can cover one pixel only
            rng.random()
            mask[3, 4] = 255

        m = maskgen._grow_until(16, 16, np.random.default_rng(0), 0.5, 0.6, one_pixel)
        assert np.count_nonzero(m) == 1 and m[3, 4] == 255
        print("ok")
    """)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def test_masks_cli_warns_when_masks_miss_the_range(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(maskgen.FAMILIES, "rects", lambda h, w, rng, lo, hi: np.zeros((h, w), np.uint8))
    assert main(["masks", "--family", "rects", "--ratio", "0.5", "0.6", "--width", "16", "--height", "16",
                 "--count", "2", "-o", str(tmp_path)]) == 0
    assert "2 of 2 rects masks miss the hole ratio range" in caplog.text
