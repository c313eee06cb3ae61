"""Putting a stack back on a version kargo deployed before (history.py):
`rollback:<stack>`, and the safety net `<STACK>_ATOMIC` that does it when a
deploy of the stack does not converge.

A version is the resolved stack file as it was sent and the image each of
its services ran. Restoring one is a deploy of that file: only the services
that differ from it are sent (delta.py), the services it did not have are
removed, and the wait is a deploy's. Its configs and secrets are the
versions the engine still holds (the deploys' pruning keeps them), never
what the workspace's files say now: a version whose config is gone from the
engine is refused before anything is sent. An image is pinned to the digest
the version ran only when its tag now names another digest, so in the usual
case the engine gets the very file it got then, and its specs are the ones
that version had. Hooks do not run: they belong to the workspace's deploy.
A job is neither sent nor removed: it stays as the last deploy left it
(jobs.py: running its earlier version would be no undo).

`rollback:<stack>` needs nothing of the workspace: when its `.env` cannot be
read, the stack is the one kargo recorded versions of (its Swarm name is
`<prefix>-<stack>`, the prefix it last converged under), the timeout the shell's KARGO_DEPLOY_TIMEOUT or the one of
the last deploy, the window of stable tasks the shell's KARGO_STABLE_SECONDS
or kargo's, and the engine the one the workspace's engine variables
name (read alone), or the shell's when even they cannot be read, which must hold
the services kargo's last deploy of the stack left (their ids), or nothing
is sent: the workspace may name another engine.
"""
import os

from kargo_tasks.base.errors import EngineError, KargoError
from kargo_tasks.compose import resolve as compose
from kargo_tasks.compose.schema import is_job
from kargo_tasks.compose.shortsyntax import reference
from kargo_tasks.engine import client as engine
from kargo_tasks.engine import swarm
from kargo_tasks.engine.endpoint import VARIABLES
from kargo_tasks.workspace.catalog import Stack
from kargo_tasks.workspace.environment import Environment, prefix
from kargo_tasks.workspace.project import Project

from . import delta, history, jobs, outcome, preview
from .stacks import open_text, read_record, send, text_digest, write_record

TIMEOUT = "KARGO_DEPLOY_TIMEOUT"


def rollback(project: Project, stack: Stack) -> None:
    """`rollback:<stack>`: back to the version before the last deploy."""
    record = history.read(project.layout, stack)
    # before the engine is asked anything
    timeout, stable = _timeout(project, stack, record), _stable(project)
    previous = record.get("previous")
    if not previous:
        raise KargoError(f"stack {stack.name} has no earlier version to roll back to: kargo "
                         "keeps one once a second, different deploy of it converged")
    if project.error:
        _same_engine(project, stack)
    print(f"rollback {stack.name}: back to the version deployed before the last one",
          flush=True)
    done: dict = {}
    failures = restore(project, stack, previous, timeout, stable, done)
    # for the run's notification (outcome.py)
    outcome.keep("rollback", stack.name, done.get("sent"), done.get("removed"), failures)
    if failures:
        raise KargoError("\n".join(failures))
    history.rolled_back(project.layout, stack)
    print(f"rollback {stack.name}: done (`doit deploy` applies the workspace again)", flush=True)


def undo(project, stack, resolved, timeout, stable):
    """After a failed deploy of an atomic stack: lines saying how it was put
    back on the version that ran before."""
    before = history.read(project.layout, stack).get("current")
    if not before:
        return [f"stack {stack.name} was not rolled back: kargo has no earlier version of it"]
    try:
        # what the failed deploy left: its stack file, the images the engine was given
        now = history.version(resolved, stack.namespace, swarm.deployed(stack.namespace))
    except KargoError as err:
        return [f"stack {stack.name} could not be rolled back: {err}"]
    if history.same(before, now):
        return [f"stack {stack.name} was not rolled back: the deploy left it on the version "
                "that ran before (same stack file, same images)"]
    print(f"rollback {stack.name}: the deploy did not converge ({prefix(stack.name)}_ATOMIC)",
          flush=True)
    failures = restore(project, stack, before, timeout, stable)
    if failures:
        return [f"stack {stack.name} could not be rolled back:"] + failures
    return [f"stack {stack.name} was rolled back to the version that ran before"]


def _timeout(project, stack, record):
    """The workspace's deploy timeout; when the workspace cannot be read, the
    shell's, else the last deploy's (else the default)."""
    if project.env is not None:
        return swarm.deploy_timeout(project.env)
    if os.environ.get(TIMEOUT):
        return swarm.deploy_timeout(Environment({TIMEOUT: os.environ[TIMEOUT]}, {TIMEOUT: "shell"}))
    if "timeout" not in record:
        return swarm.deploy_timeout(Environment({}, {}))
    where = f"the last deploy of {stack.name} ({history.history_file(project.layout, stack)})"
    return swarm.deploy_timeout(Environment({TIMEOUT: str(record["timeout"])}, {TIMEOUT: where}))


