"""edgefill.refill_settings: the refinement settings a model records, and their precedence."""

import argparse

import pytest

from edgefill.errors import ModelError
from edgefill.refill_settings import (RefillSettings, add_refill_options, check_share, check_wide_ns_scale,
                                      recorded_settings, refill_args_error, refill_kwargs)
from edgefill.thin import MAX_NS_RADIUS, NS_RADIUS
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
                                     ("wide_ns_max_std", "-5"), ("wide_ns_max_std", str(UNGATED_STD + 1))])
def test_bad_recorded_values_are_model_errors_naming_the_file_and_key(key, bad):
    with pytest.raises(ValueError, match=key):
        RefillSettings.parse({key: bad})
    with pytest.raises(ModelError, match=f"m.onnx: bad edgefill.{key}"):
        recorded_settings({f"edgefill.{key}": bad}, "m.onnx", prefix="edgefill.")


def test_caller_then_model_then_defaults():
    model = RefillSettings(thin_radius=5, wide_ns_weight=0.2)
    assert model.resolved() == RefillSettings(5, 0.2, NS_SCALE, DEFAULT_WIDE_NS_MAX_STD)
    assert RefillSettings().resolved() == RefillSettings(NS_RADIUS, DEFAULT_WIDE_NS_WEIGHT, NS_SCALE,
                                                         DEFAULT_WIDE_NS_MAX_STD)
    caller = RefillSettings(wide_ns_weight=0.0, wide_ns_scale=1, wide_ns_max_std=UNGATED_STD)
    # a 0 from the caller is a choice
    assert model.updated(caller).resolved() == RefillSettings(5, 0.0, 1, UNGATED_STD)
    assert model.to_dict() == {"thin_radius": 5.0, "wide_ns_weight": 0.2}
    assert RefillSettings.keys() == ("thin_radius", "wide_ns_weight", "wide_ns_scale", "wide_ns_max_std")


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
                        ("--wide-ns-scale", "0"), ("--wide-ns-max-std", "0"), ("--wide-ns-max-std", "200")):
        assert refill_args_error(ap.parse_args([flag, value])).startswith(flag + " must be")
