"""Review of `edgefill inpaint` on files: an image with nothing to fill is copied byte for byte,
JPEG quality is an option, outputs keep the umask or the replaced file's mode, a mask file kept
in the input folder is not filled, a broken link does not stop a by-name batch, an output it
cannot write is refused before the model loads, an EXIF-turned photo's size mismatch says why,
and refinement options given to a classical backend are said to be ignored."""

from __future__ import annotations

import logging
import os
import stat

import cv2
import numpy as np
import pytest

from edgefill.cli import main
from edgefill.fileio import atomic_write_bytes


def _photo(path, h=48, w=64):
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 2)
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 80] if path.suffix == ".jpg" else [])
    return path


def _mask(path, h=48, w=64):
    m = np.zeros((h, w), np.uint8)
    m[10:20, 10:30] = 255
    cv2.imwrite(str(path), m)
    return path


def test_an_image_with_nothing_to_fill_is_copied_byte_for_byte(tmp_path):
    """"written unchanged" re-encoded the JPEG: 70% of its pixels changed, by up to 21 levels."""
    src = _photo(tmp_path / "p.jpg")
    assert main(["inpaint", str(src), "--mask", "rect:5000,5000,10,10", "-o", str(tmp_path / "o.jpg"),
                 "--backend", "opencv-telea"]) == 0
    assert (tmp_path / "o.jpg").read_bytes() == src.read_bytes()
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), np.zeros((48, 64), np.uint8))
    assert main(["inpaint", str(src), "--mask", str(empty), "-o", str(tmp_path / "o2.jpg"),
                 "--backend", "opencv-telea"]) == 0
    assert (tmp_path / "o2.jpg").read_bytes() == src.read_bytes()


def test_the_jpeg_quality_is_an_option(tmp_path, capsys):
    src, mask = _photo(tmp_path / "p.png"), _mask(tmp_path / "m.png")
    sizes = []
    for q in ("30", "98"):
        out = tmp_path / f"o{q}.jpg"
        assert main(["inpaint", str(src), "--mask", str(mask), "-o", str(out), "--backend", "opencv-telea",
                     "--jpeg-quality", q]) == 0
        sizes.append(out.stat().st_size)
    assert sizes[0] < sizes[1]
    assert main(["inpaint", str(src), "--mask", str(mask), "-o", str(tmp_path / "x.jpg"), "--jpeg-quality", "0"]) == 2
    assert "--jpeg-quality must be 1-100" in capsys.readouterr().err


def test_outputs_keep_the_umask_and_a_replaced_files_mode(tmp_path):
    """Every write was chmod 0644: a 0600 image replaced, or one written under umask 077, became
    world-readable."""
    private = tmp_path / "secret.png"
    private.write_bytes(b"old")
    private.chmod(0o600)
    atomic_write_bytes(private, b"new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    new = tmp_path / "new.png"
    atomic_write_bytes(new, b"x")
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~_umask()
    old = os.umask(0o077)  # set after import (a daemon does): it decides too
    try:
        atomic_write_bytes(tmp_path / "later.png", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "later.png").stat().st_mode) == 0o600


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_mask_file_kept_in_the_input_folder_is_not_filled(tmp_path, capsys):
    """samples/ holds coffee.png and coffee_spoon_mask.png: the mask was filled with itself as mask."""
    shots = tmp_path / "shots"
    shots.mkdir()
    _photo(shots / "a.png")
    mask = _mask(shots / "a_mask.png")
    assert main(["inpaint", str(shots), "--mask", str(mask), "-o", str(tmp_path / "out"),
                 "--backend", "opencv-telea"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


def test_a_broken_link_does_not_stop_a_batch_paired_by_name(tmp_path, caplog):
    inputs, masks = tmp_path / "in", tmp_path / "masks"
    inputs.mkdir()
    masks.mkdir()
    for n in "ab":
        _photo(inputs / f"{n}.png")
        _mask(masks / f"{n}.png")
    (masks / "z_old.png").symlink_to("/nonexistent/old_z.png")
    with caplog.at_level(logging.WARNING):
        assert main(["inpaint", str(inputs), "--mask", str(masks), "-o", str(tmp_path / "out"),
                     "--backend", "opencv-telea"]) == 0
    assert "z_old.png is a broken link" in caplog.text and "left out" in caplog.text


def test_an_output_it_cannot_write_is_refused_before_the_model_loads(tmp_path, capsys, monkeypatch):
    import edgefill.inpainter

    monkeypatch.setattr(edgefill.inpainter.Inpainter, "__init__", lambda *a, **k: pytest.fail("model loaded"))
    src, mask = _photo(tmp_path / "p.png"), _mask(tmp_path / "m.png")
    assert main(["inpaint", str(src), "--mask", str(mask), "-o", str(tmp_path / "result")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_a_size_mismatch_on_an_exif_turned_photo_says_why(tmp_path, capsys):
    exif = _exif_orientation_6()
    ok, buf = cv2.imencode(".jpg", np.full((64, 96, 3), 128, np.uint8))  # stored 96x64
    data = buf.tobytes()
    (tmp_path / "rot.jpg").write_bytes(data[:2] + exif + data[2:])
    mask = _mask(tmp_path / "m.png", 64, 96)
    assert main(["inpaint", str(tmp_path / "rot.jpg"), "--mask", str(mask), "-o", str(tmp_path / "o.png"),
                 "--backend", "opencv-telea"]) == 2
    err = capsys.readouterr().err
    assert "is 64x96 (WxH)" in err and "stored 96x64 and turned upright by its EXIF orientation" in err


def _exif_orientation_6() -> bytes:
    """An APP1 segment whose EXIF says orientation 6 (turn 90 degrees clockwise)."""
    import struct

    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    body = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def test_refinement_options_on_a_classical_backend_are_said_to_be_ignored(tmp_path, caplog):
    src, mask = _photo(tmp_path / "p.png"), _mask(tmp_path / "m.png")
    with caplog.at_level(logging.WARNING):
        assert main(["inpaint", str(src), "--mask", str(mask), "-o", str(tmp_path / "o.png"), "--backend", "opencv-ns",
                     "--thin-px", "50", "--wide-ns-weight", "1"]) == 0
    assert "is classical: the refinement of a model's fill (wide_ns_weight, thin_hole_px)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["inpaint", str(src), "--mask", str(mask), "-o", str(tmp_path / "o.png"),
                     "--backend", "opencv-ns"]) == 0
    assert "is classical" not in caplog.text
