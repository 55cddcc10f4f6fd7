"""edgefill.refill_settings: the refinement settings a model records, and their precedence."""

import argparse

import pytest

from edgefill.errors import ModelError
from edgefill.refill_settings import (RefillSettings, add_refill_options, check_share, check_wide_ns_scale,
                                      recorded_settings, refill_args_error, refill_kwargs, requested_settings)
from edgefill.thin import DEFAULT_NS_WEIGHT, MAX_NS_RADIUS, NS_RADIUS
from edgefill.wide_mix import DEFAULT_WIDE_NS_MAX_STD, DEFAULT_WIDE_NS_WEIGHT, MAX_NS_SCALE, NS_SCALE, UNGATED_STD


def test_parse_reads_metadata_strings_and_sidecar_numbers():
    assert RefillSettings.parse({}) == RefillSettings()
    assert RefillSettings.parse({"edgefill.thin_radius": "5", "edgefill.wide_ns_weight": "0.2",
                                 "edgefill.model": "lite"}, prefix="edgefill.") == RefillSettings(5, 0.2)
    side = {"thin_radius": None, "wide_ns_weight": 0.25, "wide_ns_scale": 2, "wide_ns_max_std": 30, "multiple": 64}
    assert RefillSettings.parse(side) == RefillSettings(None, 0.25, 2, 30.0)
    assert RefillSettings.parse({"thin_radius": ""}) == RefillSettings()
    assert isinstance(RefillSettings.parse({"wide_ns_scale": "4"}).wide_ns_scale, int)


@pytest.mark.parametrize("key,bad", [("thin_radius", "0"), ("thin_radius", str(MAX_NS_RADIUS + 1)),
                                     ("thin_radius", "wide"), ("thin_radius", "nan"), ("thin_radius", [5]),
                                     ("wide_ns_weight", "-0.1"), ("wide_ns_weight", "1.5"),
                                     ("wide_ns_scale", "2.5"), ("wide_ns_scale", "0"),
                                     ("wide_ns_scale", str(MAX_NS_SCALE + 1)), ("wide_ns_max_std", "0"),
                                     ("wide_ns_max_std", "-5"), ("wide_ns_max_std", str(UNGATED_STD + 1)),
                                     # not finite, or no number at all (a JSON sidecar's true / a huge int)
                                     ("wide_ns_scale", "inf"), ("wide_ns_scale", "-inf"), ("wide_ns_scale", "nan"),
                                     ("wide_ns_scale", "1e400"), pytest.param("wide_ns_scale", 10 ** 400, id="wide_ns_scale-10**400"),
                                     ("wide_ns_scale", True), ("thin_radius", "inf"), ("wide_ns_weight", "nan"),
                                     ("wide_ns_max_std", "inf"), ("thin_ns_weight", "1.5"), ("thin_ns_weight", "-0.1")])
def test_bad_recorded_values_are_model_errors_naming_the_file_and_key(key, bad):
    with pytest.raises(ValueError, match=key):
        RefillSettings.parse({key: bad})
    with pytest.raises(ModelError, match=f"m.onnx: bad edgefill.{key}"):
        recorded_settings({f"edgefill.{key}": bad}, "m.onnx", prefix="edgefill.")


FINITE = "must be a finite number"


@pytest.mark.parametrize("key,bad,says", [("wide_ns_scale", float("inf"), FINITE), ("wide_ns_scale", float("nan"), FINITE),
                                          ("thin_radius", float("nan"), FINITE), ("wide_ns_weight", float("-inf"), FINITE),
                                          ("wide_ns_max_std", float("nan"), FINITE), ("thin_ns_weight", float("inf"), FINITE),
                                          ("thin_radius", "3", "must be a number, got '3'"),
                                          ("wide_ns_scale", "4", "must be a number, got '4'"),
                                          ("wide_ns_weight", [0.5], "must be a number"),
                                          ("wide_ns_scale", True, "must be a number")])
def test_bad_caller_values_are_value_errors_naming_the_setting(key, bad, says):
    """What a caller passes (Inpainter's keywords): a clear ValueError (Inpainter: ConfigError),
    never an OverflowError or TypeError from the check itself."""
    kwargs = {"thin_radius": None, "thin_ns_weight": 0.5, "wide_ns_weight": None, "wide_ns_scale": None,
              "wide_ns_max_std": None, key: bad}
    with pytest.raises(ValueError, match=f"^{key} {says}"):
        requested_settings(**kwargs)


