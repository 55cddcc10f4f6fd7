import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export import pack as pack_mod  # noqa: E402
from edgefill_export.pack import PackError, load_pack, pack_photos  # noqa: E402
from edgefill_export.train import BatchPrefetcher, CropSampler, TrainConfig, photo_sets, train  # noqa: E402
from edgefill_export.weights import _read, load_weights  # noqa: E402

from ..conftest import natural_image  # noqa: E402


def _psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_pack_round_trip_keeps_names_order_and_pixels(photo_dir, tmp_path):
    paths = sorted(photo_dir.iterdir(), reverse=True)  # order given must not matter
    info = pack_photos(paths, tmp_path / "p.npz", progress=False)
    assert info.photos == 12 and info.jpeg_quality == pack_mod.QUALITIES[0] and info.skipped == []
    assert (tmp_path / "p.npz").stat().st_size == info.bytes
    names, photos = load_pack(tmp_path / "p.npz")
    assert names == sorted(p.name for p in paths)
    for name, img in zip(names, photos, strict=True):
        orig = cv2.imread(str(photo_dir / name))
        assert img.shape == orig.shape and _psnr(img, orig) > 35


def test_large_photos_are_capped_like_training_decodes_them(tmp_path):
    src = tmp_path / "big.png"
    cv2.imwrite(str(src), natural_image(300, 500, seed=3))
    pack_photos([src], tmp_path / "p.npz", max_side=250, progress=False)
    _, (img,) = load_pack(tmp_path / "p.npz")
    assert img.shape == (150, 250, 3)
    assert _psnr(img, pack_mod.decode_photo(src, 250)) > 35


