"""`exec:<script>` (an operations script of the merged scripts/ folder) and
`pull` (the workspace from its git upstream), with a real git. Neither asks
the engine: a probe stands for it (DOCKER_HOST) and must see nothing."""
import os
import subprocess

import pytest

from support import Git, write
from untouched import one_error_line, probe  # noqa: F401

CANARY = "s3cr3t-canary-exec-51d2"

HELLO = """#!/bin/sh
# Say hello with the environment and the arguments
echo "args: $*"
echo "greeting=$GREETING"
echo "token length ${#APP_TOKEN}"
echo "cwd=$(pwd)"
echo "engine=$DOCKER_HOST"
echo "caller=$KARGO_PWD"
exit ${EXIT_WITH:-0}
"""


@pytest.fixture
def ops(kargo, probe):
    kargo.env["DOCKER_HOST"] = probe.url
    write(kargo.workspace / "scripts/hello.sh", HELLO, mode=0o755)
    write(kargo.workspace / ".env", f"APP_TOKEN={CANARY}\n")
    yield kargo
    assert probe.connections == 0, "the engine was asked"


def test_exec_runs_a_script_with_the_environment_and_arguments(ops):
    listing = ops.run("list").stdout
    assert "exec:hello" in listing
    assert "Say hello with the environment and the arguments" in listing
    proc = ops.run("exec:hello", "one", "two=2", "three four", env={"PWD": "/srv/ops"})
    out = proc.stdout
    assert "args: one two=2 three four\n" in out
    assert "greeting=hello world\n" in out
    assert f"token length {len(CANARY)}\n" in out  # the secret reached the script
    assert f"cwd={ops.merged / 'scripts'}\n" in out
    assert f"engine={ops.env['DOCKER_HOST']}\n" in out  # the engine, pinned
    assert "caller=/srv/ops\n" in out
    assert CANARY not in out + proc.stderr
    # a word that starts with `-` comes after `--` (doit's own options before it)
    dashed = ops.kargo("exec:hello", "--", "-z", "3", "layer=osm").stdout
    assert "args: -z 3 layer=osm\n" in dashed


def test_exec_passes_the_exit_code_back_on_one_line(ops):
    proc = ops.run("exec:hello", check=False, env={"EXIT_WITH": "7"})
    assert proc.returncode == 7
    assert one_error_line(proc) == "kargo: exec:hello: scripts/hello.sh exited 7"
    assert CANARY not in proc.stdout + proc.stderr
    # the `kargo` command too
    assert ops.kargo("exec:hello", check=False, env={"EXIT_WITH": "3"}).returncode == 3


def test_exec_of_a_script_that_is_not_executable(ops):
    os.chmod(ops.workspace / "scripts/hello.sh", 0o644)
    line = one_error_line(ops.run("exec:hello", check=False))
    assert line == (f"kargo: exec:hello: {ops.workspace / 'scripts/hello.sh'}: script is not "
                    "executable (chmod +x it in the workspace or defaults)")


def test_the_default_scripts_are_listed_with_their_doc(kargo, tmp_path):
    import shutil

    from support import REPO
    shutil.rmtree(kargo.root / "defaults" / "scripts", ignore_errors=True)
    shutil.copytree(REPO / "defaults" / "scripts", kargo.root / "defaults" / "scripts")
    listing = kargo.run("list").stdout
    for name in ("mapproxy-seed", "mapproxy-clear", "postgis-dump", "mongodb-dump"):
        assert f"exec:{name}" in listing, listing
    assert "exec:lib" not in listing and "exec:service" not in listing  # a library, not a script


# --- pull -------------------------------------------------------------------------------

@pytest.fixture
def repos(kargo, tmp_path, probe):
    """A bare upstream, the workspace cloned from it, and a second clone
    standing for another operator who pushes."""
    kargo.env["DOCKER_HOST"] = probe.url
    git = Git(tmp_path / "home")
    kargo.env["HOME"] = git.env["HOME"]
    workspace, other = git.upstream(tmp_path, "FRONT_REPLICAS=1\n")
    kargo.env["KARGO_WORKSPACE"] = str(workspace)
    kargo.workspace = workspace
    yield kargo, other, git
    assert probe.connections == 0, "the engine was asked"