@pytest.mark.parametrize("kwargs", [{"wide_ns_scale": float("inf")}, {"wide_ns_scale": float("nan")}, {"thin_radius": "3"}])
def test_inpainter_turns_bad_settings_into_config_errors(kwargs):
    from edgefill import Inpainter
    from edgefill.errors import ConfigError

    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        Inpainter(backend="opencv-telea", **kwargs)


def test_caller_then_model_then_defaults():
    model = RefillSettings(thin_radius=5, wide_ns_weight=0.2, thin_ns_weight=0.5)
    assert model.resolved() == RefillSettings(5, 0.2, NS_SCALE, DEFAULT_WIDE_NS_MAX_STD, 0.5)
    assert RefillSettings().resolved() == RefillSettings(NS_RADIUS, DEFAULT_WIDE_NS_WEIGHT, NS_SCALE,
                                                         DEFAULT_WIDE_NS_MAX_STD, DEFAULT_NS_WEIGHT)
    caller = RefillSettings(wide_ns_weight=0.0, wide_ns_scale=1, wide_ns_max_std=UNGATED_STD, thin_ns_weight=1)
    # a 0 from the caller is a choice
    assert model.updated(caller).resolved() == RefillSettings(5, 0.0, 1, UNGATED_STD, 1.0)
    assert model.to_dict() == {"thin_radius": 5.0, "wide_ns_weight": 0.2, "thin_ns_weight": 0.5}
    assert RefillSettings.keys() == ("thin_radius", "wide_ns_weight", "wide_ns_scale", "wide_ns_max_std", "thin_ns_weight")


def test_checks():
    assert check_share("x", 1) == 1.0 and check_wide_ns_scale(4.0) == 4
    with pytest.raises(ValueError, match="x must be from 0 to 1"):
        check_share("x", 1.01)
    with pytest.raises(ValueError, match="whole number"):
        check_wide_ns_scale(1.5)


def test_cli_options_leave_unset_settings_to_the_model():
    ap = argparse.ArgumentParser()
    add_refill_options(ap)
    kw = refill_kwargs(ap.parse_args([]))
    assert all(kw[k] is None for k in RefillSettings.keys())
    kw = refill_kwargs(ap.parse_args(["--wide-ns-weight", "0", "--wide-ns-scale", "2", "--wide-ns-max-std", "40"]))
    assert kw["wide_ns_weight"] == 0 and kw["wide_ns_scale"] == 2 and kw["wide_ns_max_std"] == 40
    assert refill_args_error(ap.parse_args(["--wide-ns-weight", "0.2"])) is None
    for flag, value in (("--thin-radius", "0.5"), ("--thin-ns-weight", "2"), ("--wide-ns-weight", "-1"),
                        ("--wide-ns-scale", "0"), ("--wide-ns-max-std", "0"), ("--wide-ns-max-std", "200"),
                        ("--thin-radius", "inf"), ("--wide-ns-weight", "nan"), ("--wide-ns-max-std", "inf")):
        assert refill_args_error(ap.parse_args([flag, value])).startswith(flag + " must be")


def test_the_recorded_thin_ns_share_is_the_one_the_refill_uses():
    """A model's recorded share of NS in the thin pixels is what refine_in_place mixes with,
    unless the caller gives one: the same output as passing it, another than the default."""
    import cv2
    import numpy as np

    from edgefill import maskgen

    from .conftest import natural_image

    img = natural_image(128, 128, seed=4)
    mask = maskgen.scratches(128, 128, np.random.default_rng(4), 0.1, 0.2)
    hole = mask > 0
    fill = img.copy()
    fill[hole] = cv2.blur(img, (9, 9))[hole] // 2  # a poor fill, far from NS's
    box = cv2.boundingRect(cv2.findNonZero(mask))

    def refined(settings, **kw):
        out = fill.copy()
        settings.resolved().refine_in_place(out, img, hole, box, 5.0, **kw)
        return out

    recorded = refined(RefillSettings(wide_ns_weight=0, thin_ns_weight=1.0))
    assert np.array_equal(recorded, refined(RefillSettings(wide_ns_weight=0), thin_ns_weight=1.0))
    assert not np.array_equal(recorded, refined(RefillSettings(wide_ns_weight=0)))  # the default 0.7
    assert np.array_equal(refined(RefillSettings(wide_ns_weight=0, thin_ns_weight=1.0), thin_ns_weight=0.7),
                          refined(RefillSettings(wide_ns_weight=0)))  # the caller's share wins
