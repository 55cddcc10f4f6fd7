import json

import cv2
import numpy as np
import pytest

import edgefill

from edgefill.cli import main
from edgefill.quality import BUCKETS, gains

from .conftest import LEARNED, natural_image


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    for i in range(2):
        cv2.imwrite(str(d / f"e{i}.png"), natural_image(150, 170, seed=40 + i))
    return d


def test_bench_quality_writes_tables_per_family(images, tmp_path, capsys):
    out, png = tmp_path / "q.json", tmp_path / "q.png"
    rc = main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "rects,scratches",
               "--crop", "128", "--per-bucket", "1", "--json", str(out), "--png", str(png)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert set(report["families"]) == {"rects", "scratches"}
    assert report["host"]["cpus"] and report["edgefill"]  # the machine the figures were measured on
    fam = report["families"]["rects"]
    assert [r["bucket"] for r in fam["table"]] == [f"{int(lo * 100)}-{int(hi * 100)}%" for lo, hi in BUCKETS]
    assert {"nano", "opencv-telea", "opencv-ns"} <= set(fam["table"][0])
    assert fam["table"][0]["n"] == 2  # 2 images x 1 mask
    assert set(fam["gains_10_50"]["nano"]) >= {"mean_psnr_gain_db", "beats_classical_ssim_everywhere"}
    assert cv2.imread(str(png)) is not None
    assert "mean gain over the better classical method" in capsys.readouterr().out


def test_gains_compare_with_the_better_classical_method():
    def row(bucket, m, telea, ns):
        return {"bucket": bucket, "m": {"psnr": m[0], "ssim": m[1]}, "opencv-telea": {"psnr": telea[0], "ssim": telea[1]},
                "opencv-ns": {"psnr": ns[0], "ssim": ns[1]}}

    table = [row("0-10%", (0, 0), (50, 1), (50, 1)),  # ignored: outside 10-50%
             row("10-20%", (21, 0.6), (20, 0.5), (19, 0.55)), row("20-30%", (20, 0.5), (18, 0.4), (19, 0.52))]
    g = gains(table, ["m"])["m"]
    assert g["mean_psnr_gain_db"] == pytest.approx(1.0) and g["min_psnr_gain_db"] == pytest.approx(1.0)
    assert g["beats_classical_ssim_everywhere"] is False and g["min_ssim_gain"] == pytest.approx(-0.02)


@pytest.mark.parametrize("args,msg", [(["--family", "nope"], "unknown mask family"), (["--models", "nope"], "unknown model"),
                                      (["--models", "nano", "--feather", "-2"], "feather"),
                                      (["--boot", "-1"], "--boot"), (["--thin-radius", "0.5"], "--thin-radius"),
                                      (["--thin-ns-weight", "2"], "--thin-ns-weight"),
                                      (["--seed", "-1"], "--seed"), (["--limit", "0"], "--limit"),
                                      (["--models", "nano", "--crop", "100"], "not a multiple of 64"),
                                      (["--png", "q.txt"], "unsupported extension")])
