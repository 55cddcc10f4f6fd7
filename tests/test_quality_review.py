"""Review of ``edgefill bench quality`` and its intervals: a failure or Ctrl-C during the run is
one line, a family named twice is scored once, and the bootstrap refuses what it cannot do."""

import numpy as np
import pytest

from edgefill import quality
from edgefill.backends import opencv
from edgefill.cli import main
from edgefill.errors import ConfigError, InferenceError
from edgefill.quality import BUCKETS, CLASSICAL
from edgefill.quality_stats import difference_ci, gain_ci

from . import test_quality_inputs

images = test_quality_inputs.images  # the fixture: a folder of two small natural images

# classical methods only: no model to load, a run of a few cases takes a fraction of a second
FAST = ["--models", "", "--crop", "64", "--per-bucket", "1", "--boot", "0"]


def test_a_backend_failing_during_the_run_is_one_line(images, tmp_path, capsys, monkeypatch):
    """Regression: an error during the run (ONNX Runtime out of memory at a large --crop raises
    InferenceError) escaped ``edgefill bench quality`` as a traceback: its checks covered only
    the set-up, and the CLI hands the command its own argument list outside its error handler."""
    def out_of_memory(self, image, mask):
        raise InferenceError("ONNX Runtime failed running lite.onnx: out of memory")

    monkeypatch.setattr(opencv._OpenCVInpaint, "infer", out_of_memory)
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--family", "rects", "--json", str(out), *FAST]) == 2
    assert capsys.readouterr().err.strip().endswith("edgefill bench quality: ONNX Runtime failed running lite.onnx: "
                                                    "out of memory")
    assert not out.exists()


def test_ctrl_c_during_the_run_is_one_line_and_130(images, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(quality, "evaluate", interrupted)
    try:
        rc = main(["bench", "quality", "--images", str(images), "--family", "rects", *FAST])
    except KeyboardInterrupt:  # (not let through: pytest would take it for its own Ctrl-C and stop)
        pytest.fail("Ctrl-C escaped edgefill bench quality as a traceback")
    assert rc == 130
    assert capsys.readouterr().err.strip() == "edgefill bench quality: interrupted"


def test_a_family_named_twice_is_scored_once(images, tmp_path, capsys):
    """Regression: --family rects,rects ran the family twice and wrote each case twice into
    --csv (2 images x 5 buckets x 1 mask x 2 methods = 20 cases, 40 rows)."""
    rows = tmp_path / "cases.csv"
    assert main(["bench", "quality", "--images", str(images), "--family", "rects,rects", "--csv", str(rows),
                 *FAST]) == 0
    out = capsys.readouterr().out
    assert out.count("rects masks, 1 per bucket") == 1
    lines = rows.read_text().splitlines()[1:]
    assert len(lines) == 2 * len(BUCKETS) * 2 and len(set(lines)) == len(lines)


def _scores(n_images, seed=0):
    rng = np.random.default_rng(seed)
    return {m: rng.normal(20, 1, (n_images, len(BUCKETS), 2)) for m in ("a", "b", *CLASSICAL)}


def test_one_image_gives_no_interval_not_a_zero_width_one():
    """Regression: with one image every resample is that image, and the "95% interval" came
    back as [mean, mean]: certainty, from the least data there is."""
    s = _scores(1)
    point, lo, hi = gain_ci(s, "a", CLASSICAL)
    assert np.isfinite(point) and np.isnan(lo) and np.isnan(hi)
    point, lo, hi = difference_ci(s, "a", "b")
    assert np.isfinite(point) and np.isnan(lo) and np.isnan(hi)
    # two images: an interval of positive width
    _, lo, hi = gain_ci(_scores(2), "a", CLASSICAL)
    assert lo < hi


@pytest.mark.parametrize("kwargs, message", [
    ({"n_boot": 0}, "n_boot must be a whole number of resamples >= 1, got 0"),
    ({"n_boot": 2.5}, "n_boot must be a whole number"),
    ({"level": 95}, "level must be a fraction between 0 and 1 (0.95 for a 95% interval), got 95"),
    ({"level": 0}, "level must be a fraction between 0 and 1"),
    ({"level": float("nan")}, "level must be a fraction between 0 and 1"),
])
def test_bad_resample_counts_and_levels_are_config_errors(kwargs, message):
    """Regression: n_boot 0 gave NaN bounds with numpy warnings, and level 95 (a percentage)
    numpy's "Percentiles must be in the range [0, 100]"."""
    s = _scores(5)
    for call in (lambda: gain_ci(s, "a", CLASSICAL, **kwargs), lambda: difference_ci(s, "a", "b", **kwargs)):
        with pytest.raises(ConfigError) as exc:
            call()
        assert message in str(exc.value)
