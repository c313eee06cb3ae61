"""What a doit command line asks for: whether it may run tasks (the run lock
and the garbage collector depend on it), and which tasks it names."""
import sys
from collections.abc import Sequence

# doit's read-only commands, and kargo's whose class in kargo_commands.py says
# read_only (tests/unit/test_doit_commands.py holds the two together)
READ_ONLY = {"list", "info", "help", "tabcompletion", "dumpdb", "strace", "plan", "graph", "status"}
COMMANDS = READ_ONLY | {"run", "clean", "forget", "ignore", "auto", "reset-dep", "sync"}
TAKES_VALUE = {"-f", "--file", "-d", "--dir"}  # doit's options before the command
# kargo's tasks that only read (`logs:<stack>`): a command line naming only
# those takes no run lock, so a followed log never holds up a deploy; the
# options of theirs that take a value, when written as a word of their own
READ_ONLY_TASKS = ("logs",)
TASK_TAKES_VALUE = {"--since", "--tail"}


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
    if first in READ_ONLY:
        return False
    words = [a for a in _positional(argv, TAKES_VALUE | TASK_TAKES_VALUE) if a != "run"]
    return not words or not all(w.split(":", 1)[0] in READ_ONLY_TASKS and ":" in w
                                for w in words)


def named_tasks(argv: Sequence[str] | None = None) -> list[str]:
    """The task names a command line gives (`doit deploy:web` -> deploy:web)."""
    argv = sys.argv[1:] if argv is None else argv
    names = [arg for arg in _positional(argv) if "=" not in arg]
    if names and names[0] in COMMANDS:
        names = names[1:]
    return names
