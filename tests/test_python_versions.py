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
import functools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("edgefill", "benchmarks")
TARGET = "3.8"


BUILTIN_GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type"}


@functools.lru_cache(maxsize=None)
def _runtime_trees() -> tuple[tuple[Path, ast.Module], ...]:
    """Every runtime module and its syntax tree, parsed once for all the checks below."""
    paths = sorted(p for d in RUNTIME for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)
    return tuple((p, ast.parse(p.read_text(encoding="utf-8"))) for p in paths)


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
    for node in ast.walk(annotation):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return True
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in BUILTIN_GENERICS:
            return True
    return False


def _has_future_annotations(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
               for n in tree.body)


def test_newer_annotation_syntax_is_never_evaluated():
    offenders = []
    for path, tree in _runtime_trees():
        if not _has_future_annotations(tree) and any(_newer_syntax(a) for a in _annotations(tree)):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"add 'from __future__ import annotations' (Python 3.8 evaluates these): {offenders}"


class _EvaluatedGenerics(ast.NodeVisitor):
    """Subscripted builtins and ``collections.abc`` classes (3.9) and ``X | None`` (3.10) in code
    that runs: module-level aliases, casts, isinstance arguments. Annotations and
    ``if TYPE_CHECKING:`` blocks are skipped. vermin misses these (``V = tuple[int, int]``
    and ``Alias = collections.abc.Callable[...]`` both passed it while failing on 3.8)."""

    def __init__(self, abc_names: set[str]):
        self.abc_names, self.found = abc_names, []

    def visit_arg(self, node: ast.arg) -> None:
        pass  # an annotation only

    def visit_FunctionDef(self, node) -> None:
        for n in (*node.decorator_list, *node.args.defaults, *[d for d in node.args.kw_defaults if d], *node.body):
            self.visit(n)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_If(self, node: ast.If) -> None:
        if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        v = node.value
        if (isinstance(v, ast.Name) and (v.id in BUILTIN_GENERICS or v.id in self.abc_names)) or (
                isinstance(v, ast.Attribute) and ast.unparse(v.value) in ("collections.abc", "abc")):
            self.found.append(f"line {node.lineno}: {ast.unparse(node)}")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        sides = (node.left, node.right)
        if isinstance(node.op, ast.BitOr) and any(isinstance(s, ast.Constant) and s.value is None for s in sides):
            self.found.append(f"line {node.lineno}: {ast.unparse(node)}")
        self.generic_visit(node)


def _evaluated_generics(tree: ast.Module) -> list[str]:
    abc_names = {a.asname or a.name for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module == "collections.abc" for a in n.names}
    visitor = _EvaluatedGenerics(abc_names)
    visitor.visit(tree)
    return visitor.found


def test_no_newer_generic_is_evaluated_at_run_time():
    offenders = []
    for path, tree in _runtime_trees():
        found = _evaluated_generics(tree)
        offenders += [f"{path.relative_to(ROOT)} {f}" for f in found]
    assert not offenders, "use typing's List / Tuple / Callable / Optional here (Python 3.8 evaluates these):\n" + \
        "\n".join(offenders)


def test_the_run_time_check_finds_what_it_looks_for():
    code = ("from collections.abc import Callable\nfrom typing import TYPE_CHECKING\n"
            "A = tuple[int, int]\nB = Callable[[int], int]\nC = isinstance(1, int | None)\n"
            "def f(x: list[int] = None) -> dict[str, int]:\n    return cast('x', list[int])\n"
            "y: dict[str, int] = {}\nif TYPE_CHECKING:\n    D = list[int]\n")
    found = _evaluated_generics(ast.parse(code))
    assert [f.split(":")[0] for f in found] == ["line 3", "line 4", "line 5", "line 7"], found


def test_the_annotation_check_finds_what_it_looks_for():
    bad = ast.parse("def f(x: list[int]) -> int | None: ...")
    good = ast.parse("from __future__ import annotations\ndef f(x: list[int]) -> int | None: ...")
    assert any(_newer_syntax(a) for a in _annotations(bad)) and not _has_future_annotations(bad)
    assert _has_future_annotations(good)
    assert not any(_newer_syntax(a) for a in _annotations(ast.parse("def f(x: 'Optional[int]', y: List[int]): ...")))
