"""Every `cascade` command and option says what it does: the CLI can be learnt from --help."""

import click
import pytest
from click.testing import CliRunner

from cli import main


def walk(command: click.Command, path: tuple[str, ...] = ("cascade",)):
    """(path, command) for COMMAND and every command below it, the harness group included."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, path + (name,))


COMMANDS = list(walk(main))


def test_the_walk_reaches_every_group():
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in ("cascade node run", "cascade entry search", "cascade status", "cascade sync now",
                     "cascade verify", "cascade requests decide", "cascade scorecard", "cascade harness ps",
                     "cascade harness kill"):
        assert expected in names


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in COMMANDS:
        if not (command.help or command.short_help or "").strip():
            missing.append(f"command `{' '.join(path)}`")
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                missing.append(f"option {'/'.join(param.opts + param.secondary_opts)} of `{' '.join(path)}`")
    assert not missing, "no help text: " + "; ".join(missing)


def test_choice_like_options_list_their_values():
    options = {(" ".join(path), opt): param for path, command in COMMANDS for param in command.params
               if isinstance(param, click.Option) for opt in param.opts}
    assert "not_shared" in options["cascade entry list", "--share-type"].help
    assert "department" in options["cascade entry search", "--category"].help
    assert "half_yearly" in options["cascade entry list", "--update-cycle"].help
    assert "withdrawn" in options["cascade requests list", "--state"].help


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda path: " ".join(path[1:]) or "cascade")
def test_help_exits_0(path):
    result = CliRunner().invoke(main, [*path[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
