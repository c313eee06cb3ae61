"""`configure`: one private sub-task per file of the merged configuration."""
import functools
import os

from kargo_tasks.base.actions import failing, guarded
from kargo_tasks.operations.configure import prune, strays, unchanged, write_output
from kargo_tasks.operations.project import current, digest_key


def task_configure():
    """The public face of the per-file sub-tasks (hidden from `doit list`)."""
    return {
        "doc": "build the merged configuration .kargo/ (defaults overlaid by the workspace)",
        "actions": None,
        "task_dep": ["_configure"],
    }


def task__configure():
    project = current()
    try:
        project.require()
    except Exception as err:
        yield {"name": "workspace", "actions": [failing(err)], "doc": "check the workspace"}
        return
    lay = project.layout
    key_of = functools.partial(digest_key, lay)
    merged = str(lay.merged)
    for out, source in project.overlay.items():
        target = os.path.join(merged, out)  # strings: pathlib costs, 10,000 times
        yield {
            "name": out,
            "doc": f"write .kargo/{out} from {source.layer}",
            "actions": [guarded(write_output, project, out, source, key_of)],
            "file_dep": [str(source.path)],
            "targets": [target],
            # one check (the source, the output's stamp and mode, the
            # variables read): doit inspects each uptodate callable of each
            # of these thousands of tasks
            "uptodate": [unchanged(project, out, source, target, key_of)],
            "clean": True,
        }
    keep = frozenset(project.overlay)
    yield {
        "name": "prune",
        "doc": "remove merged files whose source is gone",
        "actions": [guarded(prune, project, keep)],
        "uptodate": [lambda: not strays(project, keep)],
        # after every write: under `doit -n` it would take their temp files for strays
        "task_dep": [f"_configure:{out}" for out in project.overlay],
    }
