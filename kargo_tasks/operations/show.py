"""Actions of `use` and `show`: what an operator reads on the console.

`show` lists names, places and addresses, never a value of the environment:
where kargo works (the workspace and the workspaces it extends, its root,
the defaults, the code), the engine it talks
to, the stacks and their services with the ports they publish (from the
resolved stack files), the images, the hooks and the scripts."""
import urllib.parse

from kargo_tasks import __version__
from kargo_tasks.base.errors import ConfigError, KargoError
from kargo_tasks.workspace import layout as workspace_mod
from kargo_tasks.workspace import sealed
from kargo_tasks.workspace.catalog import is_hook, used_images
from kargo_tasks.workspace.namespace import VARIABLE as PREFIX_VARIABLE
from kargo_tasks.workspace.namespace import platform
from kargo_tasks.workspace.project import Project

from . import scripts


def use(project: Project, workspace: str = "") -> None:
    if not workspace:
        raise ConfigError("give the folder: kargo use --workspace DIR")
    path = workspace_mod.record(project.layout, workspace)
    print(f"workspace: {path} (recorded in {project.layout.record})")
    state = project.layout.top / workspace_mod.workspace_key(path)
    print(f"merged configuration and state: {state}"
          f"{'' if state.is_dir() else ' (made by the next run)'}")


def _engine():
    """Which engine this run talks to, and why (it is not asked anything)."""
    from kargo_tasks.engine import client as engine
    try:
        return engine.describe(), engine.current().host
    except KargoError as err:
        return f"none: {err}", None


def published_host(engine_host):
    """Where a port an engine publishes is reached from here."""
    url = urllib.parse.urlsplit(engine_host or "")
    return url.hostname if url.scheme in ("tcp", "ssh") and url.hostname else "localhost"


def ports(stack_file):
    """{service: [(published, target, protocol)]} of a resolved stack file,
    None when it is not there yet. One that is there but cannot be read (a
    sealed one without the identity that opens it) is its KargoError, which
    names the encrypted source: "resolve the stack first" would mislead."""
    from kargo_tasks.compose.resolve import load_stack
    try:
        data = sealed.read_merged(stack_file)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise KargoError(f"cannot be read: {err.strerror}", where=str(stack_file))
    doc = load_stack(data.decode("utf-8"), str(stack_file))
    found = {}
    for name, spec in (doc.get("services") or {}).items():
        for port in (spec or {}).get("ports") or ():
            if isinstance(port, dict) and port.get("published"):
                found.setdefault(name, []).append(
                    (port["published"], port.get("target"), port.get("protocol", "tcp")))
    return found


def describe(project: Project) -> None:
    lay = project.layout
    print(f"workspace: {project.workspace or 'none selected (' + workspace_mod.FIX + ')'}")
    for base in reversed(project.bases):  # the nearest first, as KARGO_EXTENDS chains them
        print(f"  extends: {base.path} (KARGO_EXTENDS at {base.where})")
    print(f"kargo root: {lay.root} (chosen by {lay.chosen_by}); defaults: {lay.defaults}")
    print(f"code: kargo {__version__} in {workspace_mod.PACKAGE}")
    if project.error:
        raise project.error
    print(f"merged configuration and state: {lay.merged}")
    print(f"stacks deploy as: {platform(project.env)}-<stack> ({PREFIX_VARIABLE})")
    engine, host = _engine()
    print(f"engine: {engine}")
    here = published_host(host)
    print("stacks (deploy order):")
    for stack in project.catalog.stacks.values():
        after = f"  [after {', '.join(stack.depends)}]" if stack.depends else ""
        print(f"  {stack.name}: {' '.join(stack.services)}{after}")
        try:
            published = ports(lay.stacks / f"{stack.name}.yml")
        except KargoError as err:
            published = {}
            print(f"    (ports: {err})")
        if published is None:
            print("    (ports: resolve the stack first, e.g. doit _stack:{})".format(stack.name))
        for service, entries in (published or {}).items():
            for outside, inside, protocol in entries:
                scheme = "http" if protocol == "tcp" else protocol
                print(f"    {service} {scheme}://{here}:{outside} (port {inside})")
    print("images:")
    used = set(used_images(project.catalog, project.env))
    for image in project.catalog.images.values():
        unused = "" if image.name in used else f"  (no stack runs it: build:{image.name} only)"
        print(f"  {image.name}  ({image.context}){unused}")
    print("hooks:")
    for out in sorted(project.overlay):
        if is_hook(out):
            print(f"  {out}")
    print("scripts (doit exec:<name> ARGS...):")
    for out in scripts.of(project.overlay):
        print(f"  {scripts.task_name(out)}: {scripts.summary(project.overlay[out].path) or out}")
