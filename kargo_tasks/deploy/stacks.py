"""Actions of the stack tasks: resolve a stack file; what kargo's last
deploy of a stack left (its record) and why a stack is stale; which services
a deploy sends, and sending them; remove, update.

The stack file records, as doit values, the files and the variables it read
(names and a keyed digest, never values). A deploy records, beside the doit
database, what it left on the cluster: the service versions, the stack file
and hooks it deployed, the node labels its placement constraints read. That
record, compared with the cluster, is how a stack is known to be up to date,
drifted or never deployed (schedule.py deploys the stale ones).
"""
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kargo_tasks.base.actions import Check
from kargo_tasks.base.errors import KargoError
from kargo_tasks.base.files import (
    SECRET_FILE,
    changed_files,
    ensure_dir,
    fingerprints,
    write_atomic,
    write_if_changed,
)
from kargo_tasks.compose import resolve as compose
from kargo_tasks.engine import swarm
from kargo_tasks.workspace import sealed, templates
from kargo_tasks.workspace.catalog import HOOKS, Stack, hook_file
from kargo_tasks.workspace.namespace import DEFAULT as DEFAULT_PREFIX
from kargo_tasks.workspace.namespace import Namespace
from kargo_tasks.workspace.project import Project

from . import delta, history, preview, sealed_objects

NODE_LABEL = re.compile(r"^\s*node\.labels\.([A-Za-z0-9_.-]+)\s*(==|!=)")


def stack_file(project: Project, stack: Stack) -> Path:
    return project.layout.stacks / f"{stack.name}.yml"


def hook_files(project: Project, stack: Stack, times: Iterable[str] = HOOKS) -> list[Path]:
    """The hooks of the stack's services (catalog.hook_file) run at `times`."""
    return [project.layout.merged / rel for s in stack.services
            for rel in (hook_file(s, when) for when in times) if rel in project.overlay]


def write_stack(project: Project, stack: Stack, key_of: Callable[[], bytes]) -> dict:
    try:
        resolved = compose.resolve(stack, project.layout.merged, project.env,
                                   templates.labeler(project.overlay, project.layout.merged,
                                                     project.env))
    except KargoError as err:
        raise KargoError(project.shown(str(err))) from None
    for line in resolved.warnings:
        # stderr: doit keeps an action's stdout to itself (verbosity 1)
        print(f"warning: {project.shown(line)}", file=sys.stderr, flush=True)
    target = stack_file(project, stack)
    data = resolved.text.encode()
    # sealed when a value or a text of a sealed source went into it (sealed.py)
    why = sealed.sealed_for(f"stacks/{stack.name}.yml", project.env, resolved.reads,
                            project.workspace, resolved.sealed)
    if why is not None:
        data = sealed.seal(data, why, project.sealing_folder(), target)
    write_if_changed(target, data, SECRET_FILE)
    return {"inputs": fingerprints(resolved.inputs),
            "env": project.env.digests(resolved.reads, key_of())}


def inputs_unchanged(project: Project, key_of: Callable[[], bytes]) -> Callable[..., Any]:
    """doit `uptodate` callable: the files and variables the stack file was
    resolved from are unchanged."""
    def why(values):
        if "env" not in values:
            return ["never resolved"]
        return ([f"{path} changed" for path in changed_files(values.get("inputs"))]
                + [project.variable_changed(name)
                   for name in project.env.changed(values["env"], key_of())])
    return Check("inputs_unchanged", why)


# --- what the last deploy left ------------------------------------------------------

class Resolved(NamedTuple):
    """A resolved stack file read back."""
    doc: dict
    digest: str
    text: str  # as stored: sealed when the file is (sealed.py), as history keeps it


def read_stack(project: Project, stack: Stack) -> Resolved:
    path = stack_file(project, stack)
    text = path.read_text(encoding="utf-8")
    return Resolved(compose.load_stack(open_text(text), str(path)), text_digest(text), text)


def open_text(text):
    """The plaintext of a stack file's text as stored (decrypted in memory)."""
    return sealed.open_merged(text.encode()).decode("utf-8")


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _cluster_record(project, stack):
    return project.layout.state / "clusters" / f"{stack.name}.json"


def read_record(project: Project, stack: Stack) -> dict | None:
    """What kargo's last deploy of `stack` recorded, or None."""
    try:
        return json.loads(_cluster_record(project, stack).read_text())
    except (OSError, ValueError):
        return None