def test_pull_fast_forwards_and_says_what_it_brought(repos):
    kargo, other, git = repos
    assert kargo.run("pull").stdout.endswith("the workspace is up to date with its upstream\n")
    git.push(other, ".env", "FRONT_REPLICAS=3\n", "three fronts")
    git.push(other, "configs/front/plain.conf", "plain = 2\n", "plainer")
    out = kargo.run("pull").stdout
    assert "pulled 2 commits from origin/main:\n" in out
    assert " plainer\n" in out and " three fronts\n" in out
    assert "files:\n  M\t.env\n  A\tconfigs/front/plain.conf\n" in out
    assert (kargo.workspace / ".env").read_text() == "FRONT_REPLICAS=3\n"
    assert git(kargo.workspace, "rev-parse", "HEAD") == git(other, "rev-parse", "HEAD")


def test_pull_refuses_a_dirty_workspace(repos):
    kargo, other, git = repos
    git.push(other, ".env", "FRONT_REPLICAS=3\n", "three fronts")
    write(kargo.workspace / ".env", "FRONT_REPLICAS=2\n")  # edited, not committed
    write(kargo.workspace / "local-secret.txt", "untracked files are no obstacle\n")
    head = git(kargo.workspace, "rev-parse", "HEAD")
    line = one_error_line(kargo.run("pull", check=False))
    assert line == (f"kargo: pull: {kargo.workspace}: the workspace has uncommitted changes "
                    "(.env): commit or stash them, then pull")
    assert git(kargo.workspace, "rev-parse", "HEAD") == head
    assert (kargo.workspace / ".env").read_text() == "FRONT_REPLICAS=2\n"


def test_pull_refuses_a_diverged_workspace(repos):
    kargo, other, git = repos
    git.push(other, ".env", "FRONT_REPLICAS=3\n", "three fronts")
    write(kargo.workspace / "notes.txt", "mine\n")
    git(kargo.workspace, "add", "-A")
    git(kargo.workspace, "commit", "-q", "-m", "local")
    head = git(kargo.workspace, "rev-parse", "HEAD")
    line = one_error_line(kargo.run("pull", check=False))
    assert line == (f"kargo: pull: {kargo.workspace}: the workspace has diverged from "
                    "origin/main (1 local, 1 upstream commits): merge or rebase it, then pull")
    assert git(kargo.workspace, "rev-parse", "HEAD") == head


def test_pull_of_a_workspace_that_is_not_a_git_repository(kargo, probe):
    kargo.env["DOCKER_HOST"] = probe.url
    line = one_error_line(kargo.run("pull", check=False))
    assert line == (f"kargo: pull: {kargo.workspace}: the workspace is not a git repository: "
                    "nothing to pull")


def test_pull_of_a_branch_without_upstream(repos):
    kargo, _other, git = repos
    git(kargo.workspace, "checkout", "-q", "-b", "local-only")
    line = one_error_line(kargo.run("pull", check=False))
    assert line == (f"kargo: pull: {kargo.workspace}: branch local-only of the workspace has no "
                    "upstream (git branch --set-upstream-to=<remote>/<branch>)")


def test_pull_names_the_untracked_file_that_blocks_it(repos):
    kargo, other, git = repos
    git.push(other, "configs/front/new.conf", "upstream's\n", "a new config")
    write(kargo.workspace / "configs/front/new.conf", "the operator's own, untracked\n")
    head = git(kargo.workspace, "rev-parse", "HEAD")
    line = one_error_line(kargo.run("pull", check=False))
    assert line == (f"kargo: pull: {kargo.workspace}: git merge --ff-only failed: The following "
                    "untracked working tree files would be overwritten by merge: "
                    "configs/front/new.conf; Please move or remove them before you merge.")
    assert git(kargo.workspace, "rev-parse", "HEAD") == head
    assert (kargo.workspace / "configs/front/new.conf").read_text().endswith("untracked\n")


def test_pull_on_a_detached_head_says_it_is_detached(repos):
    kargo, other, git = repos
    git.push(other, ".env", "FRONT_REPLICAS=3\n", "three fronts")
    git(kargo.workspace, "checkout", "-q", "--detach")
    at = git(kargo.workspace, "rev-parse", "--short", "HEAD").strip()
    line = one_error_line(kargo.run("pull", check=False))
    assert line == (f"kargo: pull: {kargo.workspace}: the workspace is on a detached HEAD (at "
                    f"{at}), not on a branch: a detached HEAD has no upstream to pull from "
                    "(git checkout <branch>, then pull)")


