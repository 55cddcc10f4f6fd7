"""What the benchmarks say: --help describes a script with its docstring's whole first paragraph
(it was cut at the end of the first line, mid-sentence); batch_startup.py says "slower" when the
preload arm was slower (it said "0.89x sooner"); gpu_torch.py's "no CUDA device" goes to stderr
(tests/benchmarks/test_gpu_torch.py)."""

import json
import subprocess
import types

import pytest

from . import BENCHMARKS, load_script

SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "quality")  # quality.py: edgefill.quality's


def _squeezed(text: str) -> str:
    """``text`` without whitespace (argparse re-wraps the description, breaking lines at hyphens too)."""
    return "".join(text.split())


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_has_the_whole_first_paragraph(capsys, script):
    mod = load_script(script)
    with pytest.raises(SystemExit) as exc:
        mod.main(["--help"])
    assert exc.value.code == 0
    first = mod.__doc__.split("\n\n")[0]
    assert _squeezed(first) in _squeezed(capsys.readouterr().out)


@pytest.mark.parametrize("default_s, preload_s, said", [
    (2.0, 1.0, "preload: 2.00x sooner"),
    (1.0, 1.0, "preload: 1.00x sooner"),
    (1.0, 1.124, "preload: 1.12x slower"),  # was "0.89x sooner"
])
def test_the_preload_verdict(default_s, preload_s, said):
    assert load_script("batch_startup").preload_verdict(default_s, preload_s) == said


def test_a_slower_preload_arm_is_said_to_be_slower(capsys, monkeypatch):
    mod = load_script("batch_startup")
    seconds = {"default": 1.0, "preload": 1.25}

    def child(cmd, **kwargs):
        arm = cmd[3]
        return subprocess.CompletedProcess(cmd, 0, json.dumps({"first_batch_s": seconds[arm]}) + "\n", "")

    monkeypatch.setattr(mod, "subprocess", types.SimpleNamespace(run=child))  # this script's children only
    assert mod.main(["--workers", "1", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "preload: 1.25x slower" in out and "sooner" not in out
