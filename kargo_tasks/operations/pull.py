"""`pull`: fast-forward the workspace from its git upstream, as the bash
Kargo's `kargo pull` did (a `git pull` of the workspace), but refusing what
a fast-forward cannot take: uncommitted changes to tracked files, local
commits the upstream does not have, a detached HEAD. Untracked files stay
where they are (an operator's local secret); git itself refuses to overwrite
one, and the error names it.

A workspace that is a folder of a repository holding several (base,
staging, production) pulls the whole repository: the pull names it, and
`sync` then deploys the workspace in use, whatever else moved.

Submodules (configs shared between workspaces) move with the workspace: the
fast-forward ends with `git submodule update --init --recursive`, so a
submodule upstream bumped is checked out at its new commit and one upstream
added is cloned; the folder of one upstream removed goes when nothing of the
operator's is in it. When the submodules cannot be updated (a bumped commit
that was never pushed, an unreachable URL), the fast-forward is undone, so
the workspace is never left half-moved; the error line says so. An error is
one line carrying git's own reason (every line of it, not its last).
"""
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from kargo_tasks.base.errors import KargoError
from kargo_tasks.workspace.project import Project

GITLINK = "160000"   # the mode of a submodule in a git tree
LISTED = 5           # items of a list git gives (file names) an error line keeps
# the password of a URL's user:password@ (git may print the remote's URL)
URL_PASSWORD = re.compile(r"(://[^/@:\s]+):[^/@\s]+@")


def _git(workspace, *args):
    try:
        return subprocess.run(["git", "-C", str(workspace), *args], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=300)
    except FileNotFoundError:
        raise KargoError("git is not installed (apt-get install git)") from None


def reason(text: str) -> str:
    """git's message (its stderr) on one line: every line kept, in order,
    without the `error:`/`fatal:` prefixes, `hint:` lines and the closing
    `Aborting`; a list of files git indents under a line ending in `:` is
    joined with commas (the first LISTED, then how many more)."""
    parts: list[str] = []
    items: list[str] = []

    def close_list():
        if items:
            more = f" and {len(items) - LISTED} more" if len(items) > LISTED else ""
            parts[-1] = f"{parts[-1]} {', '.join(items[:LISTED])}{more}"
            items.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("hint:") or line == "Aborting":
            continue
        for prefix in ("error: ", "fatal: "):
            if line.startswith(prefix):
                line = line[len(prefix):]
        if raw[:1] in ("\t", " ") and parts and (items or parts[-1].endswith(":")):
            items.append(line)
            continue
        close_list()
        if parts and line in parts:
            continue  # git says some things twice (a remote's error, then its own)
        parts.append(line)
    close_list()
    joined = ""
    for n, part in enumerate(parts):
        if not joined:
            joined = part
        elif joined[-1] in ".:;!?" or (part[:1].islower() and ":" not in parts[n - 1]):
            joined = f"{joined} {part}"  # a new sentence, or one git wrapped
        else:
            joined = f"{joined}; {part}"
    return URL_PASSWORD.sub(r"\1:***@", joined)


def _checked(workspace, what, *args):
    proc = _git(workspace, *args)
    if proc.returncode != 0:
        said = reason(proc.stderr or proc.stdout)
        raise KargoError(f"{what} failed: {said or f'exit {proc.returncode}'}",
                         where=str(workspace))
    return proc.stdout


