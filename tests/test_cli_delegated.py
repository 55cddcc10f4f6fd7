"""`edgefill train` and `edgefill data fetch`: the export package's commands under the package's own command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgefill import cli


def test_train_is_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "train" in capsys.readouterr().out


def test_train_hands_its_arguments_to_the_training_command(monkeypatch):
    """DESIGN.md's `edgefill train`: there was only `python -m edgefill_export.train`."""
    pytest.importorskip("torch", reason="the training command needs edgefill[export] (torch)")
    import edgefill_export.train as train

    seen = []
    monkeypatch.setattr(train, "main", lambda argv, prog=None: seen.append((argv, prog)) or 0)
    assert cli.main(["-v", "train", "--model", "nano", "--out", "runs/x"]) == 0
    assert seen == [(["--model", "nano", "--out", "runs/x"], "edgefill train")]


def test_train_refusals_are_one_line_and_exit_2(capsys, tmp_path):
    pytest.importorskip("torch", reason="the training command needs edgefill[export] (torch)")
    assert cli.main(["train", "--model", "nope", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edgefill train: error: unknown --model 'nope'") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:  # argparse's own errors keep argparse's usage and exit 2
        cli.main(["train", "--model", "nano"])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err


def test_train_without_the_export_toolchain_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "edgefill_export.train", None)  # import fails as if torch were missing
    assert cli.main(["train", "--help"]) == 2
    assert "install edgefill[export]" in capsys.readouterr().err


def test_data_fetch_hands_its_arguments_to_the_fetch_command(monkeypatch):
    """The issue's `edgefill data fetch`: there was only `make data` / python -m edgefill_export.fetch."""
    import edgefill_export.fetch as fetch

    seen = []
    monkeypatch.setattr(fetch, "main", lambda argv, prog=None: seen.append((argv, prog)) or 0)
    assert cli.main(["data", "fetch", "--roles", "eval"]) == 0
    assert seen == [(["--roles", "eval"], "edgefill data fetch")]


def test_data_fetch_needs_no_torch_and_refuses_a_bad_role(capsys):
    code = ("import sys\nfrom edgefill import cli\ntry:\n    cli.main(['data', 'fetch', '--help'])\n"
            "except SystemExit:\n    pass\nprint('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "usage: edgefill data fetch" in out and out.strip().endswith("False")
    with pytest.raises(SystemExit) as exc:
        cli.main(["data", "fetch", "--roles", "bogus"])
    assert exc.value.code == 2 and "unknown role" in capsys.readouterr().err
