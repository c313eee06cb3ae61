"""doit's configuration, shared by dodo.py and the `kargo` command."""
import gc

from .files import ensure_dir
from .report import Reporter
from .workspace import layout

# No cyclic garbage collection while doit loads and checks the tasks: with
# one task per merged file, the collector walked tens of thousands of live
# objects again and again (a no-op configure of 10,000 files: 1.6 s -> 1.0 s).
# The first action that runs turns it back on (actions.guarded).
gc.disable()

_LAYOUT = layout()
# doit opens its database before it loads any task: its folder must exist
# when this configuration is read (a private folder, like all of .kargo/).
ensure_dir(_LAYOUT.merged)
ensure_dir(_LAYOUT.state)

DOIT_CONFIG = {
    # The doit database lives with the merged configuration it describes.
    "dep_file": str(_LAYOUT.state / "doit.db"),
    "backend": "sqlite3",
    # Nothing printed for up-to-date tasks: a no-op run is silent.
    "reporter": Reporter,
    "verbosity": 1,
    # `doit list` shows deploy:<stack> and build:<image>, one per line.
    "subtasks": True,
    # A bare `doit` must never deploy or remove anything.
    "default_tasks": ["show"],
}

