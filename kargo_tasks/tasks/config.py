"""doit's configuration, shared by dodo.py and the `kargo` command, and what
a run does before doit starts (`start`): importing this module does nothing."""
import gc
from collections.abc import Sequence

from kargo_tasks.workspace.layout import layout

from .report import Reporter

DOIT_CONFIG = {
    # The doit database lives with the merged configuration it describes.
    "dep_file": str(layout().state / "doit.db"),
    # doit's sqlite3, made again when unreadable (kargo_commands.Database)
    "backend": "kargo-sqlite3",
    # Nothing printed for up-to-date tasks: a no-op run is silent.
    "reporter": Reporter,
    "verbosity": 1,
    # `doit list` shows deploy:<stack> and build:<image>, one per line.
    "subtasks": True,
    # A bare `doit` must never deploy or remove anything.
    "default_tasks": ["show"],
}


def start(argv: Sequence[str]) -> None:
    """Called where a run starts (dodo.py, `kargo`), before doit opens its
    database: kargo's private folders must exist. For a run that may run
    tasks, no cyclic garbage collection while doit loads and checks them:
    with one task per merged file, the collector walked tens of thousands of
    live objects again and again (a no-op configure of 10,000 files: 1.6 s
    -> 1.0 s); the first action that runs turns it back on (actions.guarded).
    `list`, `plan`, `graph` and the like keep it."""
    from kargo_tasks.base.commandline import wanted
    layout().make_state()
    if wanted(argv):
        gc.disable()
