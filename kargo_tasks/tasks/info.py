"""`use` (choose the workspace) and `show` (what kargo sees)."""
from kargo_tasks.base.actions import guarded
from kargo_tasks.operations.project import current
from kargo_tasks.operations.show import describe, use


def task_use():
    project = current()
    now = project.workspace or "none selected"
    return {
        "doc": f"choose the workspace folder: --workspace DIR (now: {now})",
        "params": [{"name": "workspace", "long": "workspace", "default": "",
                    "help": "the operator's workspace folder (.env and overrides)"}],
        "actions": [guarded(use, project)],
        "verbosity": 2,
        "uptodate": [False],
    }


def task_show():
    project = current()
    return {
        "doc": "print the workspace, stacks and their services, images and scripts",
        "actions": [guarded(describe, project)],
        "verbosity": 2,
        "uptodate": [False],
    }
