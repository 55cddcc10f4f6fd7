"""Review of mask input: a one-colour layer with strokes in its alpha, a faint mask warned about
once per source (and for a detector's too), mask videos known by their content rather than six
suffixes (an animated GIF included), an empty --mask or a mask folder that is the input folder
refused, a wrong-sized mask named with its file, and bool masks dilated."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from edgefill import masks
from edgefill.cli import main
from edgefill.errors import InputError, ShapeError
from edgefill.image_chunks import gif_frames
from edgefill.imageio import read_mask
from edgefill.mask_sources import CallableMask, MaskSequence, StaticMask, parse_mask_spec

from .fakes import write_video


def _spoon(h=40, w=60):
    m = np.zeros((h, w), np.uint8)
    m[10:20, 15:40] = 255
    return m


@pytest.mark.parametrize("bgr", [(0, 0, 255), (255, 255, 255), (30, 200, 90)])
def test_a_one_colour_layer_with_strokes_in_its_alpha_is_read_from_its_alpha(tmp_path, bgr):
    """Only a grey layer counted as flat (min == max over all channels): a red one was read by its
    colour, and the whole image was filled."""
    layer = np.zeros((40, 60, 4), np.uint8)
    layer[..., :3] = bgr
    layer[..., 3] = _spoon()
    cv2.imwrite(str(tmp_path / "layer.png"), layer)
    assert np.array_equal(read_mask(tmp_path / "layer.png"), _spoon())
    assert np.array_equal(masks.normalize_mask(layer, (40, 60, 3)), _spoon())


def _faint_warnings(caplog) -> int:
    return sum("none reaches 128" in r.getMessage() for r in caplog.records)


def test_a_faint_mask_video_is_warned_about_once(tmp_path, caplog):
    """Every frame of a mask video whose hole was 100, not 255, said it: one line a frame."""
    frames = [np.full((32, 48, 3), 100 * (i % 2), np.uint8) for i in range(6)]
    for f in frames:
        f[:, :10] = 100
    path = tmp_path / "m.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 32))
    for f in frames:
        w.write(f)
    w.release()
    seq = MaskSequence(path)
    with caplog.at_level(logging.WARNING):
        for i in range(6):
            seq(np.zeros((32, 48, 3), np.uint8), i)
    seq.close()
    assert _faint_warnings(caplog) == 1
    assert "Said once" in caplog.text


def test_a_detectors_faint_mask_is_warned_about_once(caplog):
    """A callable's array was normalised with warn=False: a 0/90 mask filled nothing, unsaid."""
    def detector(frame, index):
        m = np.zeros(frame.shape[:2], np.uint8)
        m[5:15, 5:15] = 90
        return m

    source = CallableMask(detector)
    with caplog.at_level(logging.WARNING):
        for i in range(4):
            source(np.zeros((32, 32, 3), np.uint8), i)
    assert _faint_warnings(caplog) == 1


def test_gif_frames_are_counted_from_the_blocks(tmp_path):
    if not hasattr(cv2, "imwriteanimation"):
        pytest.skip("this OpenCV writes no animated GIF (cv2.imwriteanimation: OpenCV >= 4.11)")
    anim = cv2.Animation()
    anim.frames = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(3)]
    anim.durations = [100] * 3
    assert cv2.imwriteanimation(str(tmp_path / "a.gif"), anim)
    data = (tmp_path / "a.gif").read_bytes()
    assert gif_frames(data, stop=10) == 3 and gif_frames(data, stop=2) == 2
    assert gif_frames(data[:40], stop=10) <= 1  # truncated: what was found, no exception
    assert gif_frames(b"\x89PNG\r\n\x1a\n") == 0


def test_an_animated_gif_mask_is_a_mask_per_frame(tmp_path):
    """It was read as one static mask: frame 0's hole for every frame, without a word."""
    if not hasattr(cv2, "imwriteanimation"):
        pytest.skip("this OpenCV writes no animated GIF (cv2.imwriteanimation: OpenCV >= 4.11)")
    anim = cv2.Animation()
    anim.frames = [np.zeros((32, 48, 3), np.uint8) for _ in range(4)]
    for i, f in enumerate(anim.frames):
        f[8:24, 4 + 10 * i:14 + 10 * i] = 255
    anim.durations = [100] * 4
    assert cv2.imwriteanimation(str(tmp_path / "m.gif"), anim)
    source = parse_mask_spec(str(tmp_path / "m.gif"))
    assert isinstance(source, MaskSequence)
    frame = np.zeros((32, 48, 3), np.uint8)
    holes = [source(frame, i) for i in range(4)]
    source.close()
    assert [int(np.argmax(h[16])) for h in holes] == [4, 14, 24, 34]


