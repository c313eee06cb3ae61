"""The versions of a stack kargo deployed, for `rollback:<stack>`: beside the
cluster record, `.kargo/.state/history/<stack>.json` holds the version that
runs ("current") and the one before it ("previous"): each the resolved stack
file as it was sent, the image digests its services ran, and the names of
the configs and secrets it needs (kept from pruning until a later deploy
supersedes the version). Owner-only, like the stack files: a stack file holds
values of the environment.
"""
import json

from .files import SECRET_FILE, ensure_dir, write_atomic


def _path(layout, stack):
    return layout.state / "history" / f"{stack.name}.json"


def read(layout, stack):
    """{"current": version, "previous": version}, either may be missing."""
    try:
        return json.loads(_path(layout, stack).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def version(resolved, project, services):
    """A version: the resolved stack file's text, the image each service
    runs as the engine resolved it (`services`: swarm.deployed(project),
    images "ref@sha256:..."), the config and secret names it uses."""
    keep = sorted({item.get("name") for kind in ("configs", "secrets")
                   for item in (resolved.doc.get(kind) or {}).values() if item.get("name")})
    images = {name[len(project) + 1:]: service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
              for name, service in services.items()}
    return {"stack": resolved.text, "images": images, "keep": keep}


def converged(layout, stack, new):
    """`new` runs now: it becomes current; the version it replaced, previous
    (a deploy of the same version again keeps the previous one). A version is
    its stack file and its images: a rebuilt image alone is a new one."""
    record = read(layout, stack)
    current = record.get("current")
    if current and (current["stack"], current.get("images")) != (new["stack"], new["images"]):
        record["previous"] = current
    record["current"] = new
    _write(layout, stack, record)


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
    _path(layout, stack).unlink(missing_ok=True)


def _write(layout, stack, record):
    path = _path(layout, stack)
    ensure_dir(path.parent)
    write_atomic(path, json.dumps(record).encode(), SECRET_FILE)
