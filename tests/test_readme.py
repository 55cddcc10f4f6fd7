"""The README's Python examples run as written, and the `edgefill` commands of the user docs
name subcommands and options the parser has."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The user docs whose commands must match the parser (docs/training.md and docs/performance.md
#: are records of past runs: their commands are kept as they were run).
USER_DOCS = ("README.md", "docs/runtime.md", "docs/export.md", "docs/jetson.md", "docs/architecture.md",
             "docs/reliability.md")


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_examples():
    assert python_blocks()


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    exec(compile(python_blocks()[index], f"README.md[python {index}]", "exec"), {})
    assert (tmp_path / "coffee_api.png").exists() or (tmp_path / "clip_api.mp4").exists()


def test_readme_documents_both_make_targets():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text()


class _Parsed(Exception):
    pass


def _quality_parser() -> argparse.ArgumentParser:
    """``edgefill bench quality``'s parser, which ``edgefill.quality.main`` builds and parses at once."""
    from edgefill import quality

    def grab(self, args=None, namespace=None):
        raise _Parsed(self)

    with mock.patch.object(argparse.ArgumentParser, "parse_args", grab), pytest.raises(_Parsed) as got:
        quality.main([])
    return got.value.args[0]


def parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each subcommand's (``bench quality`` included)."""
    from edgefill.cli import build_parser

    top = build_parser()
    subs = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    own = {"bench quality": _quality_parser()}
    try:  # `edgefill train` hands its arguments to the training command's own parser
        from edgefill_export.train import build_parser as train_parser

        own["train"] = train_parser("edgefill train")
    except ImportError:  # no edgefill[export]: its lines are checked where it is installed
        pass
    return top, {**subs.choices, **own}


class _ParseError(Exception):
    pass


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> None:
    """``parser.parse_args(args)``; a _ParseError with argparse's message instead of its exit."""
    def error(message):
        raise _ParseError(message)

    with mock.patch.object(parser, "error", error), mock.patch.object(parser, "exit", error):
        parser.parse_args(args)


def command_problems(text: str) -> list[str]:
    """What is wrong with the ``edgefill`` commands of a Markdown text: each line of a ``sh``
    block that runs ``edgefill`` must parse as written (its subcommand, options, choices, number
    types and required arguments); each inline `edgefill SUB ...` span must name a subcommand and
    only options it has (it may leave arguments out, or write ``...``)."""
    top, subs = parsers()
    problems = []

    def split(cmd: str) -> tuple[str | None, list[str], list[str]]:
        words = [w for w in shlex.split(cmd, comments=True)[1:] if w != "..."]
        globals_ = []
        while words and words[0].startswith("-"):
            globals_.append(words.pop(0))
        if words[:2] == ["bench", "quality"]:
            return "bench quality", globals_, words[2:]
        return (words[0] if words else None), globals_, words[1:]

    def options_exist(cmd: str, parser: argparse.ArgumentParser, words: list[str]) -> None:
        for w in words:
            if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", w) and w.split("=")[0] not in parser._option_string_actions:
                problems.append(f"`{cmd}`: {w.split('=')[0]} is not an option of this command")

    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.S)
    for line in (ln.strip() for block in blocks for ln in block.splitlines()):
        line = re.sub(r"^(\S*/)?(?=edgefill )", "", line)  # .venv/bin/edgefill ...
        if not line.startswith("edgefill "):
            continue
        sub, globals_, rest = split(line)
        if sub not in subs:
            problems.append(f"`{line}`: no subcommand {sub!r}")
            continue
        options_exist(line, top, globals_)
        try:
            _parse(subs[sub], rest)
        except _ParseError as exc:
            problems.append(f"`{line}`: {exc}")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`(edgefill(?: [^`]*)?)`", prose):
        sub, globals_, rest = split(span)
        options_exist(span, top, globals_)
        if sub is None:
            continue
        if sub not in subs:
            problems.append(f"`{span}`: no subcommand {sub!r}")
            continue
        options_exist(span, subs[sub], rest)
    return problems


@pytest.mark.parametrize("doc", USER_DOCS)
def test_documented_commands_exist(doc):
    assert command_problems((ROOT / doc).read_text()) == []


def test_made_up_commands_and_options_are_caught():
    """The check above fails on a renamed or made-up option, subcommand or choice."""
    assert command_problems("```sh\nedgefill run a.mp4 --mask m.png -o o.mp4 --no-such-flag 3\n```")
    assert command_problems("```sh\nedgefill bench quality --models lite --no-such-flag\n```")
    assert command_problems("```sh\nedgefill export --model lite --precision int4 -o b/\n```")  # bad choice
    assert command_problems("```sh\nedgefill inpaint a.png -o b.png\n```")  # --mask is required
    assert command_problems("```sh\nedgefill summon --now\n```")
    if "train" in parsers()[1]:  # edgefill[export] installed: `edgefill train` lines are parsed by its parser
        assert command_problems("```sh\nedgefill train --model lite --no-such-flag 1 --out x\n```")
    assert command_problems("`edgefill inpaint ... --no-such-flag 3`")
    assert command_problems("`edgefill -q run x`")
    assert not command_problems("```sh\n.venv/bin/edgefill run a.mp4 --mask m.png -o o.mp4  # fine\n```\n"
                                "`edgefill run --profile NAME`, `edgefill -v ...`, `edgefill bench quality --feather 6`")


