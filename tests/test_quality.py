import json

import cv2
import pytest

from edgefill.cli import main
from edgefill.quality import BUCKETS, gains

from .conftest import natural_image


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
                                      (["--boot", "-1"], "--boot")])
def test_bad_arguments_exit_2_with_one_line(images, args, msg, capsys):
    assert main(["bench", "quality", "--images", str(images), *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_empty_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["bench", "quality", "--images", str(tmp_path)]) == 2
    assert "no evaluation images" in capsys.readouterr().err


@pytest.mark.parametrize("thin", [[], ["--thin-px", "3"]])
def test_thin_hybrid_is_scored_beside_the_model_by_default(images, tmp_path, thin):
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "scratches",
                 "--crop", "128", "--per-bucket", "1", "--json", str(out), *thin]) == 0
    fam = json.loads(out.read_text())["families"]["scratches"]
    assert {"nano", "nano+ns-thin"} <= set(fam["gains_10_50"])
    assert fam["table"][1]["nano+ns-thin"]["psnr"] != fam["table"][1]["nano"]["psnr"]


def test_models_only_with_thin_px_0(images, tmp_path):
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "scratches",
                 "--crop", "128", "--per-bucket", "1", "--thin-px", "0", "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["families"]["scratches"]["gains_10_50"]) == {"nano"}


def test_the_thin_hybrid_reuses_the_models_fill():
    import numpy as np

    from edgefill.quality import _LastCall, _ThinHybrid

    from .fakes import SlowBackend

    backend = SlowBackend(delay=0.0)
    model = _LastCall(backend)
    hybrid = _ThinHybrid(model, 3)
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


def test_a_feathered_ring_is_scored_through_the_inpainter(images, tmp_path):
    """--feather N scores the model through Inpainter with an N px seam ring: the model then
    fills the grown hole, which costs hole PSNR (why the default ring is 0)."""
    out = tmp_path / "q.json"
    assert main(["bench", "quality", "--images", str(images), "--models", "nano", "--family", "free-form",
                 "--crop", "128", "--per-bucket", "1", "--thin-px", "0", "--feather", "6", "--json", str(out)]) == 0
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
    assert set(fam["differences_10_50"]) == {"nano - nano.int8", "nano+ns-thin - nano.int8+ns-thin"}
    d = fam["differences_10_50"]["nano - nano.int8"]
    assert d["ci95_low_db"] <= d["mean_db"] <= d["ci95_high_db"]
    assert "95% CI" in capsys.readouterr().out
    table = list(csv.DictReader(rows.open()))
    methods = {"nano", "nano.int8", "nano+ns-thin", "nano.int8+ns-thin", "opencv-telea", "opencv-ns"}
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
