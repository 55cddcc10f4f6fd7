"""benchmarks/fuzz_loaders.py: the atheris fuzzer of the image and mask loaders. atheris.Fuzz()
never returns and libFuzzer ends the process itself, so real runs are made in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from . import BENCHMARKS, load_script

ROOT = BENCHMARKS.parent


def fuzz(args: list[str], tmp_path, prelude: str = "") -> subprocess.CompletedProcess:
    """Run the fuzzer in a subprocess (``prelude`` may patch the loaded module ``m`` first)."""
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('fuzz_loaders', {str(BENCHMARKS / 'fuzz_loaders.py')!r})\n"
            "m = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\n"
            f"{prelude}\n"
            f"sys.exit(m.main({args!r}))\n")
    return subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_seconds_below_one_are_refused_before_fuzzing(monkeypatch, capsys, tmp_path):
    calls = []
    fake = types.SimpleNamespace(Setup=lambda argv, fn: calls.append(argv), Fuzz=lambda: calls.append("fuzz"),
                                 instrument_func=lambda f: f)
    monkeypatch.setitem(sys.modules, "atheris", fake)
    for seconds in ("0", "-5"):  # libFuzzer takes -max_total_time=0 as no limit at all
        assert load_script("fuzz_loaders").main(["--seconds", seconds, "--crashes", str(tmp_path / "c")]) == 2
        assert "--seconds must be >= 1" in capsys.readouterr().err
    assert calls == []


def test_a_run_is_guided_by_coverage_and_ends_with_a_summary(tmp_path):
    pytest.importorskip("atheris")
    # the loaders still have bugs this fuzzer finds within seconds (see the crash test for how
    # they are reported): here they are made InputErrors, so that the run reaches its time limit
    prelude = ("def refusing(read):\n"
               "    def call(path):\n"
               "        try:\n"
               "            return read(path)\n"
               "        except Exception as exc:\n"
               "            raise m.InputError(str(exc)) from None\n"
               "    return call\n"
               "m.read_image, m.read_mask = refusing(m.read_image), refusing(m.read_mask)\n")
    r = fuzz(["--seconds", "3", "--crashes", str(tmp_path / "crashes")], tmp_path, prelude)
    assert r.returncode == 0, r.stdout[-2000:]
    # libFuzzer prints "cov:" only when the target is instrumented; without it, it dropped the
    # seed images as uninteresting and mutated a 1-byte input for the whole run
    assert "INITED cov:" in r.stderr
    assert "0 unexpected exceptions" in r.stdout  # the summary: libFuzzer's own time limit skipped it
    assert not any((tmp_path / "crashes").iterdir())


def test_an_unexpected_exception_is_saved_and_counted(tmp_path):
    pytest.importorskip("atheris")
    prelude = ("read = m.read_image\n"
               "def broken(path):\n"
               "    read(path)\n"
               "    raise ValueError('not an InputError')\n"
               "m.read_image = broken\n")
    r = fuzz(["--seconds", "30", "--crashes", str(tmp_path / "crashes")], tmp_path, prelude)
    assert r.returncode != 0
    assert "ValueError: not an InputError" in r.stdout + r.stderr  # atheris prints the traceback
    assert "1 unexpected exceptions" in r.stdout and "0 unexpected exceptions" not in r.stdout
    saved = [p for p in (tmp_path / "crashes").iterdir() if not p.name.startswith("crash-")]  # ours, not libFuzzer's
    assert len(saved) == 1 and saved[0].stat().st_size > 0
