"""kargo's doit commands are declared once each, in kargo_commands.py (a class
with its `read_only` flag): a read-only command takes no run lock and keeps
the garbage collector, which the command line learns from the class that
doit resolves for the name, not from a list of its own. What doit itself
needs to find a plugin names every class: both plugin tables of
pyproject.toml (the wheel's entry points; the checkout's own table)."""
import inspect
import os
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
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


def test_the_command_line_knows_which_commands_only_read(monkeypatch):
    monkeypatch.chdir(ROOT)
    commandline._doit_commands.cache_clear()
    try:
        for name, cls in declared().items():
            assert commandline.is_command(name) and commandline.read_only(name) == cls.read_only, name
            assert commandline.wanted([name]) is not cls.read_only, name
        assert commandline.wanted(["deploy:web"]) and commandline.wanted([])
        assert not commandline.wanted(["-f", "dodo.py", "info", "deploy:web"])
        assert commandline.named_tasks(["-f", "x", "plan", "deploy:web", "A=1"]) == ["deploy:web"]
    finally:
        commandline._doit_commands.cache_clear()


def test_a_new_command_is_known_from_its_class_alone(tmp_path, monkeypatch):
    """A command declared as a class and named in the plugin table, nothing
    else: the command line knows whether it only reads, and takes its name for
    a command, not a task."""
    (tmp_path / "some_commands.py").write_text(textwrap.dedent("""
        from doit.cmd_base import DoitCmdBase

        class Peek(DoitCmdBase):
            name = "peek"
            read_only = True

        class Poke(DoitCmdBase):
            name = "poke"
            read_only = False
    """))
    (tmp_path / "pyproject.toml").write_text('[tool.doit.plugins.command]\n'
                                             'peek = "some_commands:Peek"\n'
                                             'poke = "some_commands:Poke"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(os.fspath(tmp_path))
    commandline._doit_commands.cache_clear()
    try:
        assert not commandline.wanted(["peek", "deploy:web"])
        assert commandline.wanted(["poke"])
        assert commandline.named_tasks(["peek", "deploy:web"]) == ["deploy:web"]
    finally:
        commandline._doit_commands.cache_clear()
        sys.modules.pop("some_commands", None)


@pytest.mark.parametrize("pyproject", ['not = toml = [\n',
                                       '[tool.doit.plugins.command]\nzap = "nowhere_module:Zap"\n'])
def test_another_projects_pyproject_here_changes_nothing(tmp_path, monkeypatch, pyproject):
    """`kargo` runs from any folder: one whose pyproject.toml doit cannot
    read, or that names a plugin that cannot be loaded, still has kargo's
    commands, and what cannot be loaded is taken for a command that may run
    tasks (the safe side), not an error."""
    (tmp_path / "pyproject.toml").write_text(pyproject)
    monkeypatch.chdir(tmp_path)
    commandline._doit_commands.cache_clear()
    try:
        assert commandline.read_only("plan") and not commandline.read_only("sync")
        assert not commandline.wanted(["plan"]) and commandline.wanted(["zap"])
        assert commandline.named_tasks(["plan", "deploy:web"]) == ["deploy:web"]
    finally:
        commandline._doit_commands.cache_clear()
