import numpy as np
import pytest

from edgefill.checks import is_number, is_whole


@pytest.mark.parametrize("value", [0, 3, -2.5, float("nan"), float("inf"), np.float32(1.5), np.int64(7)])
def test_numbers(value):
    assert is_number(value)


@pytest.mark.parametrize("value", [True, False, "3", None, [1], np.bool_(True)])
def test_not_numbers(value):
    assert not is_number(value)


@pytest.mark.parametrize("value,whole", [(0, True), (np.int32(4), True), (2.0, False), (True, False), ("2", False)])
def test_whole_numbers(value, whole):
    assert is_whole(value) is whole
