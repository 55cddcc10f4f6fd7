"""Smoke tests of the scripts in benchmarks/ (not a package: they are loaded by path)."""

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(name: str):
    """The module of ``benchmarks/<name>.py``."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def refused(script: str, argv: list, tmp_path: Path, capsys) -> tuple[str, str]:
    """Run ``benchmarks/<script>.py`` with ``argv``, where ``{file}`` names a plain file (so that
    ``{file}/x.json`` is a path in a folder that cannot exist); assert it exits 2 (from main() or
    argparse's SystemExit) and return its (stdout, stderr)."""
    (tmp_path / "file").write_text("not a folder")
    argv = [arg.format(file=tmp_path / "file") for arg in argv]
    try:
        code = load_script(script).main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    captured = capsys.readouterr()
    return captured.out, captured.err
