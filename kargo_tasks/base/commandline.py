"""What a doit command line asks for: whether it may run tasks (the run lock
and the garbage collector depend on it), and which tasks it names."""
import functools
import sys
from collections.abc import Sequence
from typing import Any

# doit's own commands that only read: doit's classes carry no such flag. kargo's
# commands say it on their class (`read_only` in kargo_commands.py), the one place
# a kargo command is declared.
DOIT_READ_ONLY = frozenset({"list", "info", "help", "tabcompletion", "dumpdb", "strace"})
TAKES_VALUE = {"-f", "--file", "-d", "--dir"}  # doit's options before the command
# kargo's tasks that only read (`logs:<stack>`): a command line naming only
# those takes no run lock, so a followed log never holds up a deploy; the
# options of theirs that take a value, when written as a word of their own
READ_ONLY_TASKS = ("logs",)
TASK_TAKES_VALUE = {"--since", "--tail"}


@functools.cache
def _doit_commands() -> Any:
    """doit's commands as doit resolves the names of a run started here: its
    own, then the plugins of pyproject.toml and of the installed entry points
    (doit's order; a name is loaded only when asked, `read_only`). A
    pyproject.toml here that doit cannot read is doit's own error on a `doit`
    run; for `kargo`, which reads none (commands/cli.py), only the entry points."""
    from doit.doit_cmd import DoitMain
    try:
        return DoitMain().get_cmds()
    except Exception:  # noqa: BLE001 - whatever doit's config reading raises
        return DoitMain(config_filenames=()).get_cmds()


def is_command(name: str) -> bool:
    """Whether `name` is a doit command of this run (else a task name)."""
    return name in _doit_commands()


def read_only(name: str) -> bool:
    """Whether the command `name` only reads: the `read_only` of the class doit
    resolves for it (kargo's commands say it, kargo_commands.py), else doit's
    own list. The class is taken through doit's loader, which finds the module
    doit itself loaded for this run (an import by name here would find the
    installed kargo_commands, not the checkout's, and reach above kargo_tasks).
    A plugin that cannot be loaded (another project's row) is not read-only:
    the safe side."""
    found = _doit_commands()
    if name not in found:
        return False
    try:
        command = found.get_plugin(name)
    except Exception:  # noqa: BLE001 - doit raises a bare Exception for a missing plugin
        return False
    return bool(getattr(command, "read_only", name in DOIT_READ_ONLY))


def _positional(argv, takes_value=TAKES_VALUE):
    args = iter(argv)
    for arg in args:
        if arg in takes_value:
            next(args, None)
        elif not arg.startswith("-"):
            yield arg


def wanted(argv: Sequence[str] | None = None) -> bool:
    """Whether a doit command line may run tasks (the safe side when unsure)."""
    argv = sys.argv[1:] if argv is None else argv
    first = next(_positional(argv), None)
    if first is not None and read_only(first):
        return False
    words = [a for a in _positional(argv, TAKES_VALUE | TASK_TAKES_VALUE) if a != "run"]
    return not words or not all(w.split(":", 1)[0] in READ_ONLY_TASKS and ":" in w
                                for w in words)


def named_tasks(argv: Sequence[str] | None = None) -> list[str]:
    """The task names a command line gives (`doit deploy:web` -> deploy:web)."""
    argv = sys.argv[1:] if argv is None else argv
    names = [arg for arg in _positional(argv) if "=" not in arg]
    if names and is_command(names[0]):
        names = names[1:]
    return names
