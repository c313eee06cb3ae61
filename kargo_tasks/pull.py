"""`pull`: fast-forward the workspace from its git upstream, as the bash
Kargo's `kargo pull` did (a `git pull` of the workspace), but refusing what
a fast-forward cannot take: uncommitted changes to tracked files, local
commits the upstream does not have. Untracked files stay where they are
(an operator's local secret); git itself refuses to overwrite one.
"""
import subprocess

from .errors import KargoError


def _git(workspace, *args):
    try:
        return subprocess.run(["git", "-C", str(workspace), *args], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=300)
    except FileNotFoundError:
        raise KargoError("git is not installed (apt-get install git)") from None


def _checked(workspace, what, *args):
    proc = _git(workspace, *args)
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise KargoError(f"{what} failed: {said[-1] if said else f'exit {proc.returncode}'}",
                         where=str(workspace))
    return proc.stdout


def pull(workspace):
    """Fast-forward `workspace`; the lines saying what it brought ([] when
    it was up to date)."""
    if workspace is None:
        raise KargoError("no workspace selected")
    if _git(workspace, "rev-parse", "--is-inside-work-tree").returncode != 0:
        raise KargoError("the workspace is not a git repository: nothing to pull",
                         where=str(workspace))
    upstream = _git(workspace, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
    if upstream.returncode != 0:
        branch = _git(workspace, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
        raise KargoError(f"branch {branch} of the workspace has no upstream "
                         "(git branch --set-upstream-to=<remote>/<branch>)", where=str(workspace))
    upstream = upstream.stdout.strip()
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
        return []
    if ahead:
        raise KargoError(f"the workspace has diverged from {upstream} ({ahead} local, {behind} "
                         "upstream commits): merge or rebase it, then pull", where=str(workspace))
    commits = _checked(workspace, "git log", "log", "--oneline", "--no-decorate",
                       "HEAD..@{u}").splitlines()
    files = _checked(workspace, "git diff", "diff", "--name-status", "HEAD", "@{u}").splitlines()
    _checked(workspace, "git merge --ff-only", "merge", "--ff-only", "--quiet", "@{u}")
    return ([f"pulled {behind} commit{'s' * (behind > 1)} from {upstream}:"]
            + [f"  {line}" for line in commits] + ["files:"]
            + [f"  {line}" for line in files])


def pull_action(project):
    """The `pull` task: print what the pull brought."""
    lines = pull(project.workspace)
    print("\n".join(lines) if lines else "the workspace is up to date with its upstream",
          flush=True)