def test_a_one_frame_gif_is_a_static_mask(tmp_path):
    cv2.imwrite(str(tmp_path / "m.gif"), np.dstack([_spoon()] * 3))
    assert isinstance(parse_mask_spec(str(tmp_path / "m.gif")), StaticMask)


@pytest.mark.parametrize("suffix", [".mpg", ".ts", ".video"])
def test_a_mask_video_of_any_suffix_is_a_mask_sequence(tmp_path, suffix):
    """Only six suffixes were videos: a .ts mask was "not a readable image"."""
    clip = write_video(tmp_path / "m.avi", 3, moving_object=False)
    path = clip.rename(tmp_path / f"m{suffix}")
    source = parse_mask_spec(str(path))
    assert isinstance(source, MaskSequence)
    source.close()


@pytest.mark.parametrize("spec", ["", "  "])
def test_an_empty_mask_spec_is_refused(spec):
    """Path("") is the current folder: its images were taken for one mask a frame."""
    with pytest.raises(InputError, match="the mask is empty"):
        parse_mask_spec(spec)


def test_inpaint_refuses_an_empty_mask_and_the_input_folder_as_masks(tmp_path, monkeypatch, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), np.full((32, 32, 3), 90, np.uint8))
    monkeypatch.chdir(photos)
    assert main(["inpaint", ".", "--mask", "", "-o", str(tmp_path / "out")]) == 2
    assert "the mask is empty" in capsys.readouterr().err
    assert main(["inpaint", str(photos), "--mask", str(photos), "-o", str(tmp_path / "out")]) == 2
    assert "the mask folder is the input folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_wrong_sized_mask_in_a_folder_is_named(tmp_path):
    """"the mask is 481x320 but 480x320 was expected" named no file among hundreds."""
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"m{i:03d}.png"), _spoon(40, 61 if i == 2 else 60))
    seq = MaskSequence(folder)
    frame = np.zeros((40, 60, 3), np.uint8)
    seq(frame, 0)
    with pytest.raises(ShapeError, match=r"mask .*m002\.png \(for frame 2\) is 61x40 \(WxH\) but 60x40"):
        seq(frame, 2)
    cv2.imwrite(str(tmp_path / "one.png"), _spoon(40, 61))
    with pytest.raises(ShapeError, match=r"mask .*one\.png is 61x40"):
        StaticMask(tmp_path / "one.png")(frame, 0)


def test_a_bool_mask_is_dilated():
    hole = np.zeros((20, 20), bool)
    hole[5:8, 5:8] = True
    grown = masks.dilate(hole, 2)
    assert grown.dtype == np.bool_ and grown.sum() > hole.sum() and grown[hole].all()
    assert np.array_equal(grown, masks.dilate(hole.astype(np.uint8) * 255, 2) > 0)
    assert masks.dilate(hole, 100).all()


@pytest.mark.parametrize("suffix", [".pgm", ".ppm"])
def test_a_mask_in_another_image_format_stays_a_static_mask(tmp_path, suffix):
    """FFmpeg opens a single .pgm as a one-frame video: the review found `run --mask mask.pgm`
    failing at frame 1 ("mask video ... ended before frame 1")."""
    path = tmp_path / f"m{suffix}"
    cv2.imwrite(str(path), _spoon() if suffix == ".pgm" else np.dstack([_spoon()] * 3))
    source = parse_mask_spec(str(path))
    assert isinstance(source, StaticMask)
    frame = np.zeros((40, 60, 3), np.uint8)
    assert np.array_equal(source(frame, 0), source(frame, 5))


def test_run_refuses_the_source_folder_as_its_mask_folder(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2):
        _photo = np.full((40, 60, 3), 90, np.uint8)
        cv2.imwrite(str(frames / f"{i}.png"), _photo)
    assert main(["run", str(frames), "--mask", str(frames), "--backend", "opencv-telea", "-o",
                 str(tmp_path / "out") + "/"]) == 2
    assert "is the source: give the masks' own folder" in capsys.readouterr().err
    import edgefill

    with pytest.raises(InputError, match="is the source"):
        edgefill.Pipeline(str(frames), mask=str(frames), sinks=[], backend="opencv-telea")


def test_is_flat_is_per_channel_contiguous_or_not():
    a = np.zeros((6, 8, 3), np.uint8)
    a[..., 2] = 255  # pure red: flat, though its minimum and maximum differ
    b = a.copy()
    b[4, 5, 1] = 3
    assert masks.is_flat(a) and not masks.is_flat(b)
    assert masks.is_flat(a[:, ::2]) and not masks.is_flat(b[:, 1::2])  # views that are not contiguous
    assert masks.is_flat(np.zeros((1, 1, 4), np.uint8)) and masks.is_flat(np.zeros((0, 3, 3), np.uint8))