def test_bad_arguments_exit_2_with_one_line(images, args, msg, capsys):
    assert main(["bench", "quality", "--images", str(images), *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


@pytest.mark.parametrize("flag", ["--json", "--csv", "--png"])
def test_an_output_that_is_a_folder_is_refused_before_the_run(images, tmp_path, flag, capsys):
    folder = tmp_path / "out.png"
    folder.mkdir()
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", flag, str(folder)]) == 2
    err = capsys.readouterr().err
    assert "it is a folder" in err and "Traceback" not in err


def test_empty_folder_is_a_clear_error(tmp_path, capsys):
    """It said "run `make data` (or pass --images DIR)" to a user who had passed --images."""
    assert main(["bench", "quality", "--images", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"no images in {tmp_path}" in err and "make data" not in err


@pytest.mark.parametrize("thin", [[], ["--thin-px", "3"]])
def test_thin_hybrid_is_scored_beside_the_model_by_default(images, tmp_path, thin):
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "scratches",
                 "--crop", "128", "--per-bucket", "1", "--json", str(out), *thin]) == 0
    fam = json.loads(out.read_text())["families"]["scratches"]
    assert {"nano", "nano+ns"} <= set(fam["gains_10_50"])
    assert fam["table"][1]["nano+ns"]["psnr"] != fam["table"][1]["nano"]["psnr"]


def test_the_thin_hybrid_uses_each_models_radius_unless_told(images, tmp_path, capsys):
    """As Inpainter runs them: a model with the radius it records, another with the default;
    --thin-radius overrides both; the JSON and the printout say which was used; the NS share
    reaches the refill."""
    onnx = pytest.importorskip("onnx", reason="rewriting a model's metadata needs the onnx package (edgefill[export])")

    from edgefill.models import resolve_model
    from edgefill.thin import NS_RADIUS

    m = onnx.load(str(resolve_model("nano").path))
    entry = m.metadata_props.add()
    entry.key, entry.value = "edgefill.thin_radius", "5"
    wide = tmp_path / "nano-wide.onnx"
    onnx.save(m, str(wide))
    radii, tables = {}, {}
    for extra in ([], ["--thin-radius", "4"], ["--thin-ns-weight", "1"],
                  ["--wide-ns-weight", "0.3", "--wide-ns-max-std", "128"]):
        out = tmp_path / "q.json"
        assert main(["bench", "quality", "--images", str(images), "--models", f"nano,{wide}", "--family",
                     "scratches", "--crop", "128", "--per-bucket", "1", "--limit", "1", "--boot", "0",
                     "--json", str(out), *extra]) == 0
        report = json.loads(out.read_text())
        radii[tuple(extra)] = {name: r["thin_radius"] for name, r in report["refill"].items()}
        tables[tuple(extra)] = report["families"]["scratches"]["table"]
    assert radii[()] == {"nano+ns": NS_RADIUS, f"{wide}+ns": 5.0}
    assert radii[("--thin-radius", "4")] == {"nano+ns": 4.0, f"{wide}+ns": 4.0}
    assert "nano+ns: as Inpainter runs it" in capsys.readouterr().out
    assert tables[()][1]["nano+ns"] != tables[("--thin-ns-weight", "1")][1]["nano+ns"]
    ungated = ("--wide-ns-weight", "0.3", "--wide-ns-max-std", "128")
    assert tables[()][1]["nano+ns"] != tables[ungated][1]["nano+ns"]
    assert tables[()][1]["nano"] == tables[ungated][1]["nano"]


def test_models_only_with_thin_px_0(images, tmp_path):
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "scratches",
                 "--crop", "128", "--per-bucket", "1", "--thin-px", "0", "--wide-ns-weight", "0",
                 "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["families"]["scratches"]["gains_10_50"]) == {"nano"}


def test_the_thin_hybrid_reuses_the_models_fill():
    import numpy as np

    from edgefill.quality import _LastCall, _Refined

    from .fakes import SlowBackend

    backend = SlowBackend(delay=0.0)
    model = _LastCall(backend)
    hybrid = _Refined(model, 3)
    img, mask = natural_image(64, 64, seed=1), np.zeros((64, 64), np.uint8)
    mask[30, 5:60] = 255
    for _ in range(2):
        plain = model.infer(img, mask)
        assert not np.array_equal(hybrid.infer(img, mask), plain)  # the scratch refilled by NS
    assert backend.calls == 1 and model.name == "slow"  # one model run for the same image and mask
    model.infer(img.copy(), mask)
    assert backend.calls == 2


def test_figure_columns_keep_shipped_names_whole():
    """Regression: ``Path("lite.int8").stem`` titled the INT8 column "lite"."""
    from edgefill.quality import method_label

    assert method_label("lite.int8") == "lite.int8"
    assert method_label("opencv-telea") == "opencv-telea"
    assert method_label("/models/mine.int8.onnx") == "mine.int8"
    assert method_label("bundles/jetson-orin") == "jetson-orin"
    assert method_label("/models/mine.onnx+ns") == "mine+ns"


def test_figure_columns_tell_two_models_of_one_name_apart():
    """Regression: the shipped ``nano`` beside ``old/nano.onnx`` gave two columns titled "nano"."""
    from edgefill.quality import method_labels

    assert method_labels(["nano", "/tmp/old/nano.onnx", "nano+ns", "/tmp/old/nano.onnx+ns", "opencv-ns"]) == \
        ["nano", "old/nano", "nano+ns", "old/nano+ns", "opencv-ns"]
    assert method_labels(["a/x.onnx", "b/x.onnx"]) == ["a/x", "b/x"]
    assert method_labels(["lite", "nano"]) == ["lite", "nano"]


def test_a_feathered_ring_is_scored_through_the_inpainter(images, tmp_path):
    """--feather N scores the model through Inpainter with an N px seam ring: the model then
    fills the grown hole, which costs hole PSNR (why the default ring is 0)."""
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "free-form",
                 "--crop", "128", "--per-bucket", "1", "--thin-px", "0", "--wide-ns-weight", "0", "--feather", "6",
                 "--json", str(out)]) == 0
    g = json.loads(out.read_text())["families"]["free-form"]["gains_10_50"]
    assert g["nano+feather6"]["mean_psnr_gain_db"] < g["nano"]["mean_psnr_gain_db"]


