"""`logs:<stack>` and `logs:<stack>:<service>`: the recent log lines of a
stack's services, interleaved by time (operations/logs.py). Read-only: no
`_configure` first (the environment and the engine are all it reads), and
no run lock (base/commandline.READ_ONLY_TASKS), so a followed log never
holds up a deploy."""
from kargo_tasks.base.actions import guarded
from kargo_tasks.operations.logs import show
from kargo_tasks.operations.project import current

from .common import stand_ins

PARAMS = [
    {"name": "follow", "long": "follow", "type": bool, "default": False,
     "help": "keep writing the lines as they come, until Ctrl-C"},
    {"name": "since", "long": "since", "default": "",
     "help": "only lines since a time: a duration back from now (10m, 1h30m), "
             "2026-12-02T15:04:05Z, or seconds since the epoch"},
    {"name": "tail", "long": "tail", "default": "all",
     "help": "the last N lines of each service (default all)"},
    {"name": "timestamps", "long": "timestamps", "short": "t", "type": bool, "default": False,
     "help": "write each line's time first"},
]


def _logs(project, stack, service, name, doc):
    return {
        "basename": name,
        "doc": doc,
        "params": PARAMS,
        "actions": [guarded(show, project, stack, service)],
        "uptodate": [False],
        "verbosity": 2,
    }


def task_logs():
    """The log lines of a stack's services, interleaved by time (--follow, --since, --tail)."""
    project = current()
    if project.error:
        yield from stand_ins(project, "logs", "the log lines of a stack's services")
        return
    for stack in project.catalog.stacks.values():
        yield _logs(project, stack, "", f"logs:{stack.name}",
                    f"the log lines of {stack.name}'s services, by time (--follow, --since, --tail)")
        for service in stack.services:
            yield _logs(project, stack, service, f"logs:{stack.name}:{service}",
                        f"the log lines of {service} of {stack.name} (--follow, --since, --tail)")
