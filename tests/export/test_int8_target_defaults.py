"""A profile whose board has no TensorRT (rpi5, x86-cpu) exports INT8 for ONNX Runtime on the CPU
by default, in the shipped CPU decoder form: the TensorRT-style graph it got runs no faster than
FP32 there (117.9 ms vs 93.3 ms FP32 for lite at 512 on the dev VM; the shipped CPU lite.int8 46.6 ms)."""

import pytest

pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")

from edgefill.cli import main  # noqa: E402
from edgefill_export import bundle  # noqa: E402
from edgefill_export.bundle import CPU_DECODER_FORM, ExportRequest, export_bundle  # noqa: E402
from edgefill_export.onnx_export import DECODER_FORM  # noqa: E402

from .test_export_review import one_photo  # noqa: E402,F401  (a fixture)


class _Seen(Exception):
    pass


@pytest.fixture
def seen(monkeypatch):
    got = {}

    def write(req, *args, **kwargs):
        got.update(target=req.int8_target, form=req.decoder_form)
        raise _Seen

    monkeypatch.setattr(bundle, "_write_bundle", write)
    return got


@pytest.mark.parametrize("profile, given, want", [
    ("rpi5", None, ("cpu", CPU_DECODER_FORM)),
    ("x86-cpu", None, ("cpu", CPU_DECODER_FORM)),
    ("orin-nano", None, ("tensorrt", DECODER_FORM)),
    (None, None, ("tensorrt", DECODER_FORM)),
    ("rpi5", "tensorrt", ("tensorrt", CPU_DECODER_FORM)),  # an explicit target wins
    # --int8-target cpu without a CPU profile: the CPU form too (it quantised the TensorRT form, whose
    # decoder ONNX Runtime keeps float between DequantizeLinear and QuantizeLinear)
    (None, "cpu", ("cpu", CPU_DECODER_FORM)),
])
def test_the_int8_target_and_decoder_form_follow_the_board(one_photo, tmp_path, seen, profile, given, want):  # noqa: F811
    with pytest.raises(_Seen):
        export_bundle(ExportRequest(model="nano", out_dir=tmp_path / "b", precision="int8", profile=profile,
                                    calib_dir=one_photo, val_dir=one_photo, int8_target=given), progress=False)
    assert (seen["target"], seen["form"]) == want


def test_the_cli_takes_an_int8_target_for_int8_only(one_photo, tmp_path, seen, capsys):  # noqa: F811
    args = ["export", "--model", "nano", "--calib", str(one_photo), "--val", str(one_photo), "-o", str(tmp_path / "b")]
    with pytest.raises(_Seen):
        main([*args, "--precision", "int8", "--profile", "x86-cpu", "--int8-target", "tensorrt"])
    assert seen["target"] == "tensorrt"
    assert main(["export", "--model", "nano", "--precision", "fp32", "--int8-target", "cpu", "-o", str(tmp_path / "c")]) == 2
    assert "--int8-target is for --precision int8 only" in capsys.readouterr().err
