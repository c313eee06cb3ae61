"""Stack tasks: `_stack:<s>` (resolved file); `deploy` and `deploy:<s>`,
`remove` and `remove:<s>` (a schedule over several stacks, in STACKS order);
`update:<s>`, `redeploy:<s>`, `rollback:<s>`, `run:<s>:<service>` (a job
run again); `labels` for the nodes.

`deploy` is one task over every stack, not a group of `deploy:<s>` tasks: doit
runs the tasks of a group in whatever order its dispatcher resumes them, and
one at a time; kargo's schedule sends in STACKS order and waits for several
stacks at once. `deploy:<s>` (a task of its own, named like a sub-task) is
the same schedule over `s` and the stacks it depends on. Each task depends
only on the stack files it deploys: an error in a stack's files is that
stack's, and every stack file a task deploys is resolved, so valid, before
it asks the engine anything.
"""
import functools

from doit.tools import result_dep

from kargo_tasks.base.actions import EngineCheck, failing, guarded
from kargo_tasks.base.commandline import named_tasks
from kargo_tasks.deploy.history import platform_of, recorded
from kargo_tasks.deploy.jobs import run
from kargo_tasks.deploy.rollback import rollback
from kargo_tasks.deploy.schedule import deploy
from kargo_tasks.deploy.stacks import (
    hook_files,
    inputs_unchanged,
    remove_stacks,
    stack_file,
    stacks_unchanged,
    update_stack,
    write_stack,
)
from kargo_tasks.engine.labels import applied, apply
from kargo_tasks.engine.swarm import snapshot
from kargo_tasks.operations.project import current, digest_key
from kargo_tasks.workspace.catalog import Stack, images_of

from .common import NEEDS_ENV, each, stacks, stand_ins


def task__stack():
    """Resolve one file per stack from the merged configuration."""
    def make(project, stack):
        key_of = functools.partial(digest_key, project.layout)
        return {
            "name": stack.name,
            "doc": f"resolve .kargo/stacks/{stack.name}.yml",
            "actions": [guarded(write_stack, project, stack, key_of)],
            "file_dep": [str(project.layout.merged / f"deploy/{s}.yml") for s in stack.services],
            "targets": [str(stack_file(project, stack))],
            "task_dep": ["_configure"],
            "uptodate": [inputs_unchanged(project, key_of)],
        }
    yield from each(stacks, make, "resolve stack files", "_stack")


def _in_order(project):
    """Every stack, in STACKS order, each after the stacks it depends on."""
    return [project.catalog.stacks[n] for n in project.catalog.order(list(project.catalog.stacks))]


def _deploy(project, chosen, name, doc):
    """The task deploying the stacks `chosen` (catalog order, dependencies in)."""
    images = sorted({image for stack in chosen
                     for image in images_of(stack, project.catalog, project.env)})
    return {
        "basename": name,
        "doc": doc,
        "actions": [guarded(deploy, project, chosen)],
        "file_dep": [str(path) for stack in chosen
                     for path in [stack_file(project, stack), *hook_files(project, stack)]],
        "task_dep": ["_configure"],
        "uptodate": [stacks_unchanged(project, chosen),
                     EngineCheck(lambda: applied(project.env, project.layout.root),
                                  "node labels differ from <NODE>_LABELS")]
                    # a rebuilt image redeploys the stacks running it (delta.py)
                    + [result_dep(f"build:{image}") for image in images],
        "verbosity": 2,
    }


def task_deploy():
    """Deploy every stack in STACKS order; deploy:<stack> for one (and what it depends on)."""
    project = current()
    if project.error:
        yield from stand_ins(project, "deploy", "deploy stacks")
        return
    every = _in_order(project)
    yield _deploy(project, every, "deploy", "deploy every stack, in STACKS order")
    for stack in every:
        chosen = [project.catalog.stacks[n] for n in project.catalog.order([stack.name])]
        after = [s.name for s in chosen if s is not stack]
        yield _deploy(project, chosen, f"deploy:{stack.name}",
                      f"deploy stack {stack.name}: {' '.join(stack.services)}"
                      + (f" (after {', '.join(after)})" if after else ""))


def _remove(project, chosen, name, doc):
    return {
        "basename": name,
        "doc": doc,
        "actions": [guarded(remove_stacks, project, chosen)],
        "task_dep": ["_configure"],
        "uptodate": [EngineCheck(lambda: not any(snapshot(s.namespace) for s in chosen),
                                  "a stack is deployed")],
        "verbosity": 2,
    }


