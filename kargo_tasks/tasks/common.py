"""What every task creator shares: one sub-task per stack or image; and, when
the operator's input cannot be read, tasks that fail with that error for the
names the command line asks for (`doit deploy:web` then says what is wrong
with the environment, not that there is no such task). Those stand-ins carry
`meta` "needs_env": `doit list` leaves them out and says the error."""
from kargo_tasks.base.actions import failing
from kargo_tasks.base.commandline import named_tasks
from kargo_tasks.operations.project import current

NEEDS_ENV = {"needs_env": True}


def each(items_of, make, doc, basename):
    """Yield `make(project, item)` for each item of `items_of(project)`.

    Without a workspace the default stacks are still listed; running one
    fails in `_configure`, which every such task reaches first."""
    project = current()
    if project.error:
        names = {"all"} | {name.split(":", 1)[1] for name in named_tasks()
                           if name.startswith(f"{basename}:")}
        for name in sorted(names):
            yield {"name": name, "actions": [failing(project.error)], "doc": doc,
                   "meta": NEEDS_ENV}
        return
    for item in items_of(project):
        yield make(project, item)


def stand_ins(project, basename, doc):
    """Failing tasks for `basename` and each `basename:<x>` the command line
    names, when the environment cannot be read."""
    names = {basename} | {n for n in named_tasks() if n.startswith(f"{basename}:")}
    for name in sorted(names):
        yield {"basename": name, "actions": [failing(project.error)], "doc": doc,
               "meta": NEEDS_ENV}


def stacks(project):
    return list(project.catalog.stacks.values())
