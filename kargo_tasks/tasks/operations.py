"""Operations tasks: `pull` (the workspace from its git upstream) and
`exec:<script>` (an operations script of the merged `scripts/` folder)."""
from kargo_tasks.base.actions import failing, guarded
from kargo_tasks.operations.project import current
from kargo_tasks.operations.pull import pull_action
from kargo_tasks.operations.scripts import of, run, summary, task_name

from .common import each


def task_pull():
    """Fast-forward the workspace from its git upstream."""
    project = current()
    if project.workspace is None:  # an .env that cannot be read is no reason not to pull
        return {"actions": [failing(project.error)], "doc": "fast-forward the workspace"}
    return {
        "doc": "fast-forward the workspace from its git upstream (refuses a dirty or "
               "diverged one)",
        "actions": [guarded(pull_action, project)],
        "uptodate": [False],
        "verbosity": 2,
    }


def task_exec():
    """Run an operations script of the merged scripts/ folder (exec:<script> ARGS...)."""
    def make(project, out):
        return {
            "name": task_name(out),
            "doc": summary(project.overlay[out].path) or f"run {out}",
            "actions": [guarded(run, project, out)],
            "pos_arg": "args",
            "task_dep": ["_configure"],  # the merged folder is the workspace's now
            "uptodate": [False],
            "verbosity": 2,
        }
    yield from each(lambda project: of(project.overlay), make, "run operations scripts", "exec")
