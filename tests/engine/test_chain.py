"""Only what changed, across workspaces that extend each other, on the real
Swarm: a workspace extending a base (KARGO_EXTENDS=../base) deploys the
base's files and variables; a change to a base file or variable sends exactly
the service that reads it; a change to the workspace's own file sends only
what reads it; a base file the workspace overrides sends nothing, and the
override deleted puts the base's back. Every assertion is on the engine's
state: each service's version, spec and previous spec, and the stack's
configs (stack_fixtures.py: stack A runs `web`, which reads the config
configs/web/web.conf and GREETING, and `cache`; stack B runs `worker`)."""
import pytest

from stack_fixtures import WORKER_YML, sent, stackenv  # noqa: F401
from support import write

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


class Engine:
    """What the engine holds of the test's stacks before a deploy, to say
    after it what the deploy changed. Read from the services and configs
    themselves, not from dockerd's events: dockerd keeps only its last 256
    events in memory, which the other tests running beside this one push out
    within seconds (seen in CI: the update of a service kargo had sent was
    gone from the events)."""

    def __init__(self, env):
        self.env = env
        services = env.services()
        self.specs = {name: s["Spec"] for name, s in services.items()}
        self.versions = {name: s["Version"]["Index"] for name, s in services.items()}
        self.configs = set(env.configs(env.a))

    def sent_once(self, *names):
        """Assert that `names` each got one new spec (the one they had before
        is now their previous spec) and the other services nothing at all:
        their version is the same (a spec sent again unchanged moves it)."""
        for name, service in self.env.services().items():
            if name in names:
                assert service["Spec"] != self.specs[name], f"{name} was not updated"
                assert service.get("PreviousSpec") == self.specs[name], f"{name}: updated twice"
            else:
                assert service["Version"]["Index"] == self.versions[name], f"{name} was updated"

    def new_configs(self):
        return set(self.env.configs(self.env.a)) - self.configs


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
    engine = Engine(env)
    proc = deploy_ok(env)
    assert sent(proc) == [env.a] and f"deploy {env.a}: web (changed)" in proc.stdout
    engine.sent_once(web)
    assert len(engine.new_configs()) == 1
    assert read_in(env, web, "/etc/web.conf") == "level = base 2\n"

    # a base's variable read by web only
    write(base / ".env", "GREETING=from-base-2\n")
    engine = Engine(env)
    proc = deploy_ok(env)
    assert sent(proc) == [env.a]
    engine.sent_once(web)
    assert engine.new_configs() == set()
    assert greeting(env, web) == ["GREETING=from-base-2"]

    # the workspace's own file (worker's compose file): worker only
    write(env.kargo.workspace / "deploy/worker.yml",
          WORKER_YML.replace('"sleep", "3600"', '"sleep", "3602"'))
    engine = Engine(env)
    proc = deploy_ok(env)
    assert sent(proc) == [env.b]
    engine.sent_once(worker)
    assert engine.new_configs() == set()
    assert env.inspect(worker)["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"] == \
        ["sleep", "3602"]

    # a base file the workspace overrides: the override runs, a base change sends nothing
    write(env.kargo.workspace / "configs/web/web.conf", "level = workspace\n")
    deploy_ok(env)
    assert read_in(env, web, "/etc/web.conf") == "level = workspace\n"
    write(base / "configs/web/web.conf", "level = base 3\n")
    engine = Engine(env)
    assert env.run("deploy").stdout == ""
    engine.sent_once()
    assert engine.new_configs() == set()

    # the override deleted: the base's file again (not the defaults'), web only
    (env.kargo.workspace / "configs/web/web.conf").unlink()
    before = env.versions()
    engine = Engine(env)
    proc = deploy_ok(env)
    assert sent(proc) == [env.a]
    engine.sent_once(web)  # with a new config of the base's text
    assert len(engine.new_configs()) == 1
    assert read_in(env, web, "/etc/web.conf") == "level = base 3\n"
    after = env.versions()
    assert after[cache] == before[cache] and after[worker] == before[worker]
