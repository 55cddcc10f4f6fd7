"""Every module of the export toolchain (and every benchmark script) with a ``main()`` runs it
when started as a command: ``python -m edgefill_export.ship ...``, which the README and
docs/export.md give, once lost its ``if __name__ == "__main__"`` block in an edit, and then did
nothing and exited 0 (nothing shipped, nothing said)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([*ROOT.glob("export/edgefill_export/*.py"), *ROOT.glob("benchmarks/*.py"),
                  *ROOT.glob("export/recipes/*.py")])


def _runs_main(tree: ast.Module) -> bool:
    """Whether the module ends by calling main() under ``if __name__ == "__main__":``."""
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return "main(" in ast.unparse(node)
    return False


@pytest.mark.parametrize("path", [p for p in SCRIPTS if "def main(" in p.read_text()], ids=lambda p: p.name)
def test_a_module_with_a_main_runs_it_as_a_command(path):
    assert _runs_main(ast.parse(path.read_text())), f"{path.relative_to(ROOT)} defines main() but never calls it"


def test_ship_prints_its_usage_as_a_command():
    pytest.importorskip("torch", reason="the export toolchain needs edgefill[export] (torch)")
    proc = subprocess.run([sys.executable, "-m", "edgefill_export.ship", "--help"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "export")})
    assert proc.returncode == 0 and "usage:" in proc.stdout and "--int8" in proc.stdout
