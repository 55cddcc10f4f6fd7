"""File sources: file:// URIs as tools write them, globs across folders, unreadable images."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from edgefill.capture import CaptureOptions, open_source
from edgefill.capture.files import file_path
from edgefill.errors import InputError
from edgefill.overwrites import run_inputs

from ..fakes import write_video


def _count(src) -> int:
    n = 0
    while src.read() is not None:
        n += 1
    return n


def test_a_percent_encoded_file_uri_opens(tmp_path):
    """Path.as_uri() (and a file manager) writes a space as %20: the file 'did not exist'."""
    video = write_video(tmp_path / "my clip ö.avi", 3)
    with open_source(video.as_uri()) as src:
        assert _count(src) == 3
    assert run_inputs(video.as_uri(), None) == [(video, "the source")]  # the overwrite guard sees the same file


@pytest.mark.parametrize("form", ["file://localhost{}", "FILE://{}"])
def test_file_uri_with_localhost_or_an_upper_case_scheme(tmp_path, form):
    video = write_video(tmp_path / "clip.avi", 2)
    with open_source(form.format(video)) as src:
        assert _count(src) == 2


def test_a_file_named_with_a_percent_sign_is_found_as_written(tmp_path):
    video = write_video(tmp_path / "take%201.avi", 2)
    assert file_path(f"file://{video}") == str(video)
    with open_source(f"file://{video}") as src:
        assert _count(src) == 2


def test_a_glob_across_folders_keeps_each_folders_frames_together(tmp_path):
    """Sorted by file name alone, day2/frame_0 came between day1/frame_0 and day1/frame_1."""
    for day in ("day2", "day10", "day1"):
        (tmp_path / day).mkdir()
        for i in (0, 1, 10, 2):
            cv2.imwrite(str(tmp_path / day / f"frame_{i}.png"), np.zeros((8, 8, 3), np.uint8))
    with open_source(str(tmp_path / "day*" / "frame_*.png")) as src:
        order = [f"{p.parent.name}/{p.stem}" for p in src.paths]
    assert order == [f"{d}/frame_{i}" for d in ("day1", "day2", "day10") for i in (0, 1, 2, 10)]


def test_an_unreadable_image_in_a_folder_is_an_input_error_naming_it(tmp_path):
    cv2.imwrite(str(tmp_path / "f_0.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "f_1.png").write_bytes(b"not a png")
    with open_source(str(tmp_path), CaptureOptions()) as src:
        assert src.read().shape == (8, 8, 3)
        with pytest.raises(InputError, match="f_1.png"):
            src.read()


def test_images_of_mixed_sizes_come_out_as_they_are(tmp_path):
    for i, (h, w) in enumerate([(8, 8), (16, 12)]):
        cv2.imwrite(str(tmp_path / f"f_{i}.png"), np.zeros((h, w, 3), np.uint8))
    with open_source(f"images://{tmp_path}") as src:
        assert [src.read().shape, src.read().shape, src.read()] == [(8, 8, 3), (16, 12, 3), None]


def test_a_video_ends_with_none_and_reports_its_fps(tmp_path):
    video = write_video(Path(tmp_path / "c.avi"), 3, fps=12.0)
    with open_source(str(video)) as src:
        assert _count(src) == 3 and src.read() is None
        assert src.fps == pytest.approx(12.0)


def test_a_folder_of_16_bit_frames_keeps_one_scale_and_raises_it_with_a_warning(tmp_path, caplog):
    """A 12-bit camera's frames: the second one, with nothing above 2047, is scaled as the first
    (it came out twice as bright when each frame took its own scale); the third uses 13 bits and
    raises the scale, with a warning."""
    ramp = np.tile(np.arange(0, 256, dtype=np.float64), (4, 1))
    frames = [np.rint(ramp * 4095 / 255), np.rint(ramp * 2000 / 255), np.rint(ramp * 8191 / 255)]
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), f.astype(np.uint16))
    with caplog.at_level("WARNING"), open_source(str(tmp_path)) as src:
        got = [src.read() for _ in frames]
    assert all(g.shape == (4, 256, 3) and g.dtype == np.uint8 for g in got)
    assert got[0][..., 0].max() == 255
    assert np.array_equal(got[1][..., 0], np.rint(frames[1] / (4095 / 255)).astype(np.uint8))  # as the first
    assert got[2][..., 0].max() == 255 and np.array_equal(got[2][..., 0], np.rint(frames[2] / (8191 / 255)))
    assert [r.message for r in caplog.records if "uses more bits" in r.message] and "f2.png" in caplog.text
    assert "f1.png" not in caplog.text