def test_intervals_and_per_case_scores(images, tmp_path, capsys):
    """Each mean gain gets a 95% bootstrap interval over the images, pairs of models scored the
    same way get a paired interval on their difference, and --csv holds every case's scores, from
    which the table's bucket means are recomputed."""
    import csv

    out, rows = tmp_path / "q.json", tmp_path / "cases.csv"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano,nano.int8", "--family", "rects",
                 "--crop", "128", "--per-bucket", "2", "--boot", "200", "--json", str(out), "--csv", str(rows)]) == 0
    fam = json.loads(out.read_text())["families"]["rects"]
    lo, hi = fam["gains_10_50"]["nano"]["ci95_psnr_gain_db"]
    assert lo <= fam["gains_10_50"]["nano"]["mean_psnr_gain_db"] <= hi
    assert set(fam["differences_10_50"]) == {"nano - nano.int8", "nano+ns - nano.int8+ns"}
    d = fam["differences_10_50"]["nano - nano.int8"]
    assert d["ci95_low_db"] <= d["mean_db"] <= d["ci95_high_db"]
    assert "95% CI" in capsys.readouterr().out
    table = list(csv.DictReader(rows.open()))
    methods = {"nano", "nano.int8", "nano+ns", "nano.int8+ns", "opencv-telea", "opencv-ns"}
    assert len(table) == 2 * len(BUCKETS) * 2 * len(methods)  # images x buckets x masks x methods
    assert {r["method"] for r in table} == methods
    ns_20_30 = [float(r["hole_psnr_db"]) for r in table if r["method"] == "opencv-ns" and r["bucket"] == "20-30%"]
    assert sum(ns_20_30) / len(ns_20_30) == pytest.approx(fam["table"][2]["opencv-ns"]["psnr"], abs=1e-3)


def test_no_intervals_with_boot_0(images, tmp_path):
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "rects",
                 "--crop", "128", "--per-bucket", "1", "--boot", "0", "--json", str(out)]) == 0
    fam = json.loads(out.read_text())["families"]["rects"]
    assert "ci95_psnr_gain_db" not in fam["gains_10_50"]["nano"] and fam["differences_10_50"] == {}


def _disk_mask(size: int, ratio: float):
    """A square mask with one centred disk covering ``ratio`` of it."""
    import numpy as np

    m = np.zeros((size, size), np.uint8)
    cv2.circle(m, (size // 2, size // 2), int(round(size * (ratio / np.pi) ** 0.5)), 255, -1)
    return m


def test_own_masks_are_cropped_like_the_images_and_bucketed_by_hole_ratio(tmp_path):
    from edgefill.quality import read_own_masks

    cv2.imwrite(str(tmp_path / "a_small.png"), _disk_mask(256, 0.15))
    cv2.imwrite(str(tmp_path / "b_large.png"), _disk_mask(256, 0.35))
    cv2.imwrite(str(tmp_path / "c_small.png"), _disk_mask(512, 0.12))  # scaled to 128 px
    cv2.imwrite(str(tmp_path / "d_empty.png"), _disk_mask(256, 0.0) * 0)
    cv2.imwrite(str(tmp_path / "e_full.png"), _disk_mask(256, 0.0) + 255)
    (tmp_path / "f_broken.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored: not an image name")
    masks, skipped = read_own_masks(tmp_path, 128)
    assert [(m.name, m.bucket, m.slot) for m in masks] == [("a_small.png", 1, 0), ("b_large.png", 3, 0),
                                                           ("c_small.png", 1, 1)]
    assert all(m.mask.shape == (128, 128) and set(m.mask.ravel()) <= {0, 255} for m in masks)
    assert [s.split(":")[0] for s in skipped] == ["d_empty.png", "e_full.png", "f_broken.png"]
    assert "no hole" in skipped[0] and "beyond the 0-50% buckets" in skipped[1]


def test_bench_quality_on_own_masks(images, tmp_path, capsys):
    """--masks puts every mask on every image; buckets without a mask are reported empty and left
    out of the mean gain, which still matches the table; the CSV names each case's mask file."""
    import csv

    masks = tmp_path / "masks"
    masks.mkdir()
    for name, ratio in (("m1.png", 0.15), ("m2.png", 0.16), ("m3.png", 0.33)):
        cv2.imwrite(str(masks / name), _disk_mask(200, ratio))
    out, rows = tmp_path / "q.json", tmp_path / "cases.csv"
    assert main(["bench", "quality", "--images", str(images), "--masks", str(masks), "--models", "nano",
                 "--crop", "128", "--boot", "100", "--thin-px", "0", "--wide-ns-weight", "0", "--json", str(out), "--csv", str(rows)]) == 0
    report = json.loads(out.read_text())
    assert list(report["families"]) == ["own:masks"]  # no generated family unless --family is given
    fam = report["families"]["own:masks"]
    assert [r["n"] for r in fam["table"]] == [0, 4, 0, 2, 0]  # 2 images x (2, 1) masks
    assert fam["table"][0]["nano"] is None
    table = {r["bucket"]: r for r in fam["table"]}
    by_bucket = [table[b]["nano"]["psnr"] - max(table[b][c]["psnr"] for c in ("opencv-telea", "opencv-ns"))
                 for b in ("10-20%", "30-40%")]
    g = fam["gains_10_50"]["nano"]
    assert g["mean_psnr_gain_db"] == pytest.approx(sum(by_bucket) / 2)
    lo, hi = g["ci95_psnr_gain_db"]
    assert lo <= g["mean_psnr_gain_db"] <= hi
    cases = list(csv.DictReader(rows.open()))
    assert len(cases) == 2 * 3 * 3  # images x masks x (nano, telea, ns)
    assert {r["mask"] for r in cases} == {"m1.png", "m2.png", "m3.png"}
    assert "no masks" in capsys.readouterr().out


def test_own_masks_with_generated_families(images, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    cv2.imwrite(str(masks / "m.png"), _disk_mask(128, 0.25))
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--masks", str(masks), "--family", "rects",
                 "--models", "nano", "--crop", "128", "--per-bucket", "1", "--boot", "0", "--json", str(out)]) == 0
    assert list(json.loads(out.read_text())["families"]) == ["rects", "own:masks"]


def test_own_masks_only_in_0_10_have_no_mean_gain(images, tmp_path, capsys):
    masks = tmp_path / "masks"
    masks.mkdir()
    cv2.imwrite(str(masks / "m.png"), _disk_mask(128, 0.05))
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--masks", str(masks), "--models", "nano",
                 "--crop", "128", "--json", str(out)]) == 0
    g = json.loads(out.read_text())["families"]["own:masks"]["gains_10_50"]["nano"]
    assert g["mean_psnr_gain_db"] is None and "ci95_psnr_gain_db" not in g
    assert "no mask in the 10-50% buckets" in capsys.readouterr().out


