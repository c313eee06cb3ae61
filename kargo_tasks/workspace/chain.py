"""Workspaces that extend each other: `KARGO_EXTENDS=../base` in a workspace's
`.env` names the workspace it extends, a path relative to that workspace; the
base may extend another, a chain of any length.

The chain is a property of the workspaces' files: it is read from each `.env`
alone, before the environment (a value with a `$` reference is refused, and
the shell, the defaults env file or a `.env.age` may not set it). A base is a
workspace folder (a folder with a `.env`, which may be empty). A cycle, a
missing base or a base that is not a workspace folder is one error naming the
`.env` line that says it.

Layers, later wins (merge.layers, operations/project.env_files): kargo's
defaults, each base from the farthest, the workspace; the shell last.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from kargo_tasks.base.errors import ConfigError

from .environment import parse_env_file

VARIABLE = "KARGO_EXTENDS"
ENV = ".env"


@dataclass(frozen=True)
class Base:
    """A workspace the chosen one extends (directly or through other bases)."""
    path: Path     # the base's folder, resolved
    where: str     # the `.env` line that names it: "file:line"
    name: str      # as the operator knows it: its path relative to the workspace


def extends(workspace: Path) -> tuple[str, str] | None:
    """(the value of KARGO_EXTENDS, "file:line") of `workspace`'s `.env`, or
    None when it extends nothing (no `.env`, no KARGO_EXTENDS, or empty)."""
    env = workspace / ENV
    if not env.is_file():
        return None
    for entry in parse_env_file(env):
        if entry.name != VARIABLE:
            continue
        value = entry.raw.strip()
        if "$" in value and not entry.literal:
            raise ConfigError(f"{VARIABLE} cannot refer to variables: the chain of workspaces "
                              "is read before the environment", where=entry.where)
        return (value, entry.where) if value else None
    return None


def bases(workspace: Path) -> tuple[Base, ...]:
    """The workspaces `workspace` (resolved) extends, the farthest first."""
    found: list[Base] = []
    seen = [workspace]
    here = workspace
    while True:
        named = extends(here)
        if named is None:
            return tuple(reversed(found))
        value, where = named
        path = Path(value)
        path = path if path.is_absolute() else here / path
        if not path.exists():
            raise ConfigError(f"{VARIABLE}: the base workspace {path} does not exist", where=where)
        if not path.is_dir():
            raise ConfigError(f"{VARIABLE}: the base workspace {path} is not a folder",
                              where=where)
        path = path.resolve()
        if path in seen:
            cycle = " -> ".join(str(p) for p in seen[seen.index(path):] + [path])
            raise ConfigError(f"{VARIABLE}: workspaces extend each other in a cycle: {cycle}",
                              where=where)
        if not (path / ENV).is_file():
            raise ConfigError(f"{VARIABLE}: {path} is not a workspace folder (it has no {ENV}; "
                              "an empty one makes it one)", where=where)
        found.append(Base(path, where, os.path.relpath(path, workspace)))
        seen.append(path)
        here = path


def check_origin(origins: dict[str, str], files: list[str | os.PathLike]) -> None:
    """KARGO_EXTENDS set anywhere but a workspace's `.env` (the shell, the
    defaults env file, a `.env.age`) is an error: the chain is read from the
    `.env` files alone, so such a value would say another chain than the one
    kargo uses. `origins`: the environment's; `files`: the env files read."""
    where = origins.get(VARIABLE)
    if where is None:
        return
    if where == "shell":
        raise ConfigError(f"{VARIABLE} is set in the shell: the workspace a workspace extends "
                          f"is said in its {ENV} only", where="shell")
    path = where.rsplit(":", 1)[0]
    if Path(path).name != ENV or path == str(files[0]):
        raise ConfigError(f"{VARIABLE} may be set in a workspace's {ENV} only", where=where)
