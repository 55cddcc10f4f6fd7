"""The benchmarks run on Python 3.8 (JetPack 5's), as tests/test_python_versions.py checks; these
are the 3.9+ calls that vermin cannot see there, because it does not know the type of what they
are called on: ``vars(a) | {...}`` (dict union) in frame_formats.py was a TypeError on 3.8 once
the run had finished, losing its --json."""

from __future__ import annotations

import ast

import pytest

from . import BENCHMARKS

#: methods added in Python 3.9+ to str, bytes, pathlib.Path, int ... (3.9: removeprefix,
#: removesuffix, is_relative_to, with_stem; 3.10: bit_count)
NEWER_METHODS = {"removeprefix", "removesuffix", "is_relative_to", "with_stem", "bit_count"}
#: calls that make a dict
DICT_CALLS = {"dict", "vars", "globals", "locals"}


def _is_dict(node: ast.AST) -> bool:
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DICT_CALLS:
        return True
    return isinstance(node, ast.Attribute) and node.attr == "__dict__"


def newer_constructs(tree: ast.AST) -> list[str]:
    """Dict union (``|``, ``|=``) on something that is plainly a dict, and the 3.9+ methods, by line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and (_is_dict(node.left) or _is_dict(node.right)):
            found.append((node.lineno, "dict union"))
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.BitOr) and _is_dict(node.value):
            found.append((node.lineno, "dict union"))
        elif isinstance(node, ast.Attribute) and node.attr in NEWER_METHODS:
            found.append((node.lineno, f".{node.attr}"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py")))
def test_no_python_3_9_construct(script):
    found = newer_constructs(ast.parse((BENCHMARKS / script).read_text(encoding="utf-8")))
    assert not found, f"benchmarks/{script} uses what Python 3.8 lacks: {found}"


def test_the_check_finds_what_it_looks_for():
    code = ("a = vars(x) | {'k': 1}\nb = {**vars(x), 'k': 1}\nc = {'k': 1} | d\nd |= {'k': 2}\n"
            "e = s.removeprefix('x')\nf = 1 | 2\n")
    assert newer_constructs(ast.parse(code)) == ["line 1: dict union", "line 3: dict union", "line 4: dict union",
                                                 "line 5: .removeprefix"]