@pytest.mark.parametrize("setup,msg", [("missing", "is not a folder"), ("unusable", "no usable mask"),
                                       ("nothing", "no mask family")])
def test_bad_own_masks_exit_2_with_one_line(images, tmp_path, setup, msg, capsys):
    masks = tmp_path / "masks"
    if setup != "missing":
        masks.mkdir()
        cv2.imwrite(str(masks / "full.png"), _disk_mask(64, 0.0) + 255)
    args = ["--family", ""] if setup == "nothing" else ["--masks", str(masks)]
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_a_models_recorded_wide_mix_gets_a_refined_column_unless_told_off(images, tmp_path):
    """The wide NS mix is on by default, so every model is scored refined (MODEL+ns) even
    without the thin-hole refill, each with the settings it records; --wide-ns-weight 0 turns
    that off."""
    onnx = pytest.importorskip("onnx", reason="rewriting a model's metadata needs the onnx package (edgefill[export])")

    from edgefill.models import resolve_model

    m = onnx.load(str(resolve_model("nano").path))
    for key, value in (("wide_ns_weight", "0.3"), ("wide_ns_max_std", "128")):  # every hole mixed
        entry = m.metadata_props.add()
        entry.key, entry.value = f"edgefill.{key}", value
    mixed = tmp_path / "nano-mixed.onnx"
    onnx.save(m, str(mixed))
    reports = {}
    for extra in ([], ["--wide-ns-weight", "0"]):
        out = tmp_path / "q.json"
        assert main(["bench", "quality", "--images", str(images), "--models", f"nano,{mixed}", "--family", "free-form",
                     "--crop", "128", "--per-bucket", "1", "--limit", "1", "--boot", "0", "--thin-px", "0",
                     "--json", str(out), *extra]) == 0
        reports[tuple(extra)] = json.loads(out.read_text())
    assert reports[()]["refill"][f"{mixed}+ns"] == {"thin_radius": 2.0, "wide_ns_weight": 0.3, "wide_ns_scale": 4,
                                                     "wide_ns_max_std": 128.0, "thin_ns_weight": 0.7}
    assert set(reports[()]["refill"]) == {"nano+ns", f"{mixed}+ns"}
    table = reports[()]["families"]["free-form"]["table"]
    assert table[2][f"{mixed}+ns"]["psnr"] != table[2][str(mixed)]["psnr"]
    assert reports[("--wide-ns-weight", "0")]["refill"] == {}


