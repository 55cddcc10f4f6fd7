"""export/recipes/gpu_train.sh, run on the CPU with tiny settings: it plans the steps once,
stops each call at its time limit with a checkpoint, resumes, says when it has finished, and
copies the run folder to $OUT (what the device tool brings back)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.pack import pack_photos  # noqa: E402
from edgefill_export.weights import _read  # noqa: E402

from ..conftest import natural_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _pack(tmp_path: Path, n: int) -> Path:
    """A photo pack of ``n`` small synthetic photos at ``tmp_path/p.npz`` (what the recipe's PACK reads)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(n):
        cv2.imwrite(str(photos / f"p{i:02d}.png"), natural_image(96, 120, seed=i))
    pack_photos(sorted(photos.iterdir()), tmp_path / "p.npz", progress=False)
    return tmp_path / "p.npz"


def test_gpu_recipe_plans_resumes_and_finishes_on_cpu(tmp_path):
    """As on the device: each call gets only the folder the previous call sent back through $OUT,
    where no file may be over 16 MiB (PART_MIB=1 here, so the nano checkpoint goes in parts)."""
    _pack(tmp_path, 12)
    run = f"pytest-{os.getpid()}"
    # PROBE_MIN 9 s: the batch worker (a process since the twenty-seventh session) imports torch
    # and takes the photos before the first step, which a 1.8 s probe on a fresh clone did not see
    env = {**os.environ, "RUN": run, "MODEL": "nano", "PACK": str(tmp_path / "p.npz"), "DEVICE": "cpu", "BATCH": "2",
           "CROP": "64", "WORKERS": "1", "PROBE_MIN": "0.15", "TOTAL_MIN": "0.05", "CALL_MIN": "0.03",
           "OUT": str(tmp_path / "out"), "PYTHON": sys.executable, "EXTRA": "", "PART_MIB": "1"}
    run_dir = ROOT / "runs" / "gpu" / run
    back = tmp_path / "out" / run
    try:
        outputs = []
        for call in range(8):
            if call == 2:  # two short calls have shown the resume; longer ones finish on a loaded machine too
                env["CALL_MIN"] = "0.5"  # (with 1.8 s calls 8 were not enough while the CPU was shared)
            p = subprocess.run(["bash", "export/recipes/gpu_train.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
            assert p.returncode == 0, p.stderr[-2000:]
            outputs.append(p.stdout)
            if call == 0:  # the probe's time came out of the first call's: it was given less than CALL_MIN
                # (what the recipe allotted, not the log's time: a step on a loaded CPU overshoots it)
                allotted = re.search(r"this call trains ([0-9.e+-]+) min after the probe", p.stdout)
                assert allotted and float(allotted.group(1)) < 0.03, p.stdout
            assert all(f.stat().st_size <= 2**20 for f in back.iterdir()), "a file the device tool leaves behind"
            shutil.rmtree(run_dir)  # what the device sends back is all the next call has
            shutil.copytree(back, run_dir)
            if "finished:" in p.stdout and "not finished" not in p.stdout:
                break
        planned = int((back / "plan").read_text())
        assert "plan:" in outputs[0] and len(outputs) >= 2, outputs  # one call was not enough
        assert outputs[-1].strip().endswith(f"finished: {planned} steps")
        names = {f.name for f in back.iterdir()}
        assert {"checkpoint.safetensors.part-aa", "checkpoint.safetensors.part-ab", "log.csv", "plan"} <= names
        assert "checkpoint.safetensors" not in names
        steps = [int(line.split(",")[0]) for line in (back / "log.csv").read_text().splitlines()[1:]]
        assert steps == sorted(steps) and steps[-1] == planned  # resumed from the joined parts, never restarted
        joined = tmp_path / "joined.safetensors"
        joined.write_bytes(b"".join(f.read_bytes() for f in sorted(back.glob("checkpoint.safetensors.part-*"))))
        config = json.loads(_read(joined)[1]["state"])["config"]
        assert (config["grad_weight"], config["ssim_weight"], config["hole_db_weight"]) == (0, 0, 0)  # EXTRA=""
    finally:
        subprocess.run(["rm", "-rf", str(run_dir)], check=False)


def _refused_call(tmp_path, **env):
    """One call of the recipe that must refuse before training (its run folder removed after)."""
    run = f"pytest-refused-{os.getpid()}"
    env = {**os.environ, "RUN": run, "MODEL": "nano", "DEVICE": "cpu", "OUT": str(tmp_path / "out"),
           "PYTHON": sys.executable, **env}
    try:
        return subprocess.run(["bash", "export/recipes/gpu_train.sh"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
    finally:
        subprocess.run(["rm", "-rf", str(ROOT / "runs" / "gpu" / run)], check=False)


def test_gpu_recipe_names_a_missing_init_in_one_line(tmp_path):
    p = _refused_call(tmp_path, INIT=str(tmp_path / "nope.safetensors"))
    assert p.returncode == 2 and "nope.safetensors" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("var", ["PROBE_MIN", "CALL_MIN", "TOTAL_MIN"])
def test_gpu_recipe_refuses_minutes_that_are_not_positive(tmp_path, var):
    """--max-minutes 0 means no limit: a probe of PROBE_MIN=0 ran until the device tool's kill."""
    p = _refused_call(tmp_path, **{var: "0"})
    assert p.returncode == 2 and f"{var}=0" in p.stderr


@pytest.mark.parametrize("free_kb,note", [(65536, True), (8 * 2**20, False)])
def test_gpu_recipe_makes_batches_in_process_when_dev_shm_is_small(tmp_path, free_kb, note):
    """A container's default 64 MiB /dev/shm would fail the batch workers mid-probe: the recipe
    says so and uses none. ``df`` is faked (this machine's /dev/shm is what it is); the run then
    stops at its missing pack, after the check."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "df").write_text("#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
                                f"echo 'shm {free_kb} 0 {free_kb} 0% /dev/shm'\n")
    (bin_dir / "df").chmod(0o755)
    p = _refused_call(tmp_path, PATH=f"{bin_dir}:{os.environ['PATH']}", WORKERS="4",
                      PACK=str(tmp_path / "no-pack.npz"), PROBE_MIN="0.01")
    assert p.returncode != 0 and "no-pack.npz" in p.stderr  # it got past the check
    assert ("/dev/shm has 64 MiB free" in p.stderr) == note, p.stderr[-1500:]


def _plan_snippet() -> str:
    """The Python the recipe runs on the probe's log.csv to plan the steps (its heredoc)."""
    script = (ROOT / "export" / "recipes" / "gpu_train.sh").read_text()
    start = script.index("<<'EOF'\n", script.index('> "$DIR/plan.tmp"')) + len("<<'EOF'\n")
    return script[start:script.index("\nEOF\n", start)]


@pytest.mark.parametrize("rows,planned", [
    # the first row came after 57 s of start-up; 75 steps in the 1.8 s after it: 41.7 steps/s for 1 minute
    ([(25, 57.2), (50, 58.0), (100, 59.0)], int(75 / 1.8 * 60 * 0.95)),
    ([(25, 57.2)], 100),  # one row: the rate from step 0 (24 steps a minute), raised to the least plan
])
def test_gpu_recipe_plans_from_the_rate_after_start_up(tmp_path, rows, planned):
    log = tmp_path / "log.csv"
    log.write_text("step,time,lr\n" + "".join(f"{s},{t},1e-4\n" for s, t in rows))
    p = subprocess.run([sys.executable, "-", str(log), "1"], input=_plan_snippet(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) == planned


def test_gpu_recipe_plans_no_step_from_an_empty_probe_log(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("step,time,lr\n")
    p = subprocess.run([sys.executable, "-", str(log), "1"], input=_plan_snippet(), capture_output=True, text=True)
    assert p.returncode != 0 and "raise PROBE_MIN" in p.stderr


def test_gpu_recipe_refuses_a_send_checkpoint_that_is_not_0_or_1(tmp_path):
    p = _refused_call(tmp_path, SEND_CHECKPOINT="no")
    assert p.returncode == 2 and "SEND_CHECKPOINT=no" in p.stderr and "Traceback" not in p.stderr


def test_gpu_recipe_refuses_steps_that_are_not_a_whole_number(tmp_path):
    p = _refused_call(tmp_path, STEPS="1e3")
    assert p.returncode == 2 and "STEPS=1e3" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("send", [None, "0"])
def test_gpu_recipe_trains_a_fixed_number_of_steps_without_a_probe(tmp_path, send):
    """STEPS matches another run's length: no throughput probe, the plan is STEPS. The checkpoint
    comes back unless SEND_CHECKPOINT=0 (it stays in the run folder on the device)."""
    _pack(tmp_path, 6)
    run = f"pytest-steps-{os.getpid()}"
    env = {**os.environ, "RUN": run, "MODEL": "nano", "PACK": str(tmp_path / "p.npz"), "DEVICE": "cpu", "BATCH": "2",
           "CROP": "64", "WORKERS": "0", "STEPS": "30", "CALL_MIN": "2", "OUT": str(tmp_path / "out"),
           "PYTHON": sys.executable, "EXTRA": "", **({"SEND_CHECKPOINT": send} if send else {})}
    try:
        p = subprocess.run(["bash", "export/recipes/gpu_train.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        assert "plan: 30 steps (STEPS)" in p.stdout and "probe:" not in p.stdout
        assert p.stdout.strip().endswith("finished: 30 steps")
        assert (tmp_path / "out" / run / "plan").read_text().strip() == "30"
        back = {f.name for f in (tmp_path / "out" / run).iterdir()}
        assert {"nano.safetensors", "log.csv", "plan"} <= back
        assert ("checkpoint.safetensors" in back) == (send is None)
        assert (ROOT / "runs" / "gpu" / run / "checkpoint.safetensors").is_file()
    finally:
        subprocess.run(["rm", "-rf", str(ROOT / "runs" / "gpu" / run)], check=False)
