"""--backend opencv-telea / opencv-ns in the benchmarks: grey_depth.py and frame_formats.py could
never run them ("backend 'opencv-telea' is classical and takes no model (got model='nano')"),
their --model defaulting to a model name; now --model defaults to none, and Inpainter picks its
default model for a learned backend. thin_refill.py times what refines a model's fill: a
classical backend is refused, saying so, before anything is made."""

import json

import pytest

from edgefill.models import DEFAULT_MODEL

from . import load_script
from ..conftest import LEARNED


@pytest.mark.parametrize("backend", ["opencv-telea", "opencv-ns"])
def test_grey_depth_runs_a_classical_backend(tmp_path, capsys, backend):
    out = tmp_path / "g.json"
    assert load_script("grey_depth").main(["--backend", backend, "--size", "64", "--masks", "1", "--bits", "8,12",
                                           "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["backend"] == backend and report["model"] is None and report["raw_fill_channel_spread"] is None
    assert [r["bits"] for r in report["rows"]] == [8, 12]
    assert "12 bits" in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["opencv-telea", "opencv-ns"])
def test_frame_formats_runs_a_classical_backend(tmp_path, capsys, backend):
    out = tmp_path / "f.json"
    assert load_script("frame_formats").main(["--backend", backend, "--width", "256", "--height", "256", "--runs", "1",
                                              "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["backend"] == backend and report["model"] is None and report["config"]["model"] is None
    assert [r["format"] for r in report["rows"]] == ["bgr8", "grey8", "grey16", "bgr16"]
    assert f"no model on {backend}" in capsys.readouterr().out


@LEARNED
def test_grey_depth_takes_the_default_model_for_a_learned_backend(tmp_path, monkeypatch):
    """Without --model a learned backend runs edgefill's default model, and the report names it
    (the model is stubbed with nano: the default one is slower, and not what is tested)."""
    mod = load_script("grey_depth")
    made = []
    real = mod.edgefill.Inpainter

    def inpainter(model=None, **kw):
        made.append(model)
        return real(model="nano" if model is None else model, **kw)

    monkeypatch.setattr(mod.edgefill, "Inpainter", inpainter)
    out = tmp_path / "g.json"
    assert mod.main(["--size", "64", "--masks", "1", "--bits", "8", "--json", str(out)]) == 0
    assert made == [None] and json.loads(out.read_text())["model"] == DEFAULT_MODEL


@pytest.mark.parametrize("backend", ["opencv-telea", "opencv-ns"])
def test_thin_refill_refuses_a_classical_backend_saying_why(capsys, monkeypatch, backend):
    mod = load_script("thin_refill")
    monkeypatch.setattr(mod.edgefill, "Inpainter", lambda *a, **k: pytest.fail("an Inpainter was made"))
    assert mod.main(["--backend", backend, "--size", "64", "--reps", "1", "--families", "objects"]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith(f"thin_refill benchmark: --backend {backend} is classical")
    assert "refine a model's fill" in err and "learned backend" in err and len(err.strip().splitlines()) == 1
    assert "objects" not in captured.out


def test_thin_refill_refuses_auto_when_it_finds_only_a_classical_backend(capsys, monkeypatch):
    import edgefill

    mod = load_script("thin_refill")
    made = []
    real = edgefill.Inpainter

    def classical(model=None, backend=None, **kw):
        made.append(real(backend="opencv-telea"))
        return made[-1]

    monkeypatch.setattr(mod.edgefill, "Inpainter", classical)
    assert mod.main(["--backend", "auto", "--size", "64", "--reps", "1", "--families", "objects"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("thin_refill benchmark: --backend auto picked opencv-telea, which is classical")
    assert len(made) == 1 and made[0].backend._closed