def write_record(project, stack, doc, digest, services, rolled_back=False):
    """Record what a deploy left, once the stack converged (`services`: what
    runs now, from swarm.deployed). Kept beside the doit database rather than
    in it: `redeploy:<stack>` and `rollback:<stack>` deploy too, and `deploy`
    must then see the cluster as its own. `rolled_back`: what runs is not the
    workspace's stack file but an earlier one."""
    values = {"cluster": swarm.versions(services.values()), "stack": digest,
              "hooks": fingerprints(map(str, hook_files(project, stack))),
              "prefix": stack.prefix}
    if rolled_back:
        values["rolled_back"] = True
    keys = label_keys(doc)
    if keys:
        values.update(label_keys=keys, node_labels=swarm.node_labels(keys))
    _write_record(project, stack, values)


def note_unconverged(project: Project, stack: Stack) -> None:
    """A deploy of `stack` failed (a service did not converge, an after hook
    failed, the engine refused a service): beside the record of the last
    deploy that converged, keep the specs this one left (delta.spec_digest),
    so the next run says they were sent by a deploy that failed rather than
    changed outside kargo. Nothing without a record (the next run compares
    with the stack file then) or an engine."""
    values = read_record(project, stack)
    if values is None:
        return
    try:
        services = swarm.deployed(stack.namespace)
    except KargoError:
        return
    values["unconverged"] = {name: delta.spec_digest(service["Spec"])
                             for name, service in services.items()}
    _write_record(project, stack, values)


def _write_record(project, stack, values):
    path = _cluster_record(project, stack)
    ensure_dir(path.parent)
    write_atomic(path, json.dumps(values).encode(), SECRET_FILE)


def left_behind(project: Project, stack: Stack) -> str | None:
    """The other KARGO_PREFIX under which kargo's last deploy of `stack`
    left it running (the prefix changed since), or None: a deploy under the
    new prefix would leave that one running, orphaned, beside the new one. A
    record from before prefixes ran under the default one."""
    record = read_record(project, stack)
    if record is None:
        return None
    before = record.get("prefix") or DEFAULT_PREFIX
    if before == stack.prefix or not swarm.snapshot(Namespace.of(stack.name, before)):
        return None
    return before


def record_services(project: Project, stack: Stack, before: dict[str, list],
                    services: Iterable[dict]) -> None:
    """After kargo changed services itself (a job run again, `update:<stack>`):
    each one's new version (of engine `services`) in the record, when the
    record held the version it had `before` ({name: [id, version]}); one the
    record did not hold so (changed outside kargo before) leaves the stack
    stale, as it was."""
    values = read_record(project, stack)
    cluster = (values or {}).get("cluster") or {}
    now = {name: version for name, version in swarm.versions(services).items()
           if name in before and cluster.get(name) == before[name]}
    if values is None or not now:
        return
    cluster.update(now)
    values["cluster"] = cluster
    _write_record(project, stack, values)


def label_keys(doc):
    """The node labels the placement constraints of the stack read."""
    keys = set()
    for spec in (doc.get("services") or {}).values():
        placement = ((spec or {}).get("deploy") or {}).get("placement") or {}
        for constraint in placement.get("constraints") or ():
            match = NODE_LABEL.match(str(constraint))
            if match:
                keys.add(match.group(1))
    return sorted(keys)


def stale_reasons(project: Project, stack: Stack, services: list[dict] | None = None
                  ) -> list[str]:
    """Why `stack` must be deployed again ([] when the cluster runs what
    kargo's last deploy of this stack file left): never deployed, a new stack
    file or hook, a service changed or removed outside kargo, tasks missing
    (a node was lost), a node label its constraints read changed. `services`:
    every service of the swarm, when the caller asked once for many stacks."""
    values = read_record(project, stack)
    if values is None:
        try:
            now, _short = swarm.observe(stack.namespace, services)
        except KargoError as err:
            return [f"cannot check the cluster: {err}"]
        # lost (or never written): what runs is compared with the stack file
        return ["no record of kargo's last deploy: the services are compared with the "
                "stack file"] if now else ["never deployed by kargo"]
    reasons = []
    try:
        digest = text_digest(stack_file(project, stack).read_text(encoding="utf-8"))
    except OSError:
        digest = None
    if values.get("rolled_back"):
        reasons.append(f"rolled back: what runs is not stacks/{stack.name}.yml")
    elif values.get("stack") != digest:
        reasons.append(f"stacks/{stack.name}.yml changed")
    reasons += [f"{path} changed" for path in changed_files(values.get("hooks"))]
    saved = values.get("cluster") or {}
    try:
        now, short = swarm.observe(stack.namespace, services)
        if not now:
            return reasons + [f"stack {stack.namespace} is not deployed"]
        reasons += _drift(stack, saved, now, values.get("unconverged") or {})
        # a node was lost or drained: deploy again, so the wait says why
        reasons += [f"service {name} runs {tasks} of its tasks" for name, tasks in short.items()]
        # A node label a constraint reads changed: the specs are the same,
        # but the engine may have stopped tasks no node can take any more, or
        # may place them elsewhere. Deploy again so the wait reports it. Only
        # stacks with such constraints pay for this second question.
        keys = values.get("label_keys")
        if keys and swarm.node_labels(keys) != values.get("node_labels"):
            reasons.append("a node label its constraints read changed")
    except KargoError as err:
        reasons.append(f"cannot check the cluster: {err}")  # the action will report it too
    return reasons


