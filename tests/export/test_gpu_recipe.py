"""export/recipes/gpu_train.sh, run on the CPU with tiny settings: it plans the steps once,
stops each call at its time limit with a checkpoint, resumes, says when it has finished, and
copies the run folder to $OUT (what the device tool brings back)."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.pack import pack_photos  # noqa: E402

from ..conftest import natural_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_recipe_plans_resumes_and_finishes_on_cpu(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(12):
        cv2.imwrite(str(photos / f"p{i:02d}.png"), natural_image(96, 120, seed=i))
    pack_photos(sorted(photos.iterdir()), tmp_path / "p.npz", progress=False)
    run = f"pytest-{os.getpid()}"
    env = {**os.environ, "RUN": run, "MODEL": "nano", "PACK": str(tmp_path / "p.npz"), "DEVICE": "cpu", "BATCH": "2",
           "CROP": "64", "WORKERS": "1", "PROBE_MIN": "0.03", "TOTAL_MIN": "0.05", "CALL_MIN": "0.03",
           "OUT": str(tmp_path / "out"), "PYTHON": sys.executable, "EXTRA": ""}
    run_dir = ROOT / "runs" / "gpu" / run
    try:
        outputs = []
        for _ in range(8):
            p = subprocess.run(["bash", "export/recipes/gpu_train.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
            assert p.returncode == 0, p.stderr[-2000:]
            outputs.append(p.stdout)
            if "finished:" in p.stdout and "not finished" not in p.stdout:
                break
        planned = int((run_dir / "plan").read_text())
        assert "plan:" in outputs[0] and len(outputs) >= 2, outputs  # one call was not enough
        assert outputs[-1].strip().endswith(f"finished: {planned} steps")
        back = tmp_path / "out" / run
        assert {"checkpoint.safetensors", "log.csv", "nano.safetensors", "plan"} <= {f.name for f in back.iterdir()}
        steps = [int(line.split(",")[0]) for line in (back / "log.csv").read_text().splitlines()[1:]]
        assert steps == sorted(steps) and steps[-1] == planned  # resumed, never restarted
    finally:
        subprocess.run(["rm", "-rf", str(run_dir)], check=False)