def test_pull_error_carries_every_line_of_gits_reason(repos, tmp_path):
    kargo, _other, _git = repos
    (tmp_path / "upstream.git").rename(tmp_path / "moved.git")
    line = one_error_line(kargo.run("pull", check=False))
    # git's last line alone was "and the repository exists."
    assert line == (f"kargo: pull: {kargo.workspace}: git fetch failed: '{tmp_path}/upstream.git' "
                    "does not appear to be a git repository; Could not read from remote "
                    "repository. Please make sure you have the correct access rights and the "
                    "repository exists.")


# --- pull with submodules ---------------------------------------------------------------

def test_pull_brings_submodules_as_upstream_has_them(repos, tmp_path):
    """A submodule (shared configs, which hold a submodule of their own)
    added upstream is cloned, bumped upstream is checked out at its new
    commit, removed upstream leaves no folder; each pull says which files."""
    kargo, other, git = repos
    ws = kargo.workspace
    base_url, base = git.shared(tmp_path, "base", {"common.conf": "common = 1\n"})
    shared_url, shared = git.shared(tmp_path, "shared", {"front.conf": "level = 1\n"})
    git.add_submodule(shared, base_url, "base", "shared: with base")
    git(other, "submodule", "add", "-q", shared_url, "configs/shared")
    git(other, "submodule", "update", "--init", "--recursive", "-q")
    git(other, "commit", "-q", "-m", "share configs")
    git(other, "push", "-q")

    out = kargo.run("pull").stdout
    at = git(shared, "rev-parse", "--short", "HEAD").strip()
    assert "pulled 1 commit from origin/main:\n" in out and " share configs\n" in out
    assert (f"files:\n  A\t.gitmodules\n  A\tconfigs/shared (submodule at {at})\n"
            "  A\tconfigs/shared/.gitmodules\n") in out, out
    assert "  A\tconfigs/shared/base\n" in out and "  A\tconfigs/shared/front.conf\n" in out
    assert (ws / "configs/shared/front.conf").read_text() == "level = 1\n"
    assert (ws / "configs/shared/base/common.conf").read_text() == "common = 1\n"

    # upstream bumps base inside shared, then shared in the workspace
    git.push(base, "common.conf", "common = 2\n", "base: common 2")
    git.bump(shared, "base", "shared: newer base")
    git.push(shared, "front.conf", "level = 2\n", "shared: level 2")
    git.bump(other, "configs/shared", "newer shared configs")
    out = kargo.run("pull").stdout
    assert " newer shared configs\n" in out
    assert "  M\tconfigs/shared/front.conf\n" in out, out
    assert "  M\tconfigs/shared/base/common.conf\n" in out, out
    assert (ws / "configs/shared/front.conf").read_text() == "level = 2\n"
    assert (ws / "configs/shared/base/common.conf").read_text() == "common = 2\n"
    assert git(ws, "status", "--porcelain") == ""
    assert kargo.run("pull").stdout.endswith("the workspace is up to date with its upstream\n")

    # upstream drops the submodule: its folder goes (its git data stays in .git/modules)
    git(other, "rm", "-q", "configs/shared")
    git(other, "commit", "-q", "-m", "no more sharing")
    git(other, "push", "-q")
    out = kargo.run("pull").stdout
    assert "  D\tconfigs/shared (submodule removed)\n" in out, out
    assert not (ws / "configs/shared").exists()
    assert git(ws, "status", "--porcelain") == ""


def test_pull_initialises_the_submodules_a_plain_clone_left_empty(repos, tmp_path):
    kargo, other, git = repos
    url, _shared = git.shared(tmp_path, "shared", {"front.conf": "level = 1\n"})
    git.add_submodule(other, url, "configs/shared", "share configs")
    ws = kargo.workspace
    git(ws, "pull", "-q")  # git's own pull leaves the submodule empty
    assert list((ws / "configs/shared").iterdir()) == []
    assert kargo.run("pull").stdout.endswith("\ninitialised submodule configs/shared\n")
    assert (ws / "configs/shared/front.conf").read_text() == "level = 1\n"
    assert kargo.run("pull").stdout.endswith("the workspace is up to date with its upstream\n")


