"""Only what changed, across workspaces that extend each other, on the real
Swarm: a workspace extending a base (KARGO_EXTENDS=../base) deploys the
base's files and variables; a change to a base file or variable sends exactly
the service that reads it; a change to the workspace's own file sends only
what reads it; a base file the workspace overrides sends nothing, and the
override deleted puts the base's back. Every assertion is on the engine's
state and event stream (stack_fixtures.py: stack A runs `web`, which reads
the config configs/web/web.conf and GREETING, and `cache`; stack B runs
`worker`)."""
import pytest

from stack_fixtures import WORKER_YML, sent, stackenv  # noqa: F401
from support import retry, write

pytestmark = pytest.mark.slow


def deploy_ok(env):
    proc = env.run("deploy")
    for name, spec in env.services().items():
        want = spec["Spec"]["Mode"]["Replicated"]["Replicas"]
        assert len(env.running(name)) == want, f"{name}: not converged\n{proc.stdout}"
    return proc


def read_in(env, service, path):
    task = env.running(service)[0]
    container = env.client.containers.get(task["Status"]["ContainerStatus"]["ContainerID"])
    result = container.exec_run(["/bin/busybox", "cat", path])
    assert result.exit_code == 0, result.output
    return result.output.decode()


def services_changed(env, since):
    """The engine operations since `since` but config removals (kargo prunes
    the config version two deploys back: not a change sent)."""
    return {key: n for key, n in env.mutations(since).items() if key[:2] != ("config", "remove")}


def changed_to(env, since, expected):
    """Assert that the engine operations since `since` come to `expected`,
    waiting a while for them: dockerd makes a Swarm service's events from its
    watch of the cluster's store, after the API call that made the change
    has returned (on a busy machine, after the deploy has; seen in CI)."""
    def check():
        assert services_changed(env, since) == expected
    error = retry(check, timeout=15)
    assert error is None, f"{error}"


def web_and_its_config(env, since, web):
    """Assert that the engine, since `since`, made one config and updated
    web once, and nothing else (config removals of kargo's pruning aside)."""
    def check():
        changed = services_changed(env, since)
        assert len(changed) == 2 and changed.get(("service", "update", web)) == 1, changed
        assert [key[:2] for key in changed if key[0] == "config"] == [("config", "create")]
    error = retry(check, timeout=15)
    assert error is None, f"{error}"


def greeting(env, service):
    return [e for e in env.inspect(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
            if e.startswith("GREETING=")]


def test_a_base_change_sends_exactly_what_reads_it(stackenv):
    env = stackenv
    web, cache, worker = (env.service(env.a, "web"), env.service(env.a, "cache"),
                          env.service(env.b, "worker"))
    base = env.kargo.workspace.parent / "base"
    write(base / ".env", "GREETING=from-base\n")
    write(base / "configs/web/web.conf", "level = base\n")
    env.set_env("KARGO_EXTENDS=../base\n")
    deploy_ok(env)
    assert read_in(env, web, "/etc/web.conf") == "level = base\n"
    assert greeting(env, web) == ["GREETING=from-base"]
    assert env.run("deploy").stdout == ""

    # a base's file read by web only: web's config and web, nothing else
    write(base / "configs/web/web.conf", "level = base 2\n")
    since = env.now()
    proc = deploy_ok(env)
    assert sent(proc) == [env.a] and f"deploy {env.a}: web (changed)" in proc.stdout
    web_and_its_config(env, since, web)
    assert read_in(env, web, "/etc/web.conf") == "level = base 2\n"

    # a base's variable read by web only
    write(base / ".env", "GREETING=from-base-2\n")
    since = env.now()
    proc = deploy_ok(env)
    assert sent(proc) == [env.a]
    # the config two versions back (the base's first web.conf) is pruned now
    changed_to(env, since, {("service", "update", web): 1})
    assert greeting(env, web) == ["GREETING=from-base-2"]

    # the workspace's own file (worker's compose file): worker only
    write(env.kargo.workspace / "deploy/worker.yml",
          WORKER_YML.replace('"sleep", "3600"', '"sleep", "3602"'))
    since = env.now()
    proc = deploy_ok(env)
    assert sent(proc) == [env.b]
    changed_to(env, since, {("service", "update", worker): 1})
    assert env.inspect(worker)["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == \
        ["sleep", "3602"]

    # a base file the workspace overrides: the override runs, a base change sends nothing
    write(env.kargo.workspace / "configs/web/web.conf", "level = workspace\n")
    deploy_ok(env)
    assert read_in(env, web, "/etc/web.conf") == "level = workspace\n"
    write(base / "configs/web/web.conf", "level = base 3\n")
    since = env.now()
    assert env.run("deploy").stdout == ""
    assert env.mutations(since) == {}

    # the override deleted: the base's file again (not the defaults'), web only
    (env.kargo.workspace / "configs/web/web.conf").unlink()
    before = env.versions()
    since = env.now()
    proc = deploy_ok(env)
    assert sent(proc) == [env.a]
    web_and_its_config(env, since, web)  # web's config with the base's text, then web
    assert read_in(env, web, "/etc/web.conf") == "level = base 3\n"
    after = env.versions()
    assert after[cache] == before[cache] and after[worker] == before[worker]
