"""kargo's doit commands are declared once each, in kargo_commands.py (a class
with its `read_only` flag); what must name them elsewhere does: both plugin
tables of pyproject.toml, and the command line's read-only set (a read-only
command takes no run lock and keeps the garbage collector)."""
import inspect
import tomllib
from pathlib import Path

from doit.cmd_base import Command

import kargo_commands
from kargo_tasks.base import commandline

ROOT = Path(__file__).resolve().parents[2]


def declared():
    """{doit name: class} of the commands kargo_commands.py declares."""
    # doit names a command without `name` after its class (cmd_base.Command)
    return {cls.name or cls.__name__.lower(): cls for _, cls in inspect.getmembers(kargo_commands, inspect.isclass)
            if issubclass(cls, Command) and cls.__module__ == "kargo_commands"}


def test_each_command_says_whether_it_only_reads():
    missing = [name for name, cls in declared().items() if "read_only" not in vars(cls)]
    assert not missing, f"kargo_commands.py: give {missing} a read_only flag"


def test_both_plugin_tables_name_every_command():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {name: f"kargo_commands:{cls.__name__}" for name, cls in declared().items()}
    assert config["project"]["entry-points"]["doit.COMMAND"] == wanted
    assert config["tool"]["doit"]["plugins"]["command"] == wanted


def test_the_command_line_knows_which_commands_only_read():
    for name, cls in declared().items():
        assert (name in commandline.READ_ONLY) == cls.read_only, name
        assert name in commandline.COMMANDS, name
