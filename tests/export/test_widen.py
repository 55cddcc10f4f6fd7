"""Function-preserving widening (edgefill_export.widen): the wider model computes what the narrow
one did, its new channels can learn, and bad requests are refused."""

import pytest

torch = pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill_export.model import build_model  # noqa: E402
from edgefill_export.weights import CheckpointError, load_weights, save_weights  # noqa: E402
from edgefill_export.widen import main, widen  # noqa: E402


def trained_like_nano(context: bool = True):
    """A nano with non-trivial weights everywhere, BatchNorm statistics and context block included."""
    torch.manual_seed(0)
    m = build_model("nano", context=context)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "fc2" in name or name.endswith("bias"):
                p.normal_(0, 0.1)
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
    return m


def inputs(n=2, size=64):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    valid = (torch.rand(n, 1, size, size, generator=g) > 0.3).float()
    return x, valid


@pytest.mark.parametrize("method", ["duplicate", "zero"])
@pytest.mark.parametrize("target", ["lite", "base"])
@pytest.mark.parametrize("context", [True, False])
def test_the_widened_model_computes_what_the_narrow_one_did(target, context, method):
    old = trained_like_nano(context)
    new = widen(old, target, method)
    assert new.config.channels == build_model(target).config.channels
    assert new.config.channels != old.config.channels
    x, valid = inputs()
    for training in (False, True):  # eval statistics and batch statistics
        old.train(training)
        new.train(training)
        with torch.no_grad():
            assert torch.allclose(new(x, valid), old(x, valid), rtol=1e-4, atol=1e-4), training


def test_the_new_channels_learn_zero():
    """The weights that read new channels into old ones start at zero but get gradients, so after a
    step the widened model no longer equals the narrow one."""
    old = trained_like_nano()
    new = widen(old, "lite", "zero").train()
    x, valid = inputs()
    new(x, valid).square().mean().backward()
    w = new.decoders[0].conv.weight  # reads cat(bottleneck, skip) into level 4
    cross = w.grad[: old.config.channels[4], old.config.channels[5]: new.config.channels[5]]
    assert torch.count_nonzero(w[: old.config.channels[4], old.config.channels[5]: new.config.channels[5]]) == 0
    assert cross.abs().sum() > 0
    torch.optim.SGD(new.parameters(), lr=0.1).step()
    with torch.no_grad():
        assert not torch.allclose(new.eval()(x, valid), old.eval()(x, valid), atol=1e-4)


def test_copies_start_equal_and_part_after_a_step():
    """Net2WiderNet: a new channel copies an old one's incoming weights; the unequal shares of the
    outgoing weight give the two different gradients, so one step makes them differ."""
    old = trained_like_nano()
    new = widen(old, "lite", "duplicate").train()
    w = new.encoders[2].conv.weight  # level 2: 32 old channels of 64
    n_old = old.config.channels[2]
    copies = [j for j in range(n_old, w.shape[0]) if any(torch.equal(w[j], w[k]) for k in range(n_old))]
    assert len(copies) == w.shape[0] - n_old
    x, valid = inputs()
    new(x, valid).square().mean().backward()
    torch.optim.SGD(new.parameters(), lr=0.1).step()
    assert not any(torch.allclose(w[j], w[k]) for j in copies for k in range(n_old))


def test_narrower_targets_and_refinement_heads_are_refused():
    with pytest.raises(CheckpointError, match="narrower"):
        widen(build_model("lite"), "nano")
    with pytest.raises(CheckpointError, match="refinement head"):
        widen(build_model("nano", refine=4), "lite")
    with pytest.raises(CheckpointError, match="unknown model"):
        widen(build_model("nano"), "huge")
    with pytest.raises(CheckpointError, match="unknown widening method"):
        widen(build_model("nano"), "lite", "stretch")


def test_the_command_writes_loadable_wider_weights(tmp_path, capsys):
    old = trained_like_nano()
    save_weights(old.eval(), tmp_path / "nano.safetensors")
    out = tmp_path / "wide.safetensors"
    assert main([str(tmp_path / "nano.safetensors"), "--to", "lite", "--out", str(out)]) == 0
    wide = load_weights(out).eval()
    assert wide.config.name == "lite" and wide.config.context
    x, valid = inputs()
    with torch.no_grad():
        assert torch.allclose(wide(x, valid), old(x, valid), rtol=1e-4, atol=1e-4)
    assert main([str(out), "--to", "nano", "--out", str(tmp_path / "bad.safetensors")]) == 2
    assert "narrower" in capsys.readouterr().err
    assert not (tmp_path / "bad.safetensors").exists()


def test_widening_leaves_the_callers_random_state_alone():
    narrow = trained_like_nano()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = widen(narrow, "lite", seed=7)
    assert torch.equal(torch.rand(3), expected)
    b = widen(narrow, "lite", seed=7)  # and the seed alone decides the new channels
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


def test_the_command_reports_an_unwritable_output_in_one_line(tmp_path, capsys):
    save_weights(build_model("nano").eval(), tmp_path / "nano.safetensors")
    (tmp_path / "file").write_text("not a folder")
    assert main([str(tmp_path / "nano.safetensors"), "--to", "lite", "--out", str(tmp_path / "file" / "w.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "Traceback" not in err and len(err.splitlines()) == 1


def test_the_command_refuses_to_overwrite_its_input(tmp_path):
    src = tmp_path / "nano.safetensors"
    save_weights(trained_like_nano().eval(), src)
    before = src.read_bytes()
    with pytest.raises(SystemExit):
        main([str(src), "--to", "lite", "--out", str(tmp_path / "." / "nano.safetensors")])
    assert src.read_bytes() == before and load_weights(src).config.name == "nano"


def test_the_command_refuses_an_output_that_is_not_safetensors(tmp_path, capsys):
    save_weights(build_model("nano").eval(), tmp_path / "nano.safetensors")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nano.safetensors"), "--to", "lite", "--out", str(tmp_path / "wide.pt")])
    assert ".safetensors" in capsys.readouterr().err and not (tmp_path / "wide.pt").exists()


def test_a_seed_out_of_range_is_one_clear_error(tmp_path, capsys):
    save_weights(build_model("nano").eval(), tmp_path / "nano.safetensors")
    assert main([str(tmp_path / "nano.safetensors"), "--to", "lite", "--seed", str(2**70),
                 "--out", str(tmp_path / "w.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the seed") and len(err.splitlines()) == 1
    assert not (tmp_path / "w.safetensors").exists()


def test_the_inference_options_are_kept():
    """Fill smoothing and the runtime's refinement settings belong to the inference graph: a
    widened shipped model (lite: fill_passes 1) must keep them to compute what it did."""
    import edgefill

    old = build_model("nano", context=True, fill_passes=2, refill=edgefill.RefillSettings(wide_ns_weight=0.3))
    new = widen(old, "lite")
    assert new.config.fill_passes == 2 and new.config.refill == old.config.refill


def test_a_model_in_another_dtype_widens():
    old = trained_like_nano().eval().double()
    new = widen(old, "lite").eval()
    x, valid = inputs()
    with torch.no_grad():
        assert torch.allclose(new(x, valid), old(x.double(), valid.double()).float(), rtol=1e-4, atol=1e-4)