def _options_paragraph(text: str, opening: str) -> str:
    start = text.index(opening)
    return text[start:text.find("\n\n", start)]


@pytest.mark.parametrize("opening, sub", [("Options of `inpaint`:", "inpaint"), ("`run`'s `-o` is", "run")])
def test_readme_option_lists_name_real_options(opening, sub):
    """The prose lists of one subcommand's options name only options it has."""
    _, subs = parsers()
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", _options_paragraph((ROOT / "README.md").read_text(), opening)))
    assert flags and not flags - set(subs[sub]._option_string_actions)


#: Defaults the README states, as (its words, subcommand, option, the parser's default).
README_DEFAULTS = [
    ("`--feather PX` (default 0", "inpaint", "--feather", 0),
    ("`--thin-px PX` (thin parts of the hole by OpenCV NS, default 5", "inpaint", "--thin-px", 5),
    ("`--thin-ns-weight W` (NS share in the thin pixels, the rest the model's fill; default the model's own, else 0.7)",
     "inpaint", "--thin-ns-weight", None),
    ("127.0.0.1:8090", "run", "--preview-host", "127.0.0.1"),
    ("127.0.0.1:8090", "run", "--preview-port", 8090),
    ("`--max-frames N`\ntakes N >= 1 (leave it out for no limit)", "run", "--max-frames", None),
]


@pytest.mark.parametrize("words, sub, option, default", README_DEFAULTS)
def test_readme_defaults_are_the_parsers(words, sub, option, default):
    assert words in (ROOT / "README.md").read_text()
    _, subs = parsers()
    assert subs[sub]._option_string_actions[option].default == default


def test_readme_model_table_matches_the_sidecars():
    """The Models table's parameter counts, executed GMAC at 512x512 and INT8 gate results are
    those the shipped models' sidecars record (the gate as INT8 minus FP32 hole PSNR)."""
    import json

    rows = re.findall(r"^\| `([\w-]+)` \| ([\d.]+) M \| ([\d.]+) \| [^|]* \| `([\w-]+\.int8)` "
                      r"\(CPU INT8, gated: hole PSNR ([+-]\d+\.\d\d) dB vs FP32\)",
                      (ROOT / "README.md").read_text(), flags=re.M)
    assert {r[0] for r in rows} == {"nano", "lite", "lite-surface"}
    models = ROOT / "edgefill" / "models"
    for name, params_m, gmac, int8, gate in rows:
        side = json.loads((models / f"{name}.json").read_text())
        assert f"{side['parameters'] / 1e6:.2f}" == params_m, name
        assert f"{side['conv_macs_per_input_pixel'] * 512 * 512 / 1e9:.1f}" == gmac, name
        assert int8 == f"{name}.int8"
        v = json.loads((models / f"{int8}.json").read_text())["validation"]
        assert f"{v['hole_psnr_db'] - v['reference_hole_psnr_db']:+.2f}" == gate, int8