def test_pull_refuses_a_submodule_bumped_to_a_commit_never_pushed(repos, tmp_path):
    """git's fetch brings the commits of the submodules (on demand): the one
    that is missing is named, and nothing moved."""
    kargo, other, git = repos
    ws = kargo.workspace
    url, _shared = git.shared(tmp_path, "shared", {"front.conf": "level = 1\n"})
    git.add_submodule(other, url, "configs/shared", "share configs")
    kargo.run("pull")
    head = git(ws, "rev-parse", "HEAD")
    missing = _bump_to_a_commit_never_pushed(git, other)
    line = one_error_line(kargo.run("pull", check=False))
    # git's two processes say it in either order
    assert line.startswith(f"kargo: pull: {ws}: git fetch failed: "), line
    assert f"remote error: upload-pack: not our ref {missing}; " in line, line
    assert line.endswith("; Errors during submodule fetch: configs/shared"), line
    assert git(ws, "rev-parse", "HEAD") == head
    assert git(ws, "status", "--porcelain") == ""


def _bump_to_a_commit_never_pushed(git, other):
    unpushed = other / "configs/shared"
    write(unpushed / "front.conf", "level = 2\n")
    git(unpushed, "commit", "-q", "-am", "level 2, committed but never pushed")
    git(other, "commit", "-q", "-am", "newer shared configs")
    git(other, "push", "-q")
    return git(unpushed, "rev-parse", "HEAD").strip()


@pytest.mark.parametrize("how", ["bumped to a commit never pushed", "added from a lost URL"])
def test_pull_that_cannot_update_a_submodule_is_undone_on_one_line(repos, tmp_path, how):
    kargo, other, git = repos
    ws = kargo.workspace
    url, _shared = git.shared(tmp_path, "shared", {"front.conf": "level = 1\n"})
    git.add_submodule(other, url, "configs/shared", "share configs")
    kargo.run("pull")
    head = git(ws, "rev-parse", "HEAD")
    if how.startswith("bumped"):
        # fetched without its submodules (the operator's choice): the update finds it missing
        git(ws, "config", "fetch.recurseSubmodules", "false")
        missing = _bump_to_a_commit_never_pushed(git, other)
        said = (f"Fetched in submodule path 'configs/shared', but it did not contain {missing}. "
                "Direct fetching of that commit failed.")
    else:
        git(other, "submodule", "add", "-q", url, "configs/more")
        git(other, "commit", "-q", "-m", "more shared configs")
        git(other, "push", "-q")
        (tmp_path / "shared.git").rename(tmp_path / "lost.git")
        said = f"'{tmp_path}/shared.git' does not appear to be a git repository"
    line = one_error_line(kargo.run("pull", check=False))
    assert line.startswith(f"kargo: pull: {ws}: git submodule update failed: "), line
    assert said in line, line
    assert line.endswith(f"; the pull was undone: the workspace is still on {head[:7]}, "
                         "as before"), line
    # as it was: the same commit, the same files, nothing left behind
    assert git(ws, "rev-parse", "HEAD") == head
    assert (ws / "configs/shared/front.conf").read_text() == "level = 1\n"
    assert git(ws, "status", "--porcelain") == ""
    assert not (ws / "configs/more").exists()
    # the cause fixed upstream, the next pull goes through
    if how.startswith("bumped"):
        git(other / "configs/shared", "push", "-q", "origin", "HEAD:main")
    else:
        (tmp_path / "lost.git").rename(tmp_path / "shared.git")
    assert "pulled 1 commit from origin/main:\n" in kargo.run("pull").stdout
    assert git(ws, "status", "--porcelain") == ""


def test_pull_keeps_the_folder_of_a_removed_submodule_that_holds_files_of_the_operator(
        repos, tmp_path):
    kargo, other, git = repos
    ws = kargo.workspace
    url, _shared = git.shared(tmp_path, "shared", {"front.conf": "level = 1\n"})
    git.add_submodule(other, url, "configs/shared", "share configs")
    kargo.run("pull")
    write(ws / "configs/shared/notes.txt", "the operator's, untracked\n")
    git(other, "rm", "-q", "configs/shared")
    git(other, "commit", "-q", "-m", "no more sharing")
    git(other, "push", "-q")
    out = kargo.run("pull").stdout
    assert ("  D\tconfigs/shared (submodule removed; its folder is kept: it holds files of "
            "yours)\n") in out, out
    assert (ws / "configs/shared/notes.txt").exists()
