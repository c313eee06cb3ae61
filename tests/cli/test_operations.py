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
