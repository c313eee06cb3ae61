"""`doit sync` on the real Swarm with a real git: the workspace is a clone of
a bare repository; another operator pushes; sync brings the commits and
moves only the services they reach, then does nothing while nothing new
comes; a workspace it cannot fast-forward is one line, nothing deployed."""
import pytest

from stack_fixtures import sent, stackenv  # noqa: F401
from support import Git, write

pytestmark = pytest.mark.slow

SYNCED = 5


@pytest.fixture
def synced(stackenv, tmp_path):
    env = stackenv
    git = Git(tmp_path / "home")
    env.kargo.env["HOME"] = git.env["HOME"]
    workspace, other = git.upstream(tmp_path, "# the operator's settings, in git\n")
    env.kargo.env["KARGO_WORKSPACE"] = str(workspace)
    env.kargo.workspace = workspace
    env.git, env.other = git, other
    return env


def test_sync_moves_what_the_pull_changed_and_then_nothing(synced):
    env = synced
    web, cache, worker = (env.service(env.a, "web"), env.service(env.a, "cache"),
                          env.service(env.b, "worker"))
    first = env.run("sync", check=False)
    assert first.returncode == SYNCED, first.stderr  # nothing pulled, everything deployed
    assert sent(first) == [env.a, env.b]
    assert env.run("sync", check=False).returncode == 0

    env.git.push(env.other, "configs/web/web.conf", "level = 5\n", "web at level 5")
    env.git.push(env.other, ".env", "WORKER_REPLICAS=3\n", "three workers")
    before = env.versions()
    since = env.now()
    proc = env.run("sync", check=False)
    assert proc.returncode == SYNCED, proc.stderr
    assert "pulled 2 commits from origin/main:" in proc.stdout
    assert " web at level 5\n" in proc.stdout and " three workers\n" in proc.stdout
    assert f"deploy {env.a}: web (changed)" in proc.stdout
    assert f"deploy {env.b}: worker (changed)" in proc.stdout
    assert {name for _type, action, name in env.mutations(since) if _type == "service"} == {
        web, worker}
    after = env.versions()
    assert after[cache] == before[cache]
    assert env.inspect(worker)["Spec"]["Mode"]["Replicated"]["Replicas"] == 3
    again = env.run("sync", check=False)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


@pytest.mark.parametrize("how", ["dirty", "diverged"])
def test_sync_refuses_what_it_cannot_fast_forward(synced, how):
    env = synced
    env.run("sync", check=False)
    before = env.versions()
    env.git.push(env.other, ".env", "WORKER_REPLICAS=3\n", "three workers")
    write(env.kargo.workspace / ".env", "WORKER_REPLICAS=4\n")
    if how == "diverged":
        env.git(env.kargo.workspace, "commit", "-q", "-am", "four workers, locally")
    proc = env.run("sync", check=False)
    assert proc.returncode == 3
    line, = [line for line in proc.stderr.splitlines() if line.strip()]
    expected = ("has uncommitted changes (.env)" if how == "dirty" else
                "has diverged from origin/main (1 local, 1 upstream commits)")
    assert line.startswith(f"kargo: sync: {env.kargo.workspace}: the workspace {expected}"), line
    assert proc.stdout == ""
    assert env.versions() == before  # nothing deployed
