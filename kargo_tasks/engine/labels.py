"""Node labels from `<NODE>_LABELS="k=v k2=v2"` (node hostname upper-cased,
`-` -> `_`). kargo records the keys it set in one label of the node, so a key
the operator removes from the environment is removed from the node, and
labels set by anyone else are left alone. The record is one per kargo root
and platform (`org.kargo.managed.<id of the root's path and KARGO_PREFIX>`):
node labels are cluster-wide, and two roots, or two platforms of one root,
deploying to one cluster must not remove each other's. A key another record
lists too stays when this one drops it."""
import hashlib
import re
import sys
from pathlib import Path

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace.environment import Environment, prefix
from kargo_tasks.workspace.namespace import DEFAULT as DEFAULT_PREFIX
from kargo_tasks.workspace.namespace import platform

from . import client as engine

MANAGED_PREFIX = "org.kargo.managed"


def managed_key(root: str | Path, platform_prefix: str = DEFAULT_PREFIX) -> str:
    """The label recording the keys the kargo root `root` set on a node for
    the platform `platform_prefix` (the default platform keeps the key of a
    root alone, as kargo had it before platforms had a prefix)."""
    identity = str(Path(root).resolve())
    if platform_prefix != DEFAULT_PREFIX:
        identity += f"\0{platform_prefix}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return f"{MANAGED_PREFIX}.{digest}"


def _managed(env, root):
    return managed_key(root, platform(env))

LABELS_VAR = re.compile(r"^[A-Z0-9_]+_LABELS$")


def parse(env, var):
    labels = {}
    for word in env.words(var):
        key, sep, value = word.partition("=")
        if not key or not re.fullmatch(r"[A-Za-z0-9_.-]+", key):
            raise ConfigError(f"{var}: bad label {key or word!r} (expected key=value)",
                              where=env.origins.get(var))
        labels[key] = value if sep else ""
    return labels


def wanted(env, hostnames):
    """({hostname: labels}, warnings) for the nodes of the cluster."""
    result, used = {}, set()
    for host in hostnames:
        var = f"{prefix(host)}_LABELS"
        used.add(var)
        result[host] = parse(env, var) if var in env else {}
    warnings = [f"warning: {var} matches no node of the cluster"
                for var in sorted(env.names())
                if LABELS_VAR.match(var) and var not in used and env.origins.get(var) != "shell"]
    return result, warnings


def merged_labels(current, desired, managed):
    """The node's labels after applying `desired`; `managed` is this root's
    record label (pure). A key another record lists is not removed."""
    mine = set(filter(None, current.get(managed, "").split(",")))
    mine -= {key for record, keys in current.items()
             if record.startswith(f"{MANAGED_PREFIX}.") and record != managed
             for key in keys.split(",")}
    labels = {k: v for k, v in current.items() if k not in mine and k != managed}
    labels.update(desired)
    if desired:
        labels[managed] = ",".join(sorted(desired))
    return labels


def _nodes():
    return engine.get("list nodes", "/nodes")


def _plan(env, root):
    managed = _managed(env, root)
    nodes = _nodes()
    want, warnings = wanted(env, [n["Description"]["Hostname"] for n in nodes])
    changes = []
    for node in nodes:
        current = node["Spec"].get("Labels") or {}
        new = merged_labels(current, want[node["Description"]["Hostname"]], managed)
        if new != current:
            changes.append((node, new))
    return changes, warnings


def applied(env: Environment, root: str | Path) -> bool:
    """doit `uptodate` callable body: every node has the labels it should."""
    changes, warnings = _plan(env, root)
    # A variable that names no node is a typo to say on every run, until it
    # is fixed: an up-to-date task would never show it.
    return not changes and not warnings


def apply(env: Environment, root: str | Path) -> None:
    changes, warnings = _plan(env, root)
    for line in warnings:
        # stderr: doit keeps an action's stdout to itself (verbosity 1)
        print(line, file=sys.stderr, flush=True)
    managed = _managed(env, root)
    for node, labels in changes:
        host = node["Description"]["Hostname"]
        desired = wanted(env, [host])[0][host]

        def attempt(n, node=node, labels=labels, host=host, desired=desired):
            if n:  # another writer updated the node since it was read: apply to what it is now
                node = engine.get(f"inspect node {host}", f"/nodes/{node['ID']}")
                labels = merged_labels(node["Spec"].get("Labels") or {}, desired, managed)
                if labels == (node["Spec"].get("Labels") or {}):
                    return labels  # the other writer did it
            _update(node, labels, host)
            return labels

        labels = engine.retry_on_conflict(attempt)
        shown = sorted(k for k in labels if not k.startswith(MANAGED_PREFIX))
        print(f"labels of {host}: {' '.join(shown)}")


def _update(node, labels, host):
    spec = dict(node["Spec"], Labels=labels)
    engine.call(f"update labels of node {host}", engine.client().api.update_node,
                node["ID"], node["Version"]["Index"], spec)
