"""benchmarks/fuzz_loaders.py: a bad --crashes folder is one line before any work; Ctrl-C ends
with the summary and removes the temporary corpus."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import types

import pytest

from . import BENCHMARKS, load_script


def test_an_unwritable_crashes_folder_is_one_line_before_fuzzing(monkeypatch, capsys, tmp_path):
    """Was a NotADirectoryError traceback after instrumenting, leaving the temporary corpus behind."""
    calls = []
    fake = types.SimpleNamespace(Setup=lambda argv, fn: calls.append(argv), Fuzz=lambda: calls.append("fuzz"),
                                 instrument_func=lambda f: calls.append(f))
    monkeypatch.setitem(sys.modules, "atheris", fake)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setattr("tempfile.tempdir", None)  # TMPDIR is read again
    assert load_script("fuzz_loaders").main(["--seconds", "5", "--crashes", str(tmp_path / "file" / "crashes")]) == 2
    err = capsys.readouterr().err
    assert "cannot write the crash inputs" in err and "Traceback" not in err
    assert calls == [] and not any((tmp_path / "tmp").iterdir())


def test_ctrl_c_prints_the_summary_and_removes_the_temporary_corpus(tmp_path):
    pytest.importorskip("atheris")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, str(BENCHMARKS / "fuzz_loaders.py"), "--seconds", "100", "--crashes",
                             str(tmp_path / "crashes")], cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp)},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            # as from a terminal: a shell's background job (a CI script, `cmd &`) ignores SIGINT,
                            # the child then inherits that, and libFuzzer's own handler ends it with no summary
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        end = time.monotonic() + 90
        while not any(tmp.glob("*/corpus/seed4")) and time.monotonic() < end:  # the fuzzing has begun
            time.sleep(0.2)
        time.sleep(3)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "unexpected exceptions" in out  # the summary
    assert not list(tmp.glob("*/corpus")), "the temporary corpus was left behind"


def test_ctrl_c_before_the_first_input_also_prints_the_summary_and_cleans_up(monkeypatch, capsys, tmp_path):
    """Ctrl-C during libFuzzer's start-up (a loaded machine: the seconds after the seeds are written)
    was a KeyboardInterrupt traceback with no summary, and the corpus stayed in the temporary folder."""
    def interrupted():
        raise KeyboardInterrupt

    fake = types.SimpleNamespace(Setup=lambda argv, fn: None, Fuzz=interrupted, instrument_func=lambda f: f)
    monkeypatch.setitem(sys.modules, "atheris", fake)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)  # TMPDIR is read again
    assert load_script("fuzz_loaders").main(["--seconds", "5", "--crashes", str(tmp_path / "crashes")]) == 130
    assert "0 inputs" in capsys.readouterr().out and not any((tmp_path / "tmp").iterdir())
