"""Weight interpolation (edgefill_export.soup): the arithmetic, the checks, the command."""

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.soup import interpolate, main  # noqa: E402
from edgefill_export.weights import CheckpointError, load_weights, save_weights  # noqa: E402


def two_models():
    torch.manual_seed(0)
    a = build_model("nano", context=True, refine=4)
    torch.manual_seed(1)
    b = build_model("nano", context=True, refine=4)
    for m, v in ((a, 1.0), (b, 3.0)):  # distinct BatchNorm statistics too
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.fill_(v)
    return a, b


def test_the_ends_are_the_inputs_and_the_middle_is_their_mean():
    a, b = two_models()
    sa, sb = a.state_dict(), b.state_dict()
    for alpha, expect in ((0.0, sa), (1.0, sb)):
        out = interpolate(a, b, alpha).state_dict()
        assert all(torch.allclose(out[k].float(), expect[k].float(), atol=1e-7) for k in sa)
    mid = interpolate(a, b, 0.25).state_dict()
    assert any(not torch.equal(sa[k], sb[k]) for k in sa)
    for k in sa:
        if sa[k].is_floating_point():
            assert torch.allclose(mid[k], 0.75 * sa[k] + 0.25 * sb[k], atol=1e-6), k
    bn = next(k for k in mid if k.endswith("running_mean"))
    assert torch.allclose(mid[bn], torch.full_like(mid[bn], 1.5))
    # the inputs are untouched
    assert all(torch.equal(a.state_dict()[k], sa[k]) for k in sa)


def test_different_architectures_and_bad_alphas_are_refused():
    a, _ = two_models()
    with pytest.raises(CheckpointError, match="different architectures"):
        interpolate(a, build_model("nano", context=True, refine=0), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        interpolate(a, a, 1.5)


def test_inference_options_may_differ_and_come_from_b():
    """A fine-tune restarts without the shipped model's fill smoothing / refinement settings:
    not weights, so the soup accepts them and keeps B's."""
    import edgefill

    a, b = two_models()
    b2 = build_model(b.config.name, context=b.config.context, refine=b.config.refine, fill_passes=3,
                     refill=edgefill.RefillSettings(wide_ns_weight=0.2))
    b2.load_state_dict(b.state_dict())
    out = interpolate(a, b2, 0.5)
    assert out.config.fill_passes == 3 and out.config.refill.wide_ns_weight == 0.2


def test_the_command_writes_loadable_weights_and_reports_errors(tmp_path, capsys):
    a, b = two_models()
    save_weights(a, tmp_path / "a.safetensors")
    save_weights(b, tmp_path / "b.safetensors")
    out = tmp_path / "soup.safetensors"
    assert main([str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), "--alpha", "0.5", "--out", str(out)]) == 0
    soup = load_weights(out)
    assert soup.config == a.config
    k = "refine.conv1.weight"
    assert torch.allclose(soup.state_dict()[k], (a.state_dict()[k] + b.state_dict()[k]) / 2, atol=1e-7)
    save_weights(build_model("nano"), tmp_path / "plain.safetensors")
    assert main([str(tmp_path / "a.safetensors"), str(tmp_path / "plain.safetensors"), "--alpha", "0.5",
                 "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "different architectures" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()



def test_an_output_that_is_not_safetensors_is_refused(tmp_path, capsys):
    a, b = two_models()
    save_weights(a, tmp_path / "a.safetensors")
    save_weights(b, tmp_path / "b.safetensors")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), "--alpha", "0.5",
              "--out", str(tmp_path / "soup.pt")])
    assert ".safetensors" in capsys.readouterr().err and not (tmp_path / "soup.pt").exists()


@pytest.mark.parametrize("which", ["a", "b"])
def test_the_command_refuses_to_overwrite_an_input(tmp_path, capsys, which):
    a, b = two_models()
    save_weights(a, tmp_path / "a.safetensors")
    save_weights(b, tmp_path / "b.safetensors")
    before = (tmp_path / f"{which}.safetensors").read_bytes()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), "--alpha", "0.5",
              "--out", str(tmp_path / "." / f"{which}.safetensors")])
    assert "input" in capsys.readouterr().err
    assert (tmp_path / f"{which}.safetensors").read_bytes() == before