def _drift(stack, saved, now, unconverged):
    """Why the services `now` ({name: [id, version]}) are not those kargo's
    last deploy left (`saved`): removed or changed outside kargo, not kargo's,
    or sent by a later deploy that failed (`unconverged`: their spec
    digests, checked with one more engine call, only then)."""
    differ = [name for name in sorted(saved) if now.get(name) != saved[name]]
    differ += sorted(set(now) - set(saved))
    failed = set()
    if unconverged and set(differ) & set(unconverged):
        failed = {name for name, service in swarm.deployed(stack.namespace).items()
                  if delta.left_by_failed_deploy(service, unconverged)}
    return [f"service {name} was {delta.SENT_BY_FAILED_DEPLOY}" if name in failed
            else f"service {name} was removed outside kargo" if name not in now
            else f"service {name} was changed outside kargo" if name in saved
            else f"service {name} is not kargo's" for name in differ]


def stacks_unchanged(project: Project, stacks: Sequence[Stack]) -> Callable[..., Any]:
    """doit `uptodate` callable over several stacks; `doit plan` says which
    stack is stale and why, and what a deploy would change in each service
    (preview.py: only plan pays for those questions)."""
    def why(_values=None):
        services = None
        if len(stacks) > 1:
            try:
                services = swarm.all_services()
            except KargoError:
                pass  # each stack says it cannot check the cluster
        return [f"{stack.name}: {reason}" for stack in stacks
                for reason in stale_reasons(project, stack, services)]

    def detail():
        return [f"  {line}" if line.startswith(" ") else f"{stack.name}: {line}"
                for stack in stacks for line in _preview(project, stack)]
    return Check("stacks_unchanged", why, detail)


def _preview(project, stack):
    """What a deploy of `stack` would send now, service by service."""
    try:
        doc = preview.resolve_now(project, stack)
        # `deploy` and `deploy:<stack>` are two doit tasks with two records:
        # after the other one ran, this one is stale yet sends nothing
        return preview.describe(stack, doc, *engine_delta(project, stack, doc)) or [
            "no service would be sent or removed"]
    except KargoError as err:
        return [f"cannot show what would change: {err}"]


def engine_delta(project, stack, doc):
    """What a deploy of `doc` sends: ({service: why} to send, [full names of
    services to remove], {full name: engine service} deployed now)."""
    deployed = swarm.deployed(stack.namespace)
    record = read_record(project, stack)
    cluster = None if record is None else record.get("cluster") or {}
    refs = {spec.get("image") for spec in doc["services"].values()} - {None}
    send_, remove = delta.to_send(doc, stack.namespace, deployed, cluster,
                                  swarm.image_digests(sorted(refs)) if deployed else {},
                                  (record or {}).get("unconverged"))
    return send_, remove, deployed


def send(project, stack, doc, names):
    """Send the engine the services `names` of `doc` (those that differ from
    what runs)."""
    existing = swarm.existing_configs(stack.namespace)
    # configs and secrets of encrypted files: made from memory, then external
    existing |= sealed_objects.create(doc, names, existing, stack.namespace)
    sent = delta.subset(doc, list(names), existing)
    # through the CLI's standard input: the values it holds (a `.env.age`
    # one among them) never land in a file
    swarm.deploy(stack.namespace, compose.dump(sent, escape=False))


# --- remove, update -----------------------------------------------------------------

def remove_stacks(project: Project, stacks: Sequence[Stack]) -> None:
    """Remove `stacks`, in the order given, each gone before the next."""
    timeout = swarm.deploy_timeout(project.env)
    for stack in stacks:
        if swarm.snapshot(stack.namespace):
            print(f"remove {stack.name}", flush=True)
            swarm.remove(stack.namespace, timeout)
        history.forget(project.layout, stack)


def update_stack(project: Project, stack: Stack, force: bool = False) -> None:
    # before any service is updated
    timeout, stable = swarm.deploy_timeout(project.env), swarm.stable_seconds(project.env)
    print(f"update {stack.name}{' --force' if force else ''}", flush=True)
    before = swarm.versions(swarm.deployed(stack.namespace).values())
    swarm.update(stack.namespace, force)
    swarm.wait(stack.namespace, timeout, stable)
    # kargo's own change: the next deploy does not take it for one made outside kargo
    record_services(project, stack, before, swarm.deployed(stack.namespace).values())
