"""deadline_ms (and `edgefill run --deadline-ms`) takes a finite number > 0. NaN passed the
"<= 0" check and then failed every comparison with the predicted model time, so nearly every
frame went to the fallback with exit status 0 (46 of 48 frames of the bundled clip)."""

from __future__ import annotations

import math

import pytest

from edgefill.cli import main
from edgefill.errors import ConfigError
from edgefill.pipeline import Pipeline


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -5.0])
def test_a_deadline_that_is_not_a_finite_positive_number_is_refused(value):
    with pytest.raises(ConfigError, match="deadline_ms must be a finite number > 0"):
        Pipeline("samples/clip.mp4", mask="rect:0,0,8,8", deadline_ms=value)


def test_the_cli_refuses_deadline_nan_in_one_line(tmp_path, capsys):
    code = main(["run", "samples/clip.mp4", "--mask", "rect:0,0,8,8", "--deadline-ms", "nan",
                 "-o", str(tmp_path / "o.mp4")])
    assert code == 2
    err = capsys.readouterr().err
    assert "deadline_ms must be a finite number > 0, got nan" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())