def _upstream(workspace):
    """The upstream of the branch checked out ('origin/main'), or a one-line
    refusal: detached HEAD, no upstream, an upstream git cannot read."""
    branch = _git(workspace, "symbolic-ref", "-q", "--short", "HEAD")
    if branch.returncode != 0:
        at = _git(workspace, "rev-parse", "--short", "HEAD").stdout.strip()
        raise KargoError(f"the workspace is on a detached HEAD (at {at or 'no commit'}), not "
                         "on a branch: a detached HEAD has no upstream to pull from "
                         "(git checkout <branch>, then pull)", where=str(workspace))
    branch = branch.stdout.strip()
    upstream = _git(workspace, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
    if upstream.returncode == 0:
        return upstream.stdout.strip()
    if _git(workspace, "config", f"branch.{branch}.merge").returncode != 0:
        raise KargoError(f"branch {branch} of the workspace has no upstream "
                         "(git branch --set-upstream-to=<remote>/<branch>)", where=str(workspace))
    raise KargoError(f"the upstream of branch {branch} cannot be read: "
                     f"{reason(upstream.stderr)}", where=str(workspace))


def pull(workspace: Path | None) -> list[str]:
    """Fast-forward `workspace` and its submodules (the whole repository
    when the workspace is a folder of it); the lines saying what it brought
    ([] when it was up to date)."""
    if workspace is None:
        raise KargoError("no workspace selected")
    if _git(workspace, "rev-parse", "--is-inside-work-tree").returncode != 0:
        raise KargoError("the workspace is not a git repository: nothing to pull",
                         where=str(workspace))
    # a repository holding several workspaces (base, staging, production)
    # moves whole: its paths (diffs, submodules) are its top's
    top = Path(_checked(workspace, "git rev-parse", "rev-parse", "--show-toplevel").strip())
    return _pull(top if top.resolve() != workspace.resolve() else workspace)


def _pull(workspace):
    upstream = _upstream(workspace)
    _checked(workspace, "git fetch", "fetch", "--quiet")
    dirty = _checked(workspace, "git status", "status", "--porcelain",
                     "--untracked-files=no").splitlines()
    if dirty:
        more = f" and {len(dirty) - 1} more" if len(dirty) > 1 else ""
        raise KargoError(f"the workspace has uncommitted changes ({dirty[0][3:]}{more}): "
                         "commit or stash them, then pull", where=str(workspace))
    ahead, behind = map(int, _checked(workspace, "git rev-list", "rev-list", "--left-right",
                                      "--count", "HEAD...@{u}").split())
    if behind == 0:
        return _initialise(workspace)
    if ahead:
        raise KargoError(f"the workspace has diverged from {upstream} ({ahead} local, {behind} "
                         "upstream commits): merge or rebase it, then pull", where=str(workspace))
    commits = _checked(workspace, "git log", "log", "--oneline", "--no-decorate",
                       "HEAD..@{u}").splitlines()
    old = _checked(workspace, "git rev-parse", "rev-parse", "HEAD").strip()
    new = _checked(workspace, "git rev-parse", "rev-parse", "@{u}").strip()
    changes = _changes(workspace, old, new)
    _checked(workspace, "git merge --ff-only", "merge", "--ff-only", "--quiet", new)
    # from here on the workspace has moved: what fails is undone or said
    _update_submodules(workspace, old, new, changes)
    kept = {change.path for change in changes if change.submodule and change.status == "D"
            and not _drop_folder(workspace, change.path)}  # a submodule upstream removed
    return ([f"pulled {behind} commit{'s' * (behind > 1)} from {upstream}:"]
            + [f"  {line}" for line in commits] + ["files:"]
            + [f"  {line}" for line in _files(workspace, changes, kept)])


class Change(NamedTuple):
    """A line of `git diff --raw` between two commits."""
    status: str      # M, A, D, R100, ...
    paths: tuple     # (path,), or (old path, new path) for a rename or copy
    old: str         # object names (a submodule's: its commits)
    new: str
    submodule: bool

    @property
    def path(self):
        return self.paths[-1]


def _changes(repo, old, new):
    """[Change] between two commits of `repo`."""
    found = []
    for line in _checked(repo, "git diff", "diff", "--raw", "--no-abbrev", old, new,
                         "--").splitlines():
        meta, _, paths = line.partition("\t")
        old_mode, new_mode, old_obj, new_obj, status = meta[1:].split()
        found.append(Change(status, tuple(paths.split("\t")), old_obj, new_obj,
                            GITLINK in (old_mode, new_mode)))
    return found


def _files(repo, changes, kept=(), inside=""):
    """`status<TAB>path` lines of `changes` (as `git diff --name-status`),
    a submodule's own files under its line, recursively; `kept`: the
    removed submodules whose folder holds the operator's files."""
    lines = []
    for change in changes:
        where = "\t".join(f"{inside}{path}" for path in change.paths)
        if not change.submodule:
            lines.append(f"{change.status}\t{where}")
            continue
        sub = repo / change.path
        if change.status == "D":
            lines.append(f"D\t{where} (submodule removed" + (
                "; its folder is kept: it holds files of yours)" if change.path in kept else ")"))
            continue
        if change.status == "A":
            lines.append(f"A\t{where} (submodule at {change.new[:7]})")
        else:
            lines.append(f"{change.status}\t{where} (submodule {change.old[:7]}.."
                         f"{change.new[:7]})")
        try:  # the workspace moved already: a listing that fails only lists less
            if change.status == "A":
                listed = _checked(sub, "git ls-tree", "ls-tree", "-r", "--name-only",
                                  change.new)
                inner = [Change("A", (name,), "", "", False) for name in listed.splitlines()]
            else:
                inner = _changes(sub, change.old, change.new)
        except KargoError:
            continue
        lines += _files(sub, inner, (), f"{where}/")
    return lines


def _update_submodules(workspace, old, new, changes):
    """`git submodule update --init --recursive` after the fast-forward from
    `old` to `new`; when it fails, back to `old`, said on one line."""
    if not any(change.submodule for change in changes) and not (
            workspace / ".gitmodules").exists():
        return
    try:
        _checked(workspace, "git submodule update", "submodule", "update", "--quiet", "--init",
                 "--recursive")
    except KargoError as err:
        failed = err.args[0]
        undo = _git(workspace, "reset", "--quiet", "--keep", old)
        if undo.returncode == 0:
            undo = _git(workspace, "submodule", "update", "--quiet", "--init", "--recursive")
        for change in changes:
            if change.submodule and change.status == "A":
                _drop_folder(workspace, change.path)  # cloned by the failed update
        if undo.returncode != 0:
            raise KargoError(f"{failed}; the workspace is on {new[:7]} but its submodules are "
                             f"not (undoing the pull failed too: {reason(undo.stderr)}): fix "
                             "it, then git submodule update --init --recursive",
                             where=str(workspace)) from None
        raise KargoError(f"{failed}; the pull was undone: the workspace is still on "
                         f"{old[:7]}, as before", where=str(workspace)) from None


def _drop_folder(workspace, path):
    """Remove the folder a submodule left in the work tree, when git no
    longer tracks it and nothing in it is the operator's (a clean checkout,
    its git data kept under .git/modules); False when it stays."""
    folder = workspace / path
    if not folder.exists():
        return True
    if _git(workspace, "ls-files", "--error-unmatch", "--", path).returncode == 0:
        return True  # tracked again (the undo put it back)
    if not (folder / ".git").is_file():
        return not any(folder.iterdir())  # an empty folder git left
    status = _git(folder, "status", "--porcelain", "--ignored")
    if status.returncode != 0 or status.stdout.strip():
        return False
    shutil.rmtree(folder)
    return True


def _initialise(workspace):
    """An up-to-date workspace whose submodules were never initialised (a
    clone without --recurse-submodules): initialise them."""
    if not (workspace / ".gitmodules").exists():
        return []
    missing = _uninitialised(workspace)
    if not missing:
        return []
    _checked(workspace, "git submodule update", "submodule", "update", "--quiet", "--init",
             "--recursive")
    done = [path for path in missing if path not in _uninitialised(workspace)]
    return [f"initialised submodule {path}" for path in done]


def _uninitialised(workspace):
    status = _checked(workspace, "git submodule status", "submodule", "status", "--recursive")
    return [line[1:].split()[1] for line in status.splitlines() if line.startswith("-")]


def pull_action(project: Project) -> None:
    """The `pull` task: print what the pull brought."""
    lines = pull(project.workspace)
    print("\n".join(lines) if lines else "the workspace is up to date with its upstream",
          flush=True)
