"""An output path under a file names that file: making the folders said only "File exists" (or
"Not a directory"), which reads as if the output itself were in the way."""

from __future__ import annotations

import numpy as np
import pytest

from edgefill.errors import InputError
from edgefill.imageio import write_image


@pytest.mark.parametrize("under", ["x.png", "sub/x.png"])
def test_a_file_in_the_way_of_the_folders_is_named(tmp_path, under):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="afile is a file, not a folder") as err:
        write_image(blocker / under, np.zeros((4, 4, 3), np.uint8))
    assert "File exists" not in str(err.value) and "Not a directory" not in str(err.value)
    assert blocker.read_text() == "not a folder"


def test_other_write_errors_keep_their_reason(tmp_path):
    (tmp_path / "x.png").mkdir()  # the output path is a folder: renaming onto it fails
    with pytest.raises(InputError, match="cannot write"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint8))
