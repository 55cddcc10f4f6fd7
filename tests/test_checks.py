import numpy as np
import pytest

from edgefill.checks import is_finite, is_number, is_whole


@pytest.mark.parametrize("value", [0, 3, -2.5, float("nan"), float("inf"), np.float32(1.5), np.int64(7)])
def test_numbers(value):
    assert is_number(value)


@pytest.mark.parametrize("value", [True, False, "3", None, [1], np.bool_(True)])
def test_not_numbers(value):
    assert not is_number(value)


@pytest.mark.parametrize("value,whole", [(0, True), (np.int32(4), True), (2.0, False), (True, False), ("2", False)])
def test_whole_numbers(value, whole):
    assert is_whole(value) is whole


@pytest.mark.parametrize("value,finite", [(0, True), (-2.5, True), (np.float32(1.5), True), (float("nan"), False),
                                          (float("-inf"), False), (True, False), ("3", False), (None, False)])
def test_finite_numbers(value, finite):
    assert is_finite(value) is finite
