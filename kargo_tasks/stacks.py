"""Actions of the stack tasks: resolve a stack file, deploy it, remove it.

The stack file records, as doit values, the files and the variables it read
(names and a keyed digest, never values); a deploy records the cluster's
service versions it left (and the node labels its placement constraints
read), which is how drift is seen without reading specs.
"""
import json
import re

from . import compose, delta, swarm
from .actions import checker
from .errors import KargoError
from .files import (SECRET_FILE, ensure_dir, fingerprints, changed_files, write_atomic,
                    write_if_changed)


def stack_file(project, stack):
    return project.layout.stacks / f"{stack.name}.yml"


def write_stack(project, stack, key_of):
    resolved = compose.resolve(stack, project.layout.merged, project.env)
    target = stack_file(project, stack)
    write_if_changed(target, resolved.text.encode(), SECRET_FILE)
    return {"inputs": fingerprints(resolved.inputs),
            "env": project.env.digests(resolved.reads, key_of())}


def inputs_unchanged(project, key_of):
    """doit `uptodate` callable: the files and variables the stack file was
    resolved from are unchanged."""
    def why(values):
        if "env" not in values:
            return ["never resolved"]
        return ([f"{path} changed" for path in changed_files(values.get("inputs"))]
                + [f"variable {name} changed"
                   for name in project.env.changed(values["env"], key_of())])
    return checker("inputs_unchanged", why)


def _hooks(project, stack, when):
    for service in stack.services:
        rel = f"deploy/{service}_{when}.sh"
        if rel in project.plan:
            print(f"hook {rel}", flush=True)
            swarm.run_hook(project.layout.merged / rel, project.env)


def deploy_stack(project, stack):
    import yaml
    path = stack_file(project, stack)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    # before the engine is asked anything: a bad value must not leave a
    # stack deployed and never waited for
    timeout = swarm.deploy_timeout(project.env)
    print(f"deploy {stack.name} ({len(stack.services)} services)", flush=True)
    swarm.ensure_networks(sorted(_external_networks(doc)))
    _hooks(project, stack, "before")
    _send(project, stack, doc)
    swarm.wait(stack.project, timeout, expected=doc["services"])
    _hooks(project, stack, "after")
    keep = {item.get("name") for kind in ("configs", "secrets")
            for item in (doc.get(kind) or {}).values()}
    swarm.prune_configs(stack.project, keep)
    values = {"cluster": swarm.snapshot(stack.project)}
    keys = _label_keys(doc)
    if keys:
        values.update(label_keys=keys, node_labels=swarm.node_labels(keys))
    # Kept beside the doit database rather than in it: `redeploy:<stack>`
    # deploys too, and `deploy:<stack>` must then see the cluster as its own.
    path = _cluster_record(project, stack)
    ensure_dir(path.parent)
    write_atomic(path, json.dumps(values).encode(), SECRET_FILE)


def _send(project, stack, doc):
    """Send the engine the services that differ from what runs (delta.py)."""
    deployed = swarm.deployed(stack.project)
    record = (_read_record(project, stack) or {}).get("cluster") or {}
    refs = {spec.get("image") for spec in doc["services"].values()} - {None}
    send, remove = delta.changes(doc, stack.project, deployed, record,
                                 swarm.image_digests(sorted(refs)) if deployed else {})
    print(f"deploy {stack.name}: {delta.summary(send, remove, stack.project)}", flush=True)
    if send:
        sent = delta.subset(doc, list(send), swarm.existing_configs(stack.project))
        # removed once sent: the resolved file stays the one copy of the
        # values it holds (secrets among them)
        path = project.layout.state / f"sent-{stack.name}.yml"
        write_atomic(path, compose.dump(sent, escape=False).encode(), SECRET_FILE)
        try:
            swarm.deploy(stack.project, path)
        finally:
            path.unlink(missing_ok=True)
    swarm.remove_services(remove)


def _cluster_record(project, stack):
    return project.layout.state / "clusters" / f"{stack.name}.json"


def _read_record(project, stack):
    """What kargo's last deploy of `stack` recorded, or None."""
    try:
        return json.loads(_cluster_record(project, stack).read_text())
    except (OSError, ValueError):
        return None


NODE_LABEL = re.compile(r"^\s*node\.labels\.([A-Za-z0-9_.-]+)\s*(==|!=)")


def _label_keys(doc):
    """The node labels the placement constraints of the stack read."""
    keys = set()
    for spec in (doc.get("services") or {}).values():
        placement = ((spec or {}).get("deploy") or {}).get("placement") or {}
        for constraint in placement.get("constraints") or ():
            match = NODE_LABEL.match(str(constraint))
            if match:
                keys.add(match.group(1))
    return sorted(keys)


def _external_networks(doc):
    return {net.get("name") for net in (doc.get("networks") or {}).values()
            if isinstance(net, dict) and net.get("external")}


def cluster_unchanged(project, stack):
    """doit `uptodate` callable: the stack still runs what kargo deployed."""
    def why(_values=None):
        values = _read_record(project, stack)
        if values is None:
            return ["never deployed by kargo"]
        saved = values.get("cluster") or {}
        try:
            now, short = swarm.observe(stack.project)
            if not now:
                return [f"stack {stack.project} is not deployed"]
            reasons = [f"service {name} was {'removed' if name not in now else 'changed'} "
                       "outside kargo" for name in sorted(saved) if now.get(name) != saved[name]]
            reasons += [f"service {name} is not kargo's" for name in sorted(set(now) - set(saved))]
            # a node was lost or drained: deploy again, so the wait says why
            reasons += [f"service {name} runs {tasks} of its tasks" for name, tasks in short.items()]
            # A node label a constraint reads changed (the `labels` task ran
            # first): the specs are the same, but the engine may have stopped
            # tasks that no node can take any more, or may place them
            # elsewhere. Deploy again so the wait reports it. Only stacks
            # with such constraints pay for this second question.
            keys = values.get("label_keys")
            if keys and swarm.node_labels(keys) != values.get("node_labels"):
                reasons.append("a node label its constraints read changed")
            return reasons
        except KargoError as err:
            return [f"cannot check the cluster: {err}"]  # the action will report it too
    return checker("cluster_unchanged", why)


def remove_stack(project, stack):
    print(f"remove {stack.name}", flush=True)
    swarm.remove(stack.project, swarm.deploy_timeout(project.env))


def update_stack(project, stack, force=False):
    timeout = swarm.deploy_timeout(project.env)  # before any service is updated
    print(f"update {stack.name}{' --force' if force else ''}", flush=True)
    swarm.update(stack.project, force)
    swarm.wait(stack.project, timeout)
