"""`doit sync`: pull the workspace, then build and deploy what is stale,
under one hold of the run lock; the GitOps loop, run from cron or a systemd
timer, with no agent in the cluster.

The tasks doit loaded describe the workspace before the pull: after it, the
project is read again and doit runs `build deploy` over tasks made from the
new workspace, in this process (which holds the lock). `deploy` sends only
the stacks that differ from what runs, so what the pull changed is what
moves. Exit status: 0 nothing was pulled, built or deployed; EXIT_SYNCED
something was, and it all succeeded; 1 a task failed (a pulled workspace
that does not read included); 3 the pull was refused or undone (dirty,
diverged, detached, not a git repository, no upstream, a submodule that
cannot be updated) or there is no workspace. `build` builds only the images
a stack runs (tasks/images.py): an image of the catalog no stack runs never
fails a sync. The files a pull brought in submodules are in the workspace
like any other (pull.py), so what they change is what moves.
"""
from kargo_tasks.base.exits import EXIT_SYNCED

from .plan import refuse


def execute(command):
    """The body of `doit sync` (`command`: the doit command object)."""
    from kargo_tasks.base.errors import KargoError
    from kargo_tasks.operations import project as project_mod
    from kargo_tasks.operations.pull import pull
    import time
    started = time.monotonic()
    project = project_mod.current()
    try:
        pulled = pull(project.workspace)
    except KargoError as err:
        code = refuse("sync", err)
        # a GitOps loop that cannot pull is a failed sync: its one notification
        _notify_refused(err, time.monotonic() - started)
        return code
    for line in pulled:
        command.outstream.write(f"{line}\n")
    command.outstream.flush()
    project_mod.current.cache_clear()  # read again; the lock stays held (lock.py)
    ran = []
    code = _run(["build", "deploy"], ran)
    if code:
        return code
    changed = pulled or any(name.startswith(("build:", "deploy")) for name in ran)
    return EXIT_SYNCED if changed else 0


def _run(argv, ran):
    """doit `argv` over kargo's tasks made now; `ran` gets the executed ones."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from kargo_tasks import tasks
    from kargo_tasks.tasks.config import DOIT_CONFIG
    from kargo_tasks.tasks.report import Reporter

    class Recording(Reporter):
        command = "sync"  # the run's notification names the sync, not its tasks

        def execute_task(self, task):
            if task.actions:
                ran.append(task.name)
            super().execute_task(task)

    namespace = {name: getattr(tasks, name) for name in tasks.__all__}
    namespace["DOIT_CONFIG"] = dict(DOIT_CONFIG, reporter=Recording)
    return DoitMain(ModuleTaskLoader(namespace), config_filenames=()).run(argv)


def _notify_refused(err, seconds):
    """KARGO_NOTIFY of a sync refused before any task ran (no reporter saw it)."""
    import sys

    from kargo_tasks.operations import notify
    try:
        notify.after_run("sync", [], [str(err)], seconds)
    except Exception as exc:  # noqa: BLE001 - a notification never fails the run
        print(f"kargo: warning: notification not sent: {exc}", file=sys.stderr, flush=True)
