"""benchmarks/batch_startup.py: seconds to the first batch from worker processes, with and
without the fork server's preload, each arm in fresh processes."""

import json

import cv2
import pytest

pytest.importorskip("torch")
pytest.importorskip("edgefill_export")

from edgefill_export.pack import pack_photos  # noqa: E402

from ..conftest import natural_image  # noqa: E402
from . import load_script  # noqa: E402


def test_reports_both_arms_and_their_ratio(tmp_path, capsys):
    for i in range(6):
        cv2.imwrite(str(tmp_path / f"p{i}.png"), natural_image(96, 120, seed=i))
    pack_photos(sorted(tmp_path.glob("*.png")), tmp_path / "p.npz", progress=False)
    out = tmp_path / "s.json"
    rc = load_script("batch_startup").main(["--pack", str(tmp_path / "p.npz"), "--workers", "1", "--repeats", "1",
                                            "--batch", "2", "--crop", "32", "--json", str(out)])
    assert rc == 0
    seconds = json.loads(out.read_text())["seconds"]
    assert set(seconds) == {"default", "preload"} and all(len(v) == 1 and v[0] > 0 for v in seconds.values())
    out = capsys.readouterr().out
    assert "x sooner" in out or "x slower" in out  # timed: either may come out on a busy machine


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    script = load_script("batch_startup")
    with pytest.raises(SystemExit):
        script.main(["--workers", "0"])
    assert "--workers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main(["--pack", str(tmp_path / "none.npz")])
    assert "none.npz" in capsys.readouterr().err
