"""benchmarks/gpu_torch.py on a runtime-only install (no PyTorch): one clear line, not a traceback."""

import sys

from . import load_script


def test_missing_torch_is_a_clear_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    assert load_script("gpu_torch").main(["--device", "cpu", "--dtype", "fp32", "--size", "64", "--models", "nano"]) == 2
    assert "pip install 'edgefill[export]'" in capsys.readouterr().err
