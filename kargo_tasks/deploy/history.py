"""The versions of a stack kargo deployed, for `rollback:<stack>`: beside the
cluster record, `.kargo/.state/history/<stack>.json` holds the version that
runs ("current") and the one before it ("previous"): each the resolved stack
file as it was sent, the image digests its services ran, and the names of
the configs and secrets it needs (kept from pruning until a later deploy
supersedes the version), and the deploy timeout in effect then (a rollback
runs when the workspace cannot be read), and the platform prefix it ran
under (its Swarm name, for the same reason). Owner-only, like the stack files: a
stack file holds values of the environment.
"""
import json
from typing import Any

from kargo_tasks.base.files import SECRET_FILE, ensure_dir, write_atomic
from kargo_tasks.workspace.catalog import Stack
from kargo_tasks.workspace.layout import Layout
from kargo_tasks.workspace.namespace import DEFAULT as DEFAULT_PREFIX


def history_file(layout, stack):
    """The file of `stack`'s versions."""
    return layout.state / "history" / f"{stack.name}.json"


def read(layout: Layout, stack: Any) -> dict:
    """{"current": version, "previous": version}, either may be missing."""
    try:
        return json.loads(history_file(layout, stack).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def version(resolved, namespace, services):
    """A version: the resolved stack file's text, the image each service
    runs as the engine resolved it (`services`: swarm.deployed(namespace),
    images "ref@sha256:..."), the config and secret names it uses."""
    keep = sorted({item.get("name") for kind in ("configs", "secrets")
                   for item in (resolved.doc.get(kind) or {}).values() if item.get("name")})
    images = {namespace.descope(name): service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
              for name, service in services.items()}
    return {"stack": resolved.text, "images": images, "keep": keep}


def same(one, other) -> bool:
    """Whether two versions are one: a version is its stack file and its
    images, so a rebuilt image (or a tag moved in its registry) alone makes
    a new one."""
    return (one["stack"], one.get("images")) == (other["stack"], other.get("images"))


def converged(layout, stack, new, timeout=None):
    """`new` runs now: it becomes current; the version it replaced, previous
    (a deploy of the same version again keeps the previous one). `timeout`:
    the deploy's, for a rollback that cannot read the workspace."""
    record = read(layout, stack)
    current = record.get("current")
    if current and not same(current, new):
        record["previous"] = current
    record["current"] = new
    record["prefix"] = stack.prefix
    if timeout is not None:
        record["timeout"] = timeout
    _write(layout, stack, record)


def written_at(layout: Layout, stack: Any) -> float | None:
    """When the version that runs was put in place (a deploy converged on it,
    or a rollback went back to it): the time the file was last written,
    None without one."""
    try:
        return history_file(layout, stack).stat().st_mtime
    except OSError:
        return None


def recorded(layout: Layout) -> list[str]:
    """The names of the stacks kargo keeps versions of."""
    try:
        return sorted(found.stem for found in (layout.state / "history").glob("*.json"))
    except OSError:
        return []


def platform_of(layout: Layout, name: str) -> str:
    """The platform prefix the stack `name` last converged under (the
    default for a record older than prefixes)."""
    record = read(layout, Stack(name, (), ()))
    return str(record.get("prefix") or DEFAULT_PREFIX)


def rolled_back(layout, stack):
    """After a rollback: the previous version runs; the one rolled back from
    becomes previous (a `deploy` of the workspace brings it back)."""
    record = read(layout, stack)
    record["current"], record["previous"] = record.get("previous"), record.get("current")
    _write(layout, stack, record)


def kept_names(layout, stack):
    """The config and secret names the recorded versions need."""
    record = read(layout, stack)
    return {name for which in ("current", "previous")
            for name in (record.get(which) or {}).get("keep", ())}


def forget(layout, stack):
    """The stack was removed (its configs and secrets with it): no version
    of it can be put back."""
    history_file(layout, stack).unlink(missing_ok=True)


def _write(layout, stack, record):
    path = history_file(layout, stack)
    ensure_dir(path.parent)
    write_atomic(path, json.dumps(record).encode(), SECRET_FILE)
