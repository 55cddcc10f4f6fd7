"""benchmarks/train_batches.py: training batches per second made in-process, in threads and in
worker processes, side by side."""

import json

import cv2
import pytest

pytest.importorskip("torch")
pytest.importorskip("edgefill_export")

from edgefill_export.pack import pack_photos  # noqa: E402

from ..conftest import natural_image  # noqa: E402
from . import load_script  # noqa: E402


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    for i in range(6):
        cv2.imwrite(str(d / f"p{i}.png"), natural_image(96, 120, seed=i))
    out = d / "p.npz"
    pack_photos(sorted(d.glob("*.png")), out, progress=False)
    return out


def test_reports_a_rate_for_each_way_and_writes_json(pack, tmp_path, capsys):
    out = tmp_path / "b.json"
    rc = load_script("train_batches").main(["--pack", str(pack), "--workers", "2", "--batch", "2", "--crop", "32",
                                            "--steps", "3", "--json", str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    rates = report["batches_per_s"]
    assert set(rates) == {"in-process", "2 threads", "2 processes"} and all(r > 0 for r in rates.values())
    # each way timed once per round, interleaved, and its median reported (it was one run each, in turn)
    assert report["rounds"] == 3 and all(len(v) == 3 for v in report["batches_per_s_each_round"].values())
    assert all(sorted(report["batches_per_s_each_round"][k])[1] == r for k, r in rates.items())
    printed = capsys.readouterr().out
    assert "2 processes" in printed and "x in-process" in printed


def test_bad_arguments_and_a_missing_pack_are_one_line_errors(tmp_path, capsys):
    script = load_script("train_batches")
    with pytest.raises(SystemExit):
        script.main(["--workers", "0"])
    assert "--workers" in capsys.readouterr().err
    assert script.main(["--pack", str(tmp_path / "none.npz"), "--steps", "1"]) == 2
    assert "cannot load the photos" in capsys.readouterr().err
