"""The research recipes of export/recipes/*.py (docs/training.md quotes their command lines):
each main() runs end to end on a tiny generated data cache, and bad input ends in one line.

The network is replaced by a cheap stand-in fill (``torch_reference``): these check the
recipes' plumbing (cases, pairing, files), not the models' figures."""

import importlib
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from ..conftest import natural_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "export" / "recipes"
WEIGHTS = ROOT / "edgefill" / "models" / "nano.safetensors"
SCRIPTS = ("quick_check", "thin_refill_sweep", "thin_telea_check", "tta_sweep", "wide_mix_sweep",
           "wide_mix_gate_probe", "wide_mix_gate_sweep", "component_gate_check", "progressive_check", "turned_check",
           "multiscale_check", "seam_offset_check")


def recipe(name: str):
    if str(RECIPES) not in sys.path:
        sys.path.insert(0, str(RECIPES))
    return importlib.import_module(name)


def stand_in(graph, images, masks):
    """The model's place: the hole filled with a blur of the image (deterministic, fast)."""
    out = images.copy()
    for img, m, o in zip(images, masks, out, strict=True):
        hole = m[..., 0] > 0
        o[hole] = cv2.blur(img, (15, 15))[hole]
    return out


@pytest.fixture(autouse=True)
def _keep_torch_threads(monkeypatch):
    """The recipes set torch's thread count for the whole process: not for the tests after these."""
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A data cache of six photos and six textures (one validation image each, five training
    photos), and the network replaced by :func:`stand_in`."""
    for role in ("train", "texture", "eval"):
        d = tmp_path / "data" / "images" / role
        d.mkdir(parents=True)
        for i in range(6):
            cv2.imwrite(str(d / f"stone{i:02d}.png"), natural_image(80, 96, seed=i + 10 * len(role)))
    monkeypatch.setenv("EDGEFILL_DATA", str(tmp_path / "data"))
    qc = recipe("quick_check")
    monkeypatch.setattr(qc, "torch_reference", stand_in)
    for name in ("tta_sweep", "progressive_check", "turned_check", "multiscale_check"):
        monkeypatch.setattr(recipe(name), "torch_reference", stand_in)
    return tmp_path


def run(monkeypatch, capsys, name: str, *args) -> str:
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *map(str, args)])
    recipe(name).main()
    return capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_missing_weights_file_is_one_line(name, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [f"{name}.py", str(tmp_path / "nope.safetensors")])
    with pytest.raises(SystemExit, match="nope.safetensors does not exist"):
        recipe(name).main()


@pytest.mark.parametrize("name", ["quick_check", "thin_refill_sweep", "wide_mix_sweep", "tta_sweep"])
def test_missing_data_is_one_line_not_a_nan_or_a_traceback(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEFILL_DATA", str(tmp_path))
    monkeypatch.setattr(sys, "argv", [f"{name}.py", str(WEIGHTS)])
    with pytest.raises(SystemExit, match="no images for the .* set under .*make data"):
        recipe(name).main()


def test_quick_check_images_folder_missing_or_with_macos_resource_files(cache, monkeypatch, capsys):
    with pytest.raises(SystemExit, match="no such folder"):
        run(monkeypatch, capsys, "quick_check", WEIGHTS, "--images", cache / "nope")
    d = cache / "mine"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), natural_image(80, 96, seed=3))
    (d / "._a.png").write_bytes(b"\x00\x05\x16\x07 not an image")  # what macOS copies beside it
    out = run(monkeypatch, capsys, "quick_check", WEIGHTS, "--images", d, "--families", "scratches")
    assert "'scratches': " in out


def test_quick_check_paired_fill_passes_and_thin_refill(cache, monkeypatch, capsys):
    out = run(monkeypatch, capsys, "quick_check", WEIGHTS, "--val-texture", "--families", "free-form",
              "--fill-passes", "0,1", "--thin-px", "5", "--paired", "--ssim")
    assert out.count("minus the first") == 1 and "fill-passes 1 thin-px 5" in out
    with pytest.raises(SystemExit, match="unknown mask family 'scratch'"):
        run(monkeypatch, capsys, "quick_check", WEIGHTS, "--families", "scratch")


def test_thin_refill_sweep_writes_the_npz_named(cache, monkeypatch, capsys):
    npz = cache / "out" / "sweep"  # no .npz suffix: np.savez wrote sweep.npz and left this name free
    out = run(monkeypatch, capsys, "thin_refill_sweep", WEIGHTS, "--radii", "2,2,3", "--ns-weights", "1",
              "--per-bucket", "1", "--npz", npz)
    assert out.count("radius") == 2 and "minus the first" in out
    d = np.load(npz)
    assert d["r2_w1"].shape == (1, 4, 1) and list(d["images"]) == ["stone05.png"]


def test_wide_mix_sweep_share_zero_is_the_reference_once(cache, monkeypatch, capsys):
    out = run(monkeypatch, capsys, "wide_mix_sweep", WEIGHTS, "--families", "scratches", "--shares", "0,0.2",
              "--scales", "1,4", "--per-bucket", "1")
    assert out.count("share 0 ") == 1 and out.count(" d ") == 2


def test_tta_sweep_runs(cache, monkeypatch, capsys):
    out = run(monkeypatch, capsys, "tta_sweep", WEIGHTS, "--families", "scratches", "--per-bucket", "1",
              "--wide", "0.2")
    assert [ln.split()[3] for ln in out.splitlines()] == ["plain", "h", "hv", "d8"]


def test_tta_sweep_turns_and_mirrors_each_fill_back(cache, monkeypatch, capsys):
    """The stand-in's box blur is the same in every orientation, so every ensemble equals the
    plain fill only if each turned or mirrored fill is turned back."""
    out = run(monkeypatch, capsys, "tta_sweep", WEIGHTS, "--families", "objects", "--per-bucket", "1")
    lines = out.splitlines()
    assert len(lines) == 4
    for line in lines[1:]:  # one validation photo: no interval, the difference itself
        assert " d +0.000 [" in line and gain(line) == gain(lines[0]), line


def test_multiscale_check_blends_the_half_resolution_fill_by_depth(cache, monkeypatch, capsys):
    out = run(monkeypatch, capsys, "multiscale_check", WEIGHTS, "--families", "objects", "--per-bucket", "1",
              "--alphas", "0,1", "--d0", "0", "--ramps", "8")
    lines = out.splitlines()
    assert [" ".join(ln.split(":")[0].split()[3:]) for ln in lines] == ["plain", "half", "a0 d0 r8", "a1 d0 r8"]
    assert " d +0.000 [" in lines[2] and gain(lines[2]) == gain(lines[0])  # a zero share is the plain fill
    assert gain(lines[1]) != gain(lines[0]) and gain(lines[3]) != gain(lines[0])


def test_seam_offset_check_carries_the_ring_residual_into_the_hole(cache, monkeypatch, capsys):
    """The generator's output replaced by a blur 8 levels too dark: its residual on the known
    ring is +8 everywhere, so a full correction moves the fill and a zero-weight one does not."""
    monkeypatch.setattr(recipe("seam_offset_check"), "raw_output",
                        lambda graph, img, hole: cv2.blur(img, (15, 15)).astype(np.float32) - 8)
    out = run(monkeypatch, capsys, "seam_offset_check", WEIGHTS, "--families", "objects", "--per-bucket", "1",
              "--rings", "2", "--sigmas", "4", "--taus", "1000", "--weights-w", "0,1")
    lines = out.splitlines()
    assert [" ".join(ln.split(":")[0].split()[3:]) for ln in lines] == \
        ["plain", "ring2 s4 tau1000 w0", "ring2 s4 tau1000 w1"]
    assert " d +0.000 [" in lines[1] and gain(lines[1]) == gain(lines[0])
    assert gain(lines[2]) != gain(lines[0])


def gain(line: str) -> str:
    return line.split("gain ")[1].split()[0]


def test_wide_mix_gate_probe_runs(cache, monkeypatch, capsys):
    out = run(monkeypatch, capsys, "wide_mix_gate_probe", WEIGHTS)
    assert out.startswith("cases: photos 8, textures 8")


def test_wide_mix_gate_sweep_collects_scores_and_refuses_to_overwrite(cache, monkeypatch, capsys):
    npz = cache / "gate" / "cases"
    run(monkeypatch, capsys, "wide_mix_gate_sweep", WEIGHTS, "--sets", "val-photos", "--families", "scratches",
        "--thin-shares", "0.9", "--out", npz)
    assert np.load(npz)["gain"].shape == (4, 13, 1)
    with pytest.raises(SystemExit):  # a second collect does not silently replace the first one's cases
        run(monkeypatch, capsys, "wide_mix_gate_sweep", WEIGHTS, "--sets", "val-photos", "--out", npz)
    assert "exists" in capsys.readouterr().err
    out = run(monkeypatch, capsys, "wide_mix_gate_sweep", "--score", npz)
    # photos only: nothing to choose on, where it printed "chosen: ... (mean texture gain +nan dB)"
    assert "nan" not in out and "no texture set" in out
    out = run(monkeypatch, capsys, "wide_mix_gate_sweep", "--score", npz, "--wide", "0.5,30")
    assert "nan" not in out
    for argv in (["--score"], [], ["--score", cache / "missing.npz"]):
        with pytest.raises(SystemExit):  # --score with no file started a half-hour collect
            run(monkeypatch, capsys, "wide_mix_gate_sweep", *argv)


def test_thin_telea_check_reference_is_the_runtime(cache, monkeypatch, capsys):
    out = run(monkeypatch, capsys, "thin_telea_check", WEIGHTS, "--sets", "val-photos:scratches",
              "--shares", "0.7", "--teleas", "0,0,0.5")
    assert out.count("w 0.70") == 2 and "reference" in out
    with pytest.raises(SystemExit, match="not SET:FAMILY"):
        run(monkeypatch, capsys, "thin_telea_check", WEIGHTS, "--sets", "val-photos")


def test_component_gate_check_runs(cache, monkeypatch, capsys):
    # flat on the left, coarse noise on the right: scratches on either side get different shares
    for p in (cache / "data" / "images").glob("*/*.png"):
        img = np.kron(np.random.default_rng(0).integers(0, 2, (32, 32, 1)) * 255, np.ones((8, 8, 3))).astype(np.uint8)
        img[:, :128] = 128
        cv2.imwrite(str(p), img)
    out = run(monkeypatch, capsys, "component_gate_check", WEIGHTS, "--photo-families", "scratches",
              "--texture-families", "scratches")
    rows = out.splitlines()[1:]
    assert [ln.split()[0] for ln in rows] == ["val-texture", "val-photos", "train-photos"]
    assert "cases changed 0/" not in rows[-1]


def test_progressive_check_pairs_each_setting_with_one_run(cache, monkeypatch, capsys):
    out = run(monkeypatch, capsys, "progressive_check", WEIGHTS, "--set", "val-photos", "--families", "objects",
              "--settings", "2:4,3:2")
    lines = out.splitlines()
    assert [ln.split(" passes ")[1].split(":")[0] for ln in lines] == ["1 ring 0", "2 ring 4", "3 ring 2"]
    assert "vs one run" not in lines[0] and all("vs one run" in ln for ln in lines[1:])


def test_turned_check_turns_the_fill_back(cache, monkeypatch, capsys):
    """The stand-in fill (a centred box blur) turns with its input, so a correctly turned-back
    fill scores exactly as the upright one; a wrong inverse turn would not."""
    out = run(monkeypatch, capsys, "turned_check", WEIGHTS, "--set", "val-photos", "--families", "objects")
    assert "turned 90 deg minus upright +0.000" in out and "turned 180 deg minus upright +0.000" in out
