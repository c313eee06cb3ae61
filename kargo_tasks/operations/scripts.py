"""`exec:<script>`: run an operations script of the merged `scripts/` folder
(defaults overlaid by the workspace, like every other file), as the bash
Kargo's `kargo execute <script>` did: with kargo's environment (secrets
included: they reach the script, and kargo never prints them), from the
merged `scripts/` folder, the engine pinned (DOCKER_HOST / DOCKER_CONTEXT),
the command line's extra arguments passed on, its exit code passed back.
`KARGO_PWD` is the folder the operator ran kargo from.
"""
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from doit.exceptions import TaskFailed

from kargo_tasks.base.errors import KargoError
from kargo_tasks.engine import client as engine
from kargo_tasks.workspace.project import Project

FOLDER = "scripts/"


class ScriptFailed(TaskFailed):
    """A script exited non-zero: its code is the run's (report.Reporter)."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


def task_name(out: str) -> str:
    """`scripts/seed-cache.sh` -> `seed-cache`."""
    name = out[len(FOLDER):]
    return name[:-3] if name.endswith(".sh") else name


def of(overlay: Iterable[str]) -> list[str]:
    """The merged outputs that are scripts: files right under `scripts/`."""
    return sorted(out for out in overlay if out.startswith(FOLDER) and "/" not in out[len(FOLDER):])


def summary(path: str | Path) -> str | None:
    """The first comment line of a script (after its `#!` line)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f):
                if number > 20:
                    break
                text = line.strip()
                if text.startswith("#!") and number == 0 or text in ("", "#"):
                    continue
                return text.lstrip("#").strip() if text.startswith("#") else None
    except OSError:
        return None
    return None


def arguments(name, argv):
    """The words after `exec:<name>` on the command line `argv`, as typed (a
    first `--` dropped), or None when it does not name the task. doit takes
    NAME=value words for its own command-line variables and drops them from
    a task's positional arguments: a script gets them all, in order."""
    try:
        at = argv.index(f"exec:{name}")
    except ValueError:
        return None
    rest = argv[at + 1:]
    return rest[1:] if rest[:1] == ["--"] else rest


def run(project: Project, out: str, args: Sequence[str] = ()) -> "ScriptFailed | None":
    """Run the merged script `out` with the words after its task name on the
    command line (`args`, doit's positional ones, when it was not named
    there); ScriptFailed when it fails."""
    typed = arguments(task_name(out), sys.argv[1:])
    args = list(args) if typed is None else typed
    path = project.layout.merged / out
    if not os.access(path, os.X_OK):
        raise KargoError("script is not executable (chmod +x it in the workspace or defaults)",
                         where=str(project.overlay[out].path))
    try:
        env = dict(project.env.as_dict(),
                   # where the operator ran kargo (doit runs in the repo root):
                   # a script's relative output paths are the operator's
                   KARGO_PWD=os.environ.get("PWD") or os.getcwd())
        code = subprocess.run([str(path), *args], cwd=path.parent,
                              env=engine.cli_env(env)).returncode
    except OSError as exc:
        raise KargoError(f"script cannot be started: {exc.strerror} (check its #! line)",
                         where=str(project.overlay[out].path)) from None
    if code != 0:
        return ScriptFailed(f"{out} exited {code}", code if code > 0 else 128 - code)
    return None
