"""Actions of `configure`: write one output of `.kargo/`, prune the rest.

Each output records, as its doit values, the names of the variables it read
and a keyed digest of their values; `env_unchanged` compares that digest with
the current environment, so an output goes stale when a variable it reads
changes, and only then. Values themselves never reach the doit database.
"""
import os
import sys
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from kargo_tasks.base.actions import Check
from kargo_tasks.base.files import PLAIN_FILE, SECRET_FILE, forget_folders, write_if_changed
from kargo_tasks.workspace import sealed, templates
from kargo_tasks.workspace.merge import RESERVED, Source
from kargo_tasks.workspace.project import Project


def output_mode(source, out):
    """Rendered files may hold environment values, and files under secrets/
    are secrets whatever their mode in the workspace: owner-only. Other copies
    keep the operator's mode (execute bits matter for hooks and build
    contexts)."""
    if source.kind != "copy" or out.startswith("secrets/") or sealed.is_sealed(source.path):
        return SECRET_FILE
    return source.path.stat().st_mode & 0o755 or PLAIN_FILE


def write_output(project: Project, out: str, source: Source, key_of: Callable[[], bytes]) -> dict:
    """Render `source` into `.kargo/<out>`; returns the doit values to keep:
    the written file's stamp, and the variables read with their digest."""
    data, reads = templates.render(source, out, project.env)
    if templates.COMPOSE_FILE.match(out) and out not in project.compose_files():
        _warn_if_broken(data, source)
    target = project.layout.merged / out
    # kept sealed when a sealed source or a `.env.age` value went into it
    data = sealed.stored(source, data, project.sealing_folder(), target, project.env, reads, out)
    write_if_changed(target, data, output_mode(source, out), durable=False)  # see files.py
    values = {"stamp": stamp(target), "source": [str(source.path), source.kind]}
    if reads:
        values["env"] = project.env.digests(reads, key_of())
    return values


def _warn_if_broken(data, source):
    """A compose file no stack uses breaks nothing: one warning line."""
    from kargo_tasks.compose.resolve import check_file
    problem = check_file(data, str(source.path))
    if problem:
        print(f"warning: {problem} (no stack in STACKS uses it)", file=sys.stderr, flush=True)


def stamp(path):
    """What changes when anyone but kargo touches an output (one lstat)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode]


def unchanged(project: Project, out: str, source: Source, target: str | Path,
              key_of: Callable[[], bytes]) -> Callable[..., Any]:
    """doit `uptodate` callable: the output is as kargo wrote it, and the
    variables the last run read still have the same values. Its `explain`
    says why not (names, never values) for `doit plan`."""
    def why(values):
        if values.get("source") != [str(source.path), source.kind]:
            return [f"now made from {project.relative(source.path)}"]
        now = stamp(target)
        if now is None:
            return ["the merged file is missing"]
        if values.get("stamp") != now:
            return ["the merged file was changed outside kargo"]
        if now[3] & 0o777 != output_mode(source, out):
            # doit compares content only: a chmod of the source shows here
            return [f"the mode of {source.path} changed"]
        return [project.variable_changed(name)
                for name in project.env.changed(values.get("env"), key_of())]
    return Check("unchanged", why)


def strays(project: Project, keep: Collection[str]) -> list[str]:
    """Files of `.kargo/` that no current output, stack file or state explains."""
    root = project.layout.merged
    found: list[str] = []
    if not root.is_dir():
        return found
    for top, dirs, files in os.walk(root):
        rel_top = os.path.relpath(top, root)
        if rel_top == ".":
            dirs[:] = [d for d in dirs if d != ".state"]
        for name in files:
            rel = name if rel_top == "." else f"{rel_top}/{name}".replace(os.sep, "/")
            if rel not in keep and rel.split("/", 1)[0] not in RESERVED:
                found.append(rel)
    return sorted(found)


def prune(project: Project, keep: Collection[str]) -> None:
    """Remove outputs whose source is gone, then folders left empty."""
    root = project.layout.merged
    for rel in strays(project, keep):
        (root / rel).unlink(missing_ok=True)
    for top, dirs, files in os.walk(root, topdown=False):
        if top != str(root) and not os.listdir(top):
            os.rmdir(top)
    forget_folders()  # ensure_dir must look again