def _stable(project):
    """The workspace's window of stable tasks; when the workspace cannot be
    read, the shell's (else kargo's)."""
    if project.env is not None:
        return swarm.stable_seconds(project.env)
    name = swarm.STABLE_VARIABLE
    shell = {name: os.environ[name]} if name in os.environ else {}
    return swarm.stable_seconds(Environment(shell, {name: "shell"}))


def _same_engine(project, stack):
    """The workspace cannot be read: the engine is the one its engine
    variables name when they can be read, else the shell's choice (a line
    that does not parse hides them); either must run what kargo's last
    deploy of `stack` left (a service id is unique to its swarm)."""
    try:
        engine.current()
    except EngineError:
        shell = {name: project.shell[name] for name in VARIABLES if name in project.shell}
        engine.choose(lambda: (shell, {}))
    recorded = (read_record(project, stack) or {}).get("cluster") or {}
    ids = {entry[0] for entry in recorded.values()}
    if ids and not ids & {s["ID"] for s in swarm.deployed(stack.namespace).values()}:
        raise KargoError(f"stack {stack.name} cannot be rolled back: {engine.describe()} does not "
                         "run the services kargo deployed (the workspace cannot be read, so the "
                         "engine is the shell's choice: choose the stack's engine with "
                         "DOCKER_HOST or DOCKER_CONTEXT)")


def restore(project, stack, version, timeout, stable, done=None):
    """Put `stack` on `version` and wait; failure lines, or []. `done`, when
    given, gets what was sent ({"sent": {service: why}, "removed": [service]})."""
    try:
        # a sealed one decrypted in memory: the identity is needed (sealed.py)
        doc = compose.load_stack(open_text(version["stack"]),
                                 f"the recorded version of stack {stack.name}")
        digests = pin(doc, version.get("images") or {},
                      swarm.image_digests(sorted({s.get("image") for s in doc["services"].values()}
                                                 - {None})))
        deployed = swarm.deployed(stack.namespace)
        record = read_record(project, stack) or {}
        to_send, remove = delta.to_send(doc, stack.namespace, deployed, record.get("cluster") or {},
                                        digests, record.get("unconverged"))
        # a job that ran is never run again nor removed by a rollback (jobs.py)
        to_send, remove, kept = jobs.kept(doc, to_send, remove, stack.namespace, deployed)
        gone = missing(doc, to_send, swarm.existing_configs(stack.namespace))
        if gone:
            raise KargoError(f"stack {stack.name} cannot be rolled back: the engine no longer "
                             f"has {', '.join(gone)} of that version")
        for line in preview.describe(stack, doc, to_send, remove, deployed) + kept:
            print(f"  {line}", flush=True)
        if done is not None:
            done.update(sent=to_send, removed=[stack.namespace.descope(n) for n in remove])
        if to_send:
            send(project, stack, doc, to_send)
        swarm.remove_services(remove)
        swarm.wait(stack.namespace, timeout, stable,
                   [n for n, spec in doc["services"].items() if not is_job(spec)])
        services = swarm.deployed(stack.namespace)
        write_record(project, stack, doc, text_digest(version["stack"]), services,
                     rolled_back=True)
    except KargoError as err:
        return [str(err)]
    return []


def pin(doc, images, now):
    """Pin each service of `doc` to the image digest it ran (`images`:
    {service: "ref@sha256:..."}) when its reference now resolves to another
    (`now`: {reference: digest or None}). {image as sent: digest it must run}."""
    digests = {}
    for name, spec in (doc.get("services") or {}).items():
        recorded = images.get(name) or ""
        digest = recorded.partition("@")[2]
        if not digest:
            continue  # the engine ran it without a digest: nothing to pin
        if now.get(spec.get("image")) != digest:
            spec["image"] = recorded
        digests[spec["image"]] = digest
    return digests


def missing(doc, names, existing):
    """The configs and secrets (`kind name`) the services `names` use that
    are not among the engine's `existing` ones (nor external)."""
    gone = []
    for kind in ("configs", "secrets"):
        for name in names:
            for ref in doc["services"][name].get(kind) or ():
                source = reference(ref)["source"]
                item = (doc.get(kind) or {}).get(source) or {}
                if not item.get("external") and item.get("name") not in existing:
                    gone.append(f"{kind[:-1]} {item.get('name') or source}")
    return sorted(set(gone))
