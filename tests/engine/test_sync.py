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


def _config_text(env, service):
    """The content of the first config `service` mounts, read from the engine."""
    import base64
    configs = env.inspect(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"]
    data = env.client.api.inspect_config(configs[0]["ConfigID"])["Spec"]["Data"]
    return base64.b64decode(data).decode()


def test_sync_deploys_what_a_submodule_brought(synced, tmp_path):
    """The web configs are a submodule of the workspace (shared with other
    workspaces): upstream adds it, then bumps it; sync brings its files and
    moves the service reading them, and nothing else."""
    env = synced
    web, cache, worker = (env.service(env.a, "web"), env.service(env.a, "cache"),
                          env.service(env.b, "worker"))
    url, shared = env.git.shared(tmp_path, "shared", {"web.conf": "level = 3\n"})
    env.git.add_submodule(env.other, url, "configs/web", "web configs from the shared repo")
    first = env.run("sync", check=False)
    assert first.returncode == SYNCED, first.stderr
    assert "  A\tconfigs/web/web.conf\n" in first.stdout
    assert _config_text(env, web) == "level = 3\n"  # the submodule's, over the defaults'

    env.git.push(shared, "web.conf", "level = 4\n", "level 4 everywhere")
    env.git.bump(env.other, "configs/web", "newer shared web configs")
    before = env.versions()
    since = env.now()
    proc = env.run("sync", check=False)
    assert proc.returncode == SYNCED, proc.stderr
    assert " newer shared web configs\n" in proc.stdout
    assert "  M\tconfigs/web/web.conf\n" in proc.stdout
    assert f"deploy {env.a}: web (changed)" in proc.stdout
    assert sent(proc) == [env.a]
    assert {name for _type, _action, name in env.mutations(since) if _type == "service"} == {web}
    after = env.versions()
    assert after[cache] == before[cache] and after[worker] == before[worker]
    assert _config_text(env, web) == "level = 4\n"
    # the submodule is where upstream has it: nothing to commit, nothing more to do
    assert env.git(env.kargo.workspace, "status", "--porcelain") == ""
    again = env.run("sync", check=False)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


LOADER_DOCKERFILE = """\
FROM {image}
ARG MODEL
# the loader's sources cannot be fetched from here
RUN wget -q -T 5 http://127.0.0.1:9/$MODEL.tar.gz
"""


def test_sync_builds_no_image_that_no_stack_runs(synced, tmp_path):
    """The workspace's catalog holds a Weacast loader no stack runs, whose
    sources cannot be fetched: sync neither builds it nor fails on it."""
    env = synced
    ws = env.kargo.workspace
    loader = "arome-france-loader"
    write(ws / "images/weacast-loader/Dockerfile", LOADER_DOCKERFILE.format(image=env.image))
    write(ws / ".env", 'WEACAST_MODELS="arome-france"\n'
                       f"AROME_FRANCE_LOADER_IMAGE=127.0.0.1:5000/kargo-test-{env.name}/loader\n")
    env.git(ws, "add", "-A")
    env.git(ws, "commit", "-q", "-m", "a loader no stack runs")
    env.git(ws, "push", "-q")
    assert f"build:{loader}" in env.run("list").stdout  # listed like every image
    plan = env.run("plan", check=False)
    assert plan.returncode == 4 and "deploy\n" in plan.stdout, plan.stdout
    assert "build:" not in plan.stdout

    proc = env.run("sync", check=False)
    assert proc.returncode == SYNCED, proc.stderr
    assert f"build:{loader}" not in proc.stdout
    assert sent(proc) == [env.a, env.b]
    assert env.running(env.service(env.b, "worker"))
    assert env.run("sync", check=False).returncode == 0
    # named, it is built, and fails for what it is
    named = env.run(f"build:{loader}", check=False)
    assert named.returncode == 1
    assert f"build:{loader}" in named.stderr and "returned a non-zero code" in named.stderr
