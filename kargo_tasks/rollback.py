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
"""
from . import compose, delta, history, preview, swarm
from .environment import prefix
from .errors import KargoError
from .stacks import read_record, send, text_digest, write_record


def rollback(project, stack):
    """`rollback:<stack>`: back to the version before the last deploy."""
    timeout = swarm.deploy_timeout(project.env)  # before the engine is asked anything
    previous = history.read(project.layout, stack).get("previous")
    if not previous:
        raise KargoError(f"stack {stack.name} has no earlier version to roll back to: kargo "
                         "keeps one once a second, different deploy of it converged")
    print(f"rollback {stack.name}: back to the version deployed before the last one",
          flush=True)
    failures = restore(project, stack, previous, timeout)
    if failures:
        raise KargoError("\n".join(failures))
    history.rolled_back(project.layout, stack)
    print(f"rollback {stack.name}: done (`doit deploy` applies the workspace again)", flush=True)


def undo(project, stack, resolved, timeout):
    """After a failed deploy of an atomic stack: lines saying how it was put
    back on the version that ran before."""
    before = history.read(project.layout, stack).get("current")
    if not before or before["stack"] == resolved.text:
        return [f"stack {stack.name} was not rolled back: kargo has no earlier version of it"]
    print(f"rollback {stack.name}: the deploy did not converge ({prefix(stack.name)}_ATOMIC)",
          flush=True)
    failures = restore(project, stack, before, timeout)
    if failures:
        return [f"stack {stack.name} could not be rolled back:"] + failures
    return [f"stack {stack.name} was rolled back to the version that ran before"]


def restore(project, stack, version, timeout):
    """Put `stack` on `version` and wait; failure lines, or []."""
    try:
        doc = compose.load_stack(version["stack"], f"the recorded version of stack {stack.name}")
        digests = pin(doc, version.get("images") or {},
                      swarm.image_digests(sorted({s.get("image") for s in doc["services"].values()}
                                                 - {None})))
        deployed = swarm.deployed(stack.project)
        record = (read_record(project, stack) or {}).get("cluster") or {}
        to_send, remove = delta.changes(doc, stack.project, deployed, record, digests)
        gone = missing(doc, to_send, swarm.existing_configs(stack.project))
        if gone:
            raise KargoError(f"stack {stack.name} cannot be rolled back: the engine no longer "
                             f"has {', '.join(gone)} of that version")
        for line in preview.describe(stack, doc, to_send, remove, deployed):
            print(f"  {line}", flush=True)
        if to_send:
            send(project, stack, doc, to_send)
        swarm.remove_services(remove)
        swarm.wait(stack.project, timeout, doc["services"])
        services = swarm.deployed(stack.project)
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
                source = ref["source"] if isinstance(ref, dict) else ref
                item = (doc.get(kind) or {}).get(source) or {}
                if not item.get("external") and item.get("name") not in existing:
                    gone.append(f"{kind[:-1]} {item.get('name') or source}")
    return sorted(set(gone))
