"""Bad arguments to the mask families are one ConfigError, not a ZeroDivisionError, a numpy
ValueError / TypeError or an AttributeError (the CLI checks its own; the Python API did not)."""

import numpy as np
import pytest

from edgefill import maskgen
from edgefill.errors import ConfigError

FAMILIES = sorted(maskgen.FAMILIES) + ["training-mix"]


def _family(name):
    return maskgen.training_mix if name == "training-mix" else maskgen.FAMILIES[name]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("h,w", [(0, 10), (10, 0), (-5, 10), (64.0, 64), (True, 8), ("64", 64)])
def test_bad_sizes_are_config_errors(family, h, w):
    with pytest.raises(ConfigError, match="height and width"):
        _family(family)(h, w, np.random.default_rng(0), 0.1, 0.2)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("lo,hi", [(float("nan"), 0.2), (0.1, float("nan")), (0.5, 0.2), (-0.1, 0.2),
                                   (1.5, 2.0), (0.1, float("inf")), (False, 0.2), ("0.1", 0.2)])
def test_bad_ratio_ranges_are_config_errors(family, lo, hi):
    """A NaN or reversed range used to draw a mask outside it (or up to 5000 no-op shapes)."""
    with pytest.raises(ConfigError, match="hole ratio range"):
        _family(family)(32, 32, np.random.default_rng(0), lo, hi)


def test_a_seed_instead_of_a_generator_is_a_config_error():
    with pytest.raises(ConfigError, match="default_rng"):
        maskgen.rects(32, 32, 0, 0.1, 0.2)


@pytest.mark.parametrize("family", FAMILIES)
def test_numpy_sizes_and_ratios_and_an_open_upper_bound_still_work(family):
    """What callers pass: numpy integers and floats (bench quality, training), hi above 1
    (training's t + 0.05 with --max-hole 1)."""
    a = _family(family)(np.int64(24), np.int32(20), np.random.default_rng(1), np.float64(0.2), 1.05)
    b = _family(family)(24, 20, np.random.default_rng(1), 0.2, 1.05)
    assert np.array_equal(a, b) and 0.2 <= maskgen.hole_ratio(a) <= 1.0


def test_the_hole_ratio_of_an_empty_mask_is_zero():
    """It divided by zero (a ZeroDivisionError from a user's empty crop)."""
    from edgefill.maskgen import hole_ratio

    assert hole_ratio(np.zeros((0, 5), np.uint8)) == 0.0
    assert hole_ratio(np.full((2, 2), 255, np.uint8)) == 1.0