def task_remove():
    """Remove every stack, last one first; remove:<stack> for one (its dependents first)."""
    project = current()
    if project.error:
        yield from stand_ins(project, "remove", "remove stacks")
        return
    every = _in_order(project)
    yield _remove(project, every[::-1], "remove", "remove every stack, last one first")
    for stack in every:
        dependents = {s.name for s in every if stack.name in project.catalog.order([s.name])}
        chosen = [s for s in every[::-1] if s.name in dependents]
        after = [s.name for s in chosen if s is not stack]
        yield _remove(project, chosen, f"remove:{stack.name}",
                      f"remove stack {stack.name} and wait until its services are gone"
                      + (f" (after {', '.join(after)})" if after else ""))


def task_update():
    """Update the services of every stack (update:<stack> --force restarts them)."""
    def make(project, stack):
        return {
            "name": stack.name,
            "doc": f"update the services of {stack.name} (--force restarts them)",
            "params": [{"name": "force", "long": "force", "type": bool, "default": False,
                        "help": "restart every service even when nothing changed"}],
            "actions": [guarded(update_stack, project, stack)],
            "task_dep": ["_configure"],
            "uptodate": [False],
            "verbosity": 2,
        }
    yield from each(stacks, make, "update stacks", "update")


def task_redeploy():
    """Remove, configure and deploy every stack."""
    def make(project, stack):
        return {
            "name": stack.name,
            "doc": f"remove, configure and deploy stack {stack.name}",
            "actions": [guarded(remove_stacks, project, [stack]),
                        guarded(deploy, project, [stack])],
            # resolved first: a broken configuration must not remove a running stack
            "file_dep": [str(stack_file(project, stack))],
            "task_dep": ["_configure"],
            "uptodate": [False],
            "verbosity": 2,
        }
    yield from each(stacks, make, "redeploy stacks", "redeploy")


def task_rollback():
    """Put a stack back on the version kargo deployed before its last deploy."""
    def make(project, stack):
        return {
            "name": stack.name,
            "doc": f"put {stack.name} back on the version deployed before its last deploy",
            "actions": [guarded(rollback, project, stack)],
            # no _configure: a rollback must work when the workspace is broken
            "uptodate": [False],
            "verbosity": 2,
        }
    project = current()
    if project.error:
        # the workspace cannot be read: the stacks are those kargo keeps
        # versions of, and those the command line names (each says whether
        # it has one); `rollback` alone (every stack) is not offered then
        named = {n.split(":", 1)[1] for n in named_tasks() if n.startswith("rollback:")}
        names = sorted(set(recorded(project.layout)) | {n for n in named if n and "/" not in n})
        if not names or "rollback" in named_tasks():
            yield from each(stacks, make, "roll stacks back", "rollback")
            return
        for name in names:
            yield make(project, Stack(name, (), (), prefix=platform_of(project.layout, name)))
        return
    yield from each(stacks, make, "roll stacks back", "rollback")


def task_rerun():
    """Run the jobs of a stack again (run:<stack>), or one (run:<stack>:<service>)."""
    # doit refuses a task called `run` (its command): one group per stack,
    # as deploy:<stack>, its sub-tasks the services; a service that is not a
    # job is skipped unless named (jobs.run)
    project = current()
    if project.error:
        for name in sorted(n for n in named_tasks() if n.startswith("run:")):
            yield {"basename": name, "actions": [failing(project.error)],
                   "doc": "run a job again", "meta": NEEDS_ENV}
        return
    asked = set(named_tasks())
    for stack in _in_order(project):
        basename = f"run:{stack.name}"
        yield {"basename": basename, "name": None,
               "doc": f"run the jobs of {stack.name} again (run:{stack.name}:<service> for one)"}
        for service in stack.services:
            yield {
                "basename": basename,
                "name": service,
                # the creators read no stack file: which service is a job, the
                # action asks the engine
                "doc": f"run {service} of {stack.name} again when it is a job, and wait for it",
                "actions": [guarded(run, project, stack, service,
                                    f"{basename}:{service}" in asked)],
                "task_dep": ["_configure"],
                "uptodate": [False],
                "verbosity": 2,
            }


def task_labels():
    """Apply <NODE>_LABELS to the Swarm nodes."""
    project = current()
    if project.error:
        return {"actions": [failing(project.error)], "doc": "apply <NODE>_LABELS to Swarm nodes",
                "meta": NEEDS_ENV}
    return {
        "doc": "apply <NODE>_LABELS to the Swarm nodes",
        "actions": [guarded(apply, project.env, project.layout.root)],
        "task_dep": ["_configure"],
        "uptodate": [EngineCheck(lambda: applied(project.env, project.layout.root),
                                  "node labels differ from <NODE>_LABELS")],
    }