def test_a_broken_image_is_a_one_line_error_and_folders_are_not_images(images, tmp_path, capsys):
    """Regression: an unreadable file in --images ended the run halfway with a traceback; a
    sub-folder whose name ends in .png was read as an image."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(images, broken)
    (broken / "z.png").write_bytes(b"not an image")
    assert main(["bench", "quality", "--images", str(broken), "--models", "nano"]) == 2
    err = capsys.readouterr().err
    assert "z.png is not a readable image" in err and "Traceback" not in err
    (broken / "z.png").unlink()
    (broken / "sub.png").mkdir()
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(broken), "--models", "nano", "--family", "rects", "--crop", "64",
                 "--per-bucket", "1", "--boot", "0", "--thin-px", "0", "--wide-ns-weight", "0",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["images"] == ["e0.png", "e1.png"]


def test_csv_quotes_mask_and_folder_names_with_commas(images, tmp_path):
    """Regression: a mask file (or --masks folder) named with a comma shifted the CSV's columns."""
    import csv

    masks = tmp_path / "my,masks"
    masks.mkdir()
    cv2.imwrite(str(masks / "a,b.png"), _disk_mask(128, 0.25))
    rows = tmp_path / "cases.csv"
    assert main(["bench", "quality", "--images", str(images), "--masks", str(masks), "--models", "nano",
                 "--crop", "128", "--boot", "0", "--thin-px", "0", "--wide-ns-weight", "0", "--limit", "1",
                 "--csv", str(rows)]) == 0
    cases = list(csv.DictReader(rows.open()))
    assert len(cases) == 3 and all(len(r) == 7 for r in cases)
    assert {(r["family"], r["mask"], r["bucket"]) for r in cases} == {("own:my,masks", "a,b.png", "20-30%")}


def test_no_interval_from_one_image(images, tmp_path, capsys):
    """Regression: with one image every resample is that image, and a 0-width "95% CI" was
    printed as if the gain were certain."""
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano,nano.int8", "--family", "rects",
                 "--crop", "128", "--per-bucket", "1", "--limit", "1", "--thin-px", "0", "--wide-ns-weight", "0",
                 "--boot", "100", "--json", str(out)]) == 0
    fam = json.loads(out.read_text())["families"]["rects"]
    assert "ci95_psnr_gain_db" not in fam["gains_10_50"]["nano"] and fam["differences_10_50"] == {}
    printed = capsys.readouterr().out
    assert "no interval from one image" in printed and "95% CI" not in printed


@pytest.mark.parametrize("models", ["nano", "nano,no-such-model"])
def test_every_backend_the_run_opened_is_closed(images, monkeypatch, models):
    """Called from Python (``edgefill.cli.main``), a run, or one stopped by a bad model name,
    leaves no ONNX Runtime session or classical backend open behind it."""
    import edgefill

    made = []
    real = edgefill.create_backend

    def recording(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(edgefill, "create_backend", recording)
    rc = main(["bench", "quality", "--images", str(images), "--models", models, "--family", "rects",
               "--crop", "128", "--per-bucket", "1", "--limit", "1", "--boot", "0"])
    assert rc == (0 if models == "nano" else 2)
    assert made and all(b._closed for b in made)


@LEARNED
def test_the_feathered_column_is_the_ring_alone():
    """--feather N's column left the NS mix the model records on (nano's, on smooth surroundings),
    so it scored the mix too, 2.5-2.9 dB above the ring alone, whatever --wide-ns-weight said; it
    is the raw model with the ring and nothing else."""
    from edgefill.quality import _Feathered

    yy, xx = np.mgrid[0:128, 0:128]
    smooth = np.dstack([(60 + yy // 2), (90 + xx // 3), (120 + (yy + xx) // 4)]).astype(np.uint8)
    smooth = cv2.GaussianBlur(smooth, (5, 5), 0)  # surroundings the mix's gate lets through
    mask = np.zeros((128, 128), np.uint8)
    mask[40:90, 30:100] = 255
    backend = edgefill.create_backend("onnxruntime", model="nano")
    assert backend.refill.wide_ns_weight  # nano records a mix: the check can fail
    got = _Feathered(backend, 6).infer(smooth, mask)
    with edgefill.Inpainter(model="nano", backend="onnxruntime", roi_config=edgefill.RoiConfig(buckets=None, feather=6),
                            thin_hole_px=0, wide_ns_weight=0) as ring_alone:
        assert np.array_equal(got, ring_alone.inpaint(smooth, mask))
    backend.close()
