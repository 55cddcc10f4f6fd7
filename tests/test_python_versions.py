"""The runtime (``edgefill/``) and the benchmarks run on Python 3.8, JetPack 5's Python.

The suite itself runs on this machine's newer Python, so these checks are static:
vermin finds standard-library features newer than 3.8 (``zip(strict=)``,
``importlib.resources.files``, ``str.removeprefix`` ...), and annotations such as
``list[int]`` or ``int | None`` are only safe where ``from __future__ import annotations``
keeps them unevaluated. The runtime's tests were also run on a Python 3.9 interpreter with
the lowest dependency versions pyproject allows (docs/runtime.md, "Python versions").
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("edgefill", "benchmarks")
TARGET = "3.8"


def _runtime_modules() -> list[Path]:
    return sorted(p for d in RUNTIME for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def test_runtime_needs_nothing_newer_than_python_3_8():
    pytest.importorskip("vermin", reason="vermin (edgefill[dev]) checks the minimum Python version")
    vermin = [sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())"]
    proc = subprocess.run([*vermin, "--no-tips", "--violations", f"-t={TARGET}-", *[str(ROOT / d) for d in RUNTIME]],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"features newer than Python {TARGET}:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"


def _annotations(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            yield node.annotation
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.returns is not None:
                yield node.returns
            a = node.args
            for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                if arg is not None and arg.annotation is not None:
                    yield arg.annotation


def _newer_syntax(annotation: ast.AST) -> bool:
    """``X | Y`` (3.10) or a subscripted builtin such as ``list[int]`` (3.9)."""
    builtins = {"list", "dict", "tuple", "set", "frozenset", "type"}
    for node in ast.walk(annotation):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return True
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in builtins:
            return True
    return False


def _has_future_annotations(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
               for n in tree.body)


def test_newer_annotation_syntax_is_never_evaluated():
    offenders = []
    for path in _runtime_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not _has_future_annotations(tree) and any(_newer_syntax(a) for a in _annotations(tree)):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"add 'from __future__ import annotations' (Python 3.8 evaluates these): {offenders}"


def test_the_annotation_check_finds_what_it_looks_for():
    bad = ast.parse("def f(x: list[int]) -> int | None: ...")
    good = ast.parse("from __future__ import annotations\ndef f(x: list[int]) -> int | None: ...")
    assert any(_newer_syntax(a) for a in _annotations(bad)) and not _has_future_annotations(bad)
    assert _has_future_annotations(good)
    assert not any(_newer_syntax(a) for a in _annotations(ast.parse("def f(x: 'Optional[int]', y: List[int]): ...")))
