"""Node labels from `<NODE>_LABELS="k=v k2=v2"` (node hostname upper-cased,
`-` -> `_`). kargo records the keys it set in one label, so a key the
operator removes from the environment is removed from the node, and labels
set by anyone else are left alone."""
import re
import sys

from . import engine
from .environment import prefix
from .errors import ConfigError

MANAGED = "org.kargo.managed"
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


def merged_labels(current, desired):
    """The node's labels after applying `desired` (pure)."""
    managed = set(filter(None, current.get(MANAGED, "").split(",")))
    labels = {k: v for k, v in current.items() if k not in managed and k != MANAGED}
    labels.update(desired)
    if desired:
        labels[MANAGED] = ",".join(sorted(desired))
    return labels


def _nodes():
    client = engine.client()
    return engine.call("list nodes", client.api.nodes)


def _plan(env):
    nodes = _nodes()
    want, warnings = wanted(env, [n["Description"]["Hostname"] for n in nodes])
    changes = []
    for node in nodes:
        current = node["Spec"].get("Labels") or {}
        new = merged_labels(current, want[node["Description"]["Hostname"]])
        if new != current:
            changes.append((node, new))
    return changes, warnings


def applied(env):
    """doit `uptodate` callable body: every node has the labels it should."""
    changes, warnings = _plan(env)
    # A variable that names no node is a typo to say on every run, until it
    # is fixed: an up-to-date task would never show it.
    return not changes and not warnings


def apply(env):
    changes, warnings = _plan(env)
    for line in warnings:
        # stderr: doit keeps an action's stdout to itself (verbosity 1)
        print(line, file=sys.stderr, flush=True)
    client = engine.client()
    for node, labels in changes:
        spec = dict(node["Spec"], Labels=labels)
        host = node["Description"]["Hostname"]
        engine.call(f"update labels of node {host}", client.api.update_node,
                    node["ID"], node["Version"]["Index"], spec)
        print(f"labels of {host}: {' '.join(sorted(k for k in labels if k != MANAGED))}")
