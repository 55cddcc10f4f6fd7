"""Every benchmark prints the machine it ran on, as ``edgefill bench`` does (a "host: ..." line
built from ``edgefill.bench.host_info()``), and writes it into its JSON report: thin_refill.py,
grey_depth.py, frame_formats.py and soak.py printed none, and latency.py printed "2 CPUs
(x86_64)" (``platform.processor()`` is empty on Linux)."""

import json

import pytest

from edgefill.bench import host_info

from . import load_script
from ..conftest import LEARNED

RUNS = [
    pytest.param("latency", ["--models", "", "--sizes", "64", "--reps", "1", "--warmup", "0"], id="latency"),
    pytest.param("soak", ["--frames", "500"], id="soak"),
    pytest.param("grey_depth", ["--backend", "opencv-telea", "--size", "64", "--masks", "1", "--bits", "8"],
                 id="grey_depth"),
    pytest.param("frame_formats", ["--backend", "opencv-telea", "--width", "256", "--height", "256", "--runs", "1"],
                 id="frame_formats"),
    pytest.param("thin_refill", ["--model", "nano", "--size", "64", "--reps", "1", "--families", "objects"],
                 id="thin_refill", marks=LEARNED),
    pytest.param("pipeline", ["--model", "nano", "--frames", "1"], id="pipeline", marks=LEARNED),
]


@pytest.mark.parametrize("script, argv", RUNS)
def test_the_host_is_printed_and_reported(tmp_path, capsys, script, argv):
    mod = load_script(script)
    if script == "pipeline":
        mod.flicker = lambda *args, **kwargs: 0.0  # 3 x 40 frames of 720p: not what is tested here
    out = tmp_path / "r.json"
    assert mod.main([*argv, "--json", str(out)]) == 0
    host = host_info()
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("host: ")]
    assert lines == [f"host: {host['board'] or host['platform']}, {host['cpu']}, {host['cpus_usable']} of "
                     f"{host['cpus']} CPUs usable"]
    reported = json.loads(out.read_text())["host"]
    assert reported["cpu"] == host["cpu"] and reported["cpus_usable"] == host["cpus_usable"] and reported["python"]
