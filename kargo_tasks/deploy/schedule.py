"""Deploying several stacks: a schedule, as the bash Kargo followed STACKS.

Stacks are sent in STACKS order. A stack waits, before it is sent, only for
the stacks it `<STACK>_DEPENDS` on to converge; every other wait runs at the
same time as the rest (one loop polls all the stacks being waited on), so a
platform pays the longest convergence, not their sum, and the stability
window once. A stack that converges is recorded at once (stacks.py), so a
run that fails or is interrupted leaves the converged stacks up to date and
the next run deploys only the others. A failure names every failing service
of every stack; a stack whose dependency failed is not sent.

Per stack: before-hooks, send (delta.py: only the services that differ),
then once it converged: after-hooks, the version kept (history.py), the
config versions neither it nor the one before uses pruned, record. A stack
with `<STACK>_ATOMIC` that does not converge is put back on the version that
ran before (rollback.py), and still fails the deploy.
"""
import sys
from collections.abc import Callable, Sequence

from kargo_tasks.base.errors import KargoError
from kargo_tasks.engine import labels, swarm
from kargo_tasks.workspace.catalog import Stack
from kargo_tasks.workspace.namespace import VARIABLE as PREFIX_VARIABLE
from kargo_tasks.workspace.namespace import Namespace
from kargo_tasks.workspace.project import Project

from . import delta, history, outcome, rollback
from .stacks import (
    engine_delta,
    hook_files,
    left_behind,
    note_unconverged,
    read_stack,
    send,
    stale_reasons,
    write_record,
)


def deploy(project: Project, stacks: Sequence[Stack],
           transient: Callable[[str], bool] | None = None) -> None:
    """Deploy the stale ones of `stacks` (in STACKS order, dependencies first).
    `transient`: the task errors an update the engine stopped is taken up
    again on (swarm.Convergence; None: the engine's own race)."""
    env = project.env
    # before the engine is asked anything
    timeout, stable = swarm.deploy_timeout(env), swarm.stable_seconds(env)
    docs = {stack.name: read_stack(project, stack) for stack in stacks}
    _refuse_left_behind(project, stacks)
    # first: a label a placement constraint reads makes its stack stale
    labels.apply(env, project.layout.root)
    services = swarm.all_services()
    stale = {stack.name: stale_reasons(project, stack, services) for stack in stacks}
    swarm.ensure_networks(sorted({name for resolved in docs.values()
                                  for name in _external_networks(resolved.doc)}))
    by_namespace = {stack.namespace: stack for stack in stacks}

    def send_again(namespace, names):
        stack = by_namespace[namespace]
        send(project, stack, docs[stack.name].doc, [stack.namespace.descope(n) for n in names])

    waits = swarm.Convergence(timeout, stable, transient=transient, resend=send_again)
    failures = {}

    def settle(names):
        for namespace, lines in waits.settle([namespace_of[n] for n in names]):
            stack = by_namespace[namespace]
            converged = not lines
            if converged:
                lines = _converged(project, stack, docs[stack.name], timeout)
            if lines:
                # before a rollback, which records what it put back
                note_unconverged(project, stack)
            if lines and not converged and stack.atomic:
                lines += rollback.undo(project, stack, docs[stack.name], timeout, stable)
            if lines:
                failures[stack.name] = lines

    namespace_of = {stack.name: stack.namespace for stack in stacks}
    sent = {}  # stack name -> ({service: why}, [services removed])
    try:
        for stack in stacks:
            in_flight = [d for d in stack.depends if namespace_of.get(d) in waits.stacks]
            if in_flight:
                settle(in_flight)
            failed = [d for d in stack.depends if d in failures]
            if failed:
                failures[stack.name] = [f"stack {stack.name} was not deployed: it depends on "
                                        f"{', '.join(failed)}, which did not converge"]
                continue
            doc = docs[stack.name].doc
            try:
                to_send, remove, _deployed = engine_delta(project, stack, doc)
                if not to_send and not remove and not stale[stack.name]:
                    continue
                print(f"deploy {stack.name}: {delta.summary(to_send, remove, stack.namespace)}",
                      flush=True)
                sent[stack.name] = (to_send, [stack.namespace.descope(n) for n in remove])
                _hooks(project, stack, "before")
                if to_send:
                    send(project, stack, doc, to_send)
                swarm.remove_services(remove)
            except KargoError as err:
                failures[stack.name] = [str(err)]
                note_unconverged(project, stack)
                if stack.atomic:  # the engine may have taken some services already
                    failures[stack.name] += rollback.undo(project, stack, docs[stack.name],
                                                          timeout, stable)
                continue
            waits.add(stack.namespace, doc["services"])
        settle([stack.name for stack in stacks if stack.namespace in waits.stacks])
    finally:
        for stack in stacks:
            if stack.namespace in waits.stacks:  # sent, and the wait was cut short
                note_unconverged(project, stack)
        # for the run's notification, whatever ended the deploy
        for stack in stacks:
            if stack.name in sent or stack.name in failures:
                to_send, removed = sent.get(stack.name, ({}, []))
                outcome.keep("deploy", stack.name, to_send, removed, failures.get(stack.name))
    if failures:
        raise KargoError("\n".join(line for stack in stacks for line in failures.get(stack.name, ())))


def _refuse_left_behind(project, stacks):
    """KARGO_PREFIX changed since a stack was deployed, and the old stack
    still runs: nothing is deployed, so it is not silently orphaned."""
    for stack in stacks:
        before = left_behind(project, stack)
        if before is not None:
            old = Namespace.of(stack.name, before)
            raise KargoError(
                f"stack {stack.name} still runs as {old}, deployed with {PREFIX_VARIABLE}="
                f"{before}: nothing was deployed; remove it first (`{PREFIX_VARIABLE}={before} "
                f"doit remove:{stack.name}`) or set {PREFIX_VARIABLE} back to {before}",
                where=project.env.origins.get(PREFIX_VARIABLE))


def _converged(project, stack, resolved, timeout):
    """What follows a stack's convergence; failure lines, or []."""
    try:
        _hooks(project, stack, "after")
        services = swarm.deployed(stack.namespace)
        history.converged(project.layout, stack, history.version(resolved, stack.namespace, services),
                          timeout)
        swarm.prune_configs(stack.namespace, history.kept_names(project.layout, stack))
        write_record(project, stack, resolved.doc, resolved.digest, services)
    except KargoError as err:
        return [str(err)]
    return []


def _hooks(project, stack, when):
    for path in hook_files(project, stack, [when]):
        print(f"hook {path.relative_to(project.layout.merged)}", flush=True)
        swarm.run_hook(path, project.env)
        sys.stdout.flush()


def _external_networks(doc):
    return {net.get("name") for net in (doc.get("networks") or {}).values()
            if isinstance(net, dict) and net.get("external")}
