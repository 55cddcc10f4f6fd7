"""Image files and folders that cannot be read, writing under long names and arrays OpenCV
cannot encode faithfully, odd file names in a sequence, a symlink loop among the inputs, and
the number checks with integers too large for a float."""

from pathlib import Path

import numpy as np
import pytest

from edgefill import checks
from edgefill.errors import ConfigError, InputError
from edgefill.fileio import atomic_write_bytes
from edgefill.imageio import image_files, read_image, read_mask, write_image
from edgefill.mask_sources import ColourKey
from edgefill.overwrites import refuse_overwrites, same_path


@pytest.mark.parametrize("name", ["é" * 124 + ".png", "a" * 251 + ".png", "frame with spaces ü.png"])
def test_a_long_or_non_ascii_name_that_is_valid_can_be_written(tmp_path, name):
    # the temporary name was the final name plus 15 characters: over 255 bytes, "File name too long"
    image = np.full((4, 6, 3), 7, np.uint8)
    write_image(tmp_path / name, image)
    assert np.array_equal(read_image(tmp_path / name), image)
    atomic_write_bytes(tmp_path / ("b" * 255), b"x")  # the longest name Linux filesystems take
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "b" * 255])


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_an_integer_beyond_a_float_is_not_finite(value):
    assert checks.is_number(value) and not checks.is_finite(value)  # math.isfinite raised OverflowError
    with pytest.raises(ConfigError, match="0..255"):
        ColourKey((value, 0, 0))


@pytest.mark.parametrize("image", [
    np.full((4, 4, 3), 0.8, np.float32),  # written as 1: a black image
    np.full((4, 4, 3), 200, np.int64),
    np.zeros((4, 4), bool),
    np.zeros((0, 0, 3), np.uint8),  # cv2.error traceback
    np.zeros((4, 4, 2), np.uint8),  # cv2.error traceback
    [[0, 255]],  # cv2.error traceback
])
def test_an_array_that_cannot_be_written_faithfully_is_one_input_error(tmp_path, image):
    with pytest.raises(InputError, match="cannot write .*HxWx3"):
        write_image(tmp_path / "out.png", image)
    assert not list(tmp_path.iterdir())


def test_16_bit_goes_to_png_but_not_to_jpeg(tmp_path):
    deep = np.full((4, 4, 3), 40000, np.uint16)
    write_image(tmp_path / "deep.png", deep)
    assert read_image(tmp_path / "deep.png")[0, 0, 0] == round(40000 / 257)
    with pytest.raises(InputError, match="uint8"):
        write_image(tmp_path / "deep.jpg", deep)  # OpenCV wrote 255 everywhere


def test_a_symlink_loop_among_the_inputs_is_no_traceback(tmp_path):
    (tmp_path / "a.mp4").symlink_to(tmp_path / "b.mp4")
    (tmp_path / "b.mp4").symlink_to(tmp_path / "a.mp4")
    inputs = [(tmp_path / "a.mp4", "the source")]
    # Path.resolve raised RuntimeError("Symlink loop") here, before the source could say it cannot be read
    refuse_overwrites(inputs, [(tmp_path / "out.mp4", "the output")], [(tmp_path / "frames", "the output folder")])
    assert same_path(tmp_path / "a.mp4", tmp_path / "a.mp4") and not same_path(tmp_path / "a.mp4", tmp_path / "b.mp4")
    with pytest.raises(InputError, match="refusing to overwrite"):
        refuse_overwrites(inputs, [(tmp_path / "a.mp4", "the output")])


def test_a_superscript_digit_in_a_name_does_not_break_the_listing(tmp_path):
    for name in ("f_1²2.png", "f_10.png", "f_2.png"):
        write_image(tmp_path / name, np.zeros((2, 2, 3), np.uint8))
    assert [p.name for p in image_files(tmp_path)] == ["f_1²2.png", "f_2.png", "f_10.png"]  # was a ValueError


def _refuse(*args, **kwargs):
    raise PermissionError(13, "Permission denied")


def test_a_file_or_folder_that_cannot_be_read_is_one_input_error(tmp_path, monkeypatch):
    # a file without read permission (as root here, so the refusal is simulated): a
    # PermissionError traceback from numpy, or from the folder listing
    write_image(tmp_path / "a.png", np.zeros((2, 2, 3), np.uint8))
    monkeypatch.setattr(np, "fromfile", _refuse)
    for read in (read_image, read_mask):
        with pytest.raises(InputError, match="a.png cannot be read: Permission denied"):
            read(tmp_path / "a.png")
    monkeypatch.setattr(Path, "iterdir", _refuse)
    with pytest.raises(InputError, match="cannot list the images in .*: Permission denied"):
        image_files(tmp_path)



def test_a_broken_link_among_the_images_is_one_clear_error(tmp_path):
    """A broken link was skipped quietly: in a mask folder every later mask moved one frame off."""
    for i in (1, 3):
        write_image(tmp_path / f"m_{i}.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "m_2.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(InputError, match=r"m_2.png is a broken link .*shift every later one"):
        image_files(tmp_path)
    (tmp_path / "m_2.png").unlink()
    (tmp_path / "notes.txt").symlink_to(tmp_path / "gone.txt")  # not an image name: not ours to judge
    assert [p.name for p in image_files(tmp_path)] == ["m_1.png", "m_3.png"]
