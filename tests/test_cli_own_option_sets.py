"""The subcommands with option sets of their own (``train``, ``data fetch``, ``bench quality``)
end with one line on an edgefill error or Ctrl-C, as the others do: they ran outside the CLI's
error handler, and a Ctrl-C during a long download was a traceback."""

from __future__ import annotations

import pytest

from edgefill import cli
from edgefill.errors import ModelError


def _raise(exc):
    def run(*args, **kwargs):
        raise exc
    return run


def _main(argv):
    """cli.main, with a Ctrl-C that escapes it caught here: escaping pytest, it stopped the session."""
    try:
        return cli.main(argv)
    except KeyboardInterrupt:
        return "KeyboardInterrupt escaped"


def test_ctrl_c_during_data_fetch_is_one_line_and_130(monkeypatch, capsys, tmp_path):
    from edgefill_export import fetch

    monkeypatch.setattr(fetch, "fetch", _raise(KeyboardInterrupt()))
    assert _main(["data", "fetch", "--cache", str(tmp_path)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0] and "run the same command again" in err[0]


@pytest.mark.parametrize("words", [["data", "fetch"], ["bench", "quality"]])
def test_an_edgefill_error_or_ctrl_c_in_a_subcommand_of_its_own_is_one_line(monkeypatch, capsys, words):
    monkeypatch.setattr(cli, "_OWN_OPTION_SETS", ((tuple(words), _raise(ModelError("no such model"))),))
    assert _main(words) == 2
    assert capsys.readouterr().err.strip() == f"edgefill {' '.join(words)}: error: no such model"
    monkeypatch.setattr(cli, "_OWN_OPTION_SETS", ((tuple(words), _raise(KeyboardInterrupt())),))
    assert _main(words) == 130
    assert capsys.readouterr().err.strip() == f"edgefill {' '.join(words)}: interrupted"
