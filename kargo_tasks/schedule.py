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
then once it converged: after-hooks, unused config versions pruned, record.
"""
import sys

from . import compose, delta, labels, swarm
from .errors import KargoError
from .files import SECRET_FILE, write_atomic
from .stacks import hook_files, read_record, read_stack, stale_reasons, write_record


def deploy(project, stacks):
    """Deploy the stale ones of `stacks` (in STACKS order, dependencies first)."""
    env = project.env
    timeout = swarm.deploy_timeout(env)  # before the engine is asked anything
    docs = {stack.name: read_stack(project, stack) for stack in stacks}
    # first: a label a placement constraint reads makes its stack stale
    labels.apply(env, project.layout.root)
    services = swarm.all_services()
    stale = {stack.name: stale_reasons(project, stack, services) for stack in stacks}
    swarm.ensure_networks(sorted({name for doc, _ in docs.values()
                                  for name in _external_networks(doc)}))
    waits = swarm.Convergence(timeout)
    by_project = {stack.project: stack for stack in stacks}
    failures = {}

    def settle(names):
        for project_name, lines in waits.settle([by_project_of[n] for n in names]):
            stack = by_project[project_name]
            if not lines:
                lines = _converged(project, stack, *docs[stack.name])
            if lines:
                failures[stack.name] = lines

    by_project_of = {stack.name: stack.project for stack in stacks}
    for stack in stacks:
        in_flight = [d for d in stack.depends if by_project_of.get(d) in waits.stacks]
        if in_flight:
            settle(in_flight)
        failed = [d for d in stack.depends if d in failures]
        if failed:
            failures[stack.name] = [f"stack {stack.name} was not deployed: it depends on "
                                    f"{', '.join(failed)}, which did not converge"]
            continue
        doc, digest = docs[stack.name]
        try:
            send, remove = _changes(project, stack, doc)
            if not send and not remove and not stale[stack.name]:
                continue
            print(f"deploy {stack.name}: {delta.summary(send, remove, stack.project)}", flush=True)
            _hooks(project, stack, "before")
            if send:
                _send(project, stack, doc, send)
            swarm.remove_services(remove)
        except KargoError as err:
            failures[stack.name] = [str(err)]
            continue
        waits.add(stack.project, doc["services"])
    settle([stack.name for stack in stacks if stack.project in waits.stacks])
    if failures:
        raise KargoError("\n".join(line for stack in stacks for line in failures.get(stack.name, ())))


def _changes(project, stack, doc):
    """Delta of `stack`: ({service: why} to send, [services to remove])."""
    deployed = swarm.deployed(stack.project)
    record = (read_record(project, stack) or {}).get("cluster") or {}
    refs = {spec.get("image") for spec in doc["services"].values()} - {None}
    return delta.changes(doc, stack.project, deployed, record,
                         swarm.image_digests(sorted(refs)) if deployed else {})


def _send(project, stack, doc, send):
    """Send the engine the services that differ from what runs."""
    sent = delta.subset(doc, list(send), swarm.existing_configs(stack.project))
    # removed once sent: the resolved file stays the one copy of the values
    # it holds (secrets among them)
    path = project.layout.state / f"sent-{stack.name}.yml"
    write_atomic(path, compose.dump(sent, escape=False).encode(), SECRET_FILE)
    try:
        swarm.deploy(stack.project, path)
    finally:
        path.unlink(missing_ok=True)


def _converged(project, stack, doc, digest):
    """What follows a stack's convergence; failure lines, or []."""
    try:
        _hooks(project, stack, "after")
        keep = {item.get("name") for kind in ("configs", "secrets")
                for item in (doc.get(kind) or {}).values()}
        swarm.prune_configs(stack.project, keep)
        write_record(project, stack, doc, digest)
    except KargoError as err:
        return [str(err)]
    return []


def _hooks(project, stack, when):
    for path in hook_files(project, stack):
        if path.name.endswith(f"_{when}.sh"):
            print(f"hook {path.relative_to(project.layout.merged)}", flush=True)
            swarm.run_hook(path, project.env)
            sys.stdout.flush()


def _external_networks(doc):
    return {net.get("name") for net in (doc.get("networks") or {}).values()
            if isinstance(net, dict) and net.get("external")}
