"""Stack tasks: `_stack:<s>` (resolved file), `deploy`, `remove`, `update`,
`redeploy` per stack, and `labels` for the nodes."""
import functools

from doit.tools import result_dep

from ..actions import engine_check, failing, guarded
from ..catalog import images_of
from ..labels import applied, apply
from ..project import current, digest_key
from ..stacks import (cluster_unchanged, deploy_stack, inputs_unchanged, remove_stack,
                      stack_file, update_stack, write_stack)
from ..swarm import snapshot
from .common import each, stacks


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
    yield from each(stacks, make, "resolve stack files")


def _hook_files(project, stack):
    return [str(project.layout.merged / rel) for s in stack.services
            for rel in (f"deploy/{s}_before.sh", f"deploy/{s}_after.sh") if rel in project.plan]


def task_deploy():
    """Deploy every stack in STACKS order (deploy:<stack> for one)."""
    def make(project, stack):
        return {
            "name": stack.name,
            "doc": f"deploy stack {stack.name}: {' '.join(stack.services)}",
            "actions": [guarded(deploy_stack, project, stack)],
            "file_dep": [str(stack_file(project, stack))] + _hook_files(project, stack),
            "task_dep": ["_configure", "labels"] + [f"deploy:{dep}" for dep in stack.depends],
            # a rebuilt image redeploys the stacks running it, and only those
            "uptodate": [cluster_unchanged(project, stack)] + [
                result_dep(f"build:{name}") for name in images_of(stack, project.catalog,
                                                                  project.env)],
            "verbosity": 2,
        }
    yield from each(stacks, make, "deploy stacks")


def task_remove():
    """Remove every stack, last one first (remove:<stack> for one)."""
    def make(project, stack):
        dependents = [s.name for s in stacks(project) if stack.name in s.depends]
        return {
            "name": stack.name,
            "doc": f"remove stack {stack.name} and wait until its services are gone",
            "actions": [guarded(remove_stack, project, stack)],
            # the stacks that depend on this one go first
            "task_dep": ["_configure"] + [f"remove:{name}" for name in dependents],
            "uptodate": [engine_check(lambda: not snapshot(stack.project),
                                      f"stack {stack.project} is deployed")],
            "verbosity": 2,
        }
    yield from each(lambda project: stacks(project)[::-1], make, "remove stacks")


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
    yield from each(stacks, make, "update stacks")


def task_redeploy():
    """Remove, configure and deploy every stack."""
    def make(project, stack):
        return {
            "name": stack.name,
            "doc": f"remove, configure and deploy stack {stack.name}",
            "actions": [guarded(remove_stack, project, stack),
                        guarded(deploy_stack, project, stack)],
            # resolved first: a broken configuration must not remove a running stack
            "task_dep": [f"_stack:{stack.name}", "labels"],
            "uptodate": [False],
            "verbosity": 2,
        }
    yield from each(stacks, make, "redeploy stacks")


def task_labels():
    """Apply <NODE>_LABELS to the Swarm nodes."""
    project = current()
    if project.error:
        return {"actions": [failing(project.error)], "doc": "apply <NODE>_LABELS to Swarm nodes"}
    return {
        "doc": "apply <NODE>_LABELS to the Swarm nodes",
        "actions": [guarded(apply, project.env, project.layout.root)],
        # the first engine call of a deploy: the whole merged configuration,
        # every stack file included, is valid before it
        "task_dep": ["_configure"] + [f"_stack:{name}" for name in project.catalog.stacks],
        "uptodate": [engine_check(lambda: applied(project.env, project.layout.root),
                                  "node labels differ from <NODE>_LABELS")],
    }