@pytest.mark.parametrize("grey", [False, True])
def test_a_12_bit_photo_trains_as_the_runtime_reads_it(tmp_path, grey):
    """A 12-bit inspection image stored in 16 bits was divided by 256 (cv2.imread): a nearly
    black photo (max 15) in training and in packs. It is scaled over the bits it uses, as
    edgefill inpaint and bench quality read it."""
    from edgefill.imageio import read_image

    img8 = natural_image(120, 160, seed=4)
    if grey:
        img8 = cv2.cvtColor(img8, cv2.COLOR_BGR2GRAY)
    src = tmp_path / "part.png"
    wide = (img8.astype(np.int64) * 4095 // 255).astype(np.uint16)
    wide.flat[0] = 4095  # the photo uses 12 bits
    cv2.imwrite(str(src), wide)
    decoded = pack_mod.decode_photo(src)
    assert decoded.dtype == np.uint8 and decoded.shape == (120, 160, 3)
    assert np.array_equal(decoded, read_image(src))
    as_bgr = cv2.cvtColor(img8, cv2.COLOR_GRAY2BGR) if grey else img8
    assert np.abs(decoded.astype(int) - as_bgr).reshape(-1, 3)[1:].max() <= 1  # the 8-bit photo it was made from


def test_unreadable_photos_are_named_when_training_leaves_them_out(photo_dir, tmp_path, capsys):
    from edgefill_export.train import load_photos

    bad = tmp_path / "zz_broken.png"
    bad.write_bytes(b"not an image")
    photos = load_photos([*sorted(photo_dir.iterdir())[:2], bad])
    assert len(photos) == 2
    assert "1 of 3 files are left out as unusable images: zz_broken.png (is not a readable image)" in capsys.readouterr().err


def test_the_quality_drops_to_fit_the_budget_and_an_impossible_budget_is_an_error(photo_dir, tmp_path):
    paths = sorted(photo_dir.iterdir())
    best = pack_photos(paths, tmp_path / "a.npz", progress=False).bytes
    smaller = pack_photos(paths, tmp_path / "b.npz", budget_bytes=int(best * 0.8), progress=False)
    assert smaller.jpeg_quality < pack_mod.QUALITIES[0] and smaller.bytes <= best * 0.8
    with pytest.raises(PackError, match="do not fit"):
        pack_photos(paths, tmp_path / "c.npz", budget_bytes=1000, progress=False)
    assert not (tmp_path / "c.npz").exists()


def test_unreadable_files_are_skipped_and_listed(photo_dir, tmp_path):
    bad = tmp_path / "zz_broken.png"
    bad.write_bytes(b"not an image")
    info = pack_photos([*sorted(photo_dir.iterdir())[:2], bad], tmp_path / "p.npz", progress=False)
    assert info.photos == 2 and info.skipped == ["zz_broken.png"]
    with pytest.raises(PackError, match="could be decoded"):
        pack_photos([bad], tmp_path / "q.npz", progress=False)


def test_a_file_that_is_not_a_pack_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(PackError, match="cannot read"):
        load_pack(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(PackError):
        load_pack(tmp_path / "junk.npz")


def test_a_pack_gives_training_the_same_split_as_the_folder(photo_dir, tmp_path):
    pack_photos(sorted(photo_dir.iterdir()), tmp_path / "p.npz", progress=False)
    from_pack = photo_sets(tmp_path / "p.npz")
    from_dir = photo_sets(sorted(photo_dir.iterdir(), reverse=True))
    assert [len(s) for s in from_pack] == [len(s) for s in from_dir] == [11, 1]
    for a, b in zip(from_pack[1] + from_pack[0], from_dir[1] + from_dir[0], strict=True):
        assert _psnr(a, b) > 35


def test_a_folder_with_an_unreadable_file_splits_as_its_pack(photo_dir, tmp_path):
    """The folder was split by name before the unreadable file was dropped, the pack after: they
    held out different photos, and the folder's held-out photo was among the pack's training ones."""
    import shutil

    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted(photo_dir.iterdir()):
        shutil.copy(p, folder / p.name)
    (folder / f"{sorted(photo_dir.iterdir())[1].stem}_broken.png").write_bytes(b"not an image")
    files = sorted(folder.iterdir())
    pack_photos(files, tmp_path / "p.npz", progress=False)
    from_pack, from_dir = photo_sets(tmp_path / "p.npz"), photo_sets(files)
    assert [len(s) for s in from_pack] == [len(s) for s in from_dir] == [11, 1]
    assert _psnr(from_pack[1][0], from_dir[1][0]) > 35


def test_pack_command_writes_a_pack_and_rejects_an_empty_folder(photo_dir, tmp_path, capsys):
    assert pack_mod.main(["--images", str(photo_dir), "--out", str(tmp_path / "p.npz")]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == 12
    empty = tmp_path / "empty"
    empty.mkdir()
    assert pack_mod.main(["--images", str(empty), "--out", str(tmp_path / "q.npz")]) == 2
    assert "no images" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        pack_mod.main(["--images", str(tmp_path / "missing"), "--out", str(tmp_path / "r.npz")])
    assert "not a folder" in capsys.readouterr().err


def _cfg(steps, **kw):
    return TrainConfig(model="nano", steps=steps, batch=2, crop=64, save_every=2, val_every=2, warmup=2, threads=1, **kw)


def test_worker_threads_make_the_same_batches(photo_dir):
    photos, _ = photo_sets(sorted(photo_dir.iterdir()))
    sampler = CropSampler(photos, 64, 0.5)
    cfg = _cfg(6)
    serial, threaded = BatchPrefetcher(sampler, cfg), BatchPrefetcher(sampler, _cfg(6, workers=2))
    try:
        for step in range(6):
            (xa, va), (xb, vb) = serial.get(step), threaded.get(step)
            assert torch.equal(xa, xb) and torch.equal(va, vb)
        assert not torch.equal(serial.get(0)[0], serial.get(1)[0])
    finally:
        threaded.close()


def test_time_limit_stops_checkpointed_and_the_rerun_finishes_identically(photo_dir, tmp_path):
    pack_photos(sorted(photo_dir.iterdir()), tmp_path / "p.npz", progress=False)
    straight = train(_cfg(4), tmp_path / "a", tmp_path / "p.npz")
    early = train(_cfg(4, max_minutes=1e-9), tmp_path / "b", tmp_path / "p.npz")
    assert _read(early)[1]["finished"] == "false" and _read(straight)[1]["finished"] == "true"
    resumed = train(_cfg(4, workers=2), tmp_path / "b", tmp_path / "p.npz")
    a, b = load_weights(straight).state_dict(), load_weights(resumed).state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0, msg=k)


def test_stop_at_keeps_the_schedule_and_sigterm_saves_a_checkpoint(photo_dir, tmp_path):
    import os
    import signal
    import threading

    photos = sorted(photo_dir.iterdir())
    straight = train(_cfg(4), tmp_path / "a", photos)
    part = train(_cfg(4, stop_at=2), tmp_path / "b", photos)
    assert _read(part)[1]["finished"] == "false" and _read(part)[1]["steps"] == "2"
    resumed = train(_cfg(4), tmp_path / "b", photos)
    for k, v in load_weights(straight).state_dict().items():
        torch.testing.assert_close(v, load_weights(resumed).state_dict()[k], atol=0, rtol=0, msg=k)
    # SIGTERM mid-run: the checkpoint is saved, then the interrupt propagates. The signal is sent
    # once the run has put its handler in place (and a few steps later): a timer of 1.5 s killed
    # the whole test session when a loaded machine took longer than that to set the run up
    import _thread
    import time
    from dataclasses import replace

    before = signal.getsignal(signal.SIGTERM)
    no_handler = []

    def terminate_once_handled():
        deadline = time.monotonic() + 60
        while signal.getsignal(signal.SIGTERM) is before:
            if time.monotonic() > deadline:  # never handled: end the run without killing the session
                no_handler.append(True)
                _thread.interrupt_main()
                return
            time.sleep(0.01)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=terminate_once_handled, daemon=True)
    sender.start()
    with pytest.raises(KeyboardInterrupt):
        train(replace(_cfg(100000), save_every=100000, val_every=100000), tmp_path / "c", photos)
    sender.join()
    assert not no_handler, "train() put no SIGTERM handler in place within 60 s"
    assert (tmp_path / "c" / "checkpoint.safetensors").exists()
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def test_a_budget_the_jpegs_fit_but_the_npz_does_not_drops_the_quality(photo_dir, tmp_path):
    """The npz directory adds bytes on top of the JPEGs: a budget between the two must fall
    back to the next quality, not fail."""
    paths = sorted(photo_dir.iterdir())
    best = pack_photos(paths, tmp_path / "a.npz", progress=False)
    tight = pack_photos(paths, tmp_path / "b.npz", budget_bytes=best.bytes - 50, progress=False)
    assert tight.jpeg_quality == pack_mod.QUALITIES[1] and tight.bytes <= best.bytes - 50


def test_a_pack_cut_short_is_a_pack_error(photo_dir, tmp_path):
    pack_photos(sorted(photo_dir.iterdir())[:3], tmp_path / "p.npz", progress=False)
    data = (tmp_path / "p.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(PackError, match="cannot read"):
        load_pack(tmp_path / "cut.npz")


@pytest.mark.parametrize("option", [["--budget-mib", "nan"], ["--budget-mib", "inf"], ["--budget-mib", "0"],
                                    ["--max-side", "0"], ["--max-side", "-5"]])
def test_pack_command_refuses_bad_numbers_in_one_line(photo_dir, tmp_path, capsys, option):
    with pytest.raises(SystemExit):
        pack_mod.main(["--images", str(photo_dir), "--out", str(tmp_path / "p.npz"), *option])
    err = capsys.readouterr().err
    assert option[0] in err and "Traceback" not in err
    assert not (tmp_path / "p.npz").exists()
    with pytest.raises(PackError, match="max_side"):
        pack_photos(sorted(photo_dir.iterdir())[:1], tmp_path / "q.npz", max_side=0, progress=False)


def test_pack_command_reports_an_unwritable_output_in_one_line(photo_dir, tmp_path, capsys):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("not a folder")
    for out in (tmp_path / "folder", tmp_path / "file" / "p.npz"):
        assert pack_mod.main(["--images", str(photo_dir), "--out", str(out)]) == 2
        err = capsys.readouterr().err.split("\r")[-1]  # after the progress bars
        assert err.startswith("error: cannot write") and len(err.splitlines()) == 1
    assert (tmp_path / "file").read_text() == "not a folder" and list((tmp_path / "folder").iterdir()) == []


def test_a_strip_thinner_than_the_shrink_keeps_one_pixel(tmp_path):
    """A 1 x 6000 strip capped at 2048 would be 0.34 pixels high: OpenCV's resize raised."""
    src = tmp_path / "strip.png"
    cv2.imwrite(str(src), np.full((1, 6000, 3), 128, np.uint8))
    assert pack_mod.decode_photo(src).shape == (1, 2048, 3)
    info = pack_photos([src], tmp_path / "p.npz", progress=False)
    assert info.photos == 1 and load_pack(tmp_path / "p.npz")[1][0].shape == (1, 2048, 3)


def test_the_default_pack_fits_the_device_carry_beside_the_tracked_tree():
    """The device tool sends the tracked files and the carried paths, 64 MiB in all: the default
    pack plus a lite weights file to start a run from (docs/training.md) must fit beside the
    tracked tree, which grows with every model shipped."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    tracked = sum((root / name).stat().st_size for name in listed.decode().split("\0") if name and (root / name).is_file())
    init = (root / "edgefill" / "models" / "lite.safetensors").stat().st_size
    assert tracked + pack_mod.DEFAULT_BUDGET_MIB * 2**20 + init <= 64 * 2**20, f"tracked files: {tracked / 2**20:.1f} MiB"
