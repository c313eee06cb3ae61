"""`doit deploy` / `remove` / `update` / `redeploy` / `labels` on the real Swarm.

Every assertion is on the engine's own state (service versions, task ids,
configs, node labels, the event stream), never only on what kargo printed.
The root of each test (see stack_fixtures.py): stack A runs `web` (with a
config file and GREETING/MOTTO in its environment) and `cache`; stack B runs
`worker` (2 replicas) and depends on A.
"""
import re
import stat
import subprocess
import time

import pytest

from labels_helpers import manager_node, set_node_labels
from stack_fixtures import DEPLOY_TIMEOUT, removed, sent, stackenv  # noqa: F401
from support import write

from kargo_tasks.engine.labels import managed_key

pytestmark = pytest.mark.slow


def ran(proc):
    """The tasks a doit run executed (the reporter prints `.  <task>`)."""
    return [line[3:] for line in proc.stdout.splitlines() if line.startswith(".  ")]


def errors(text):
    return [line for line in text.splitlines() if line.strip()]


def running_tasks(env, service):
    return {t["ID"] for t in env.running(service)}


def deploy_ok(env, *args):
    proc = env.run("deploy", *args)
    for name, spec in env.services().items():
        want = spec["Spec"]["Mode"]["Replicated"]["Replicas"]
        if len(env.running(name)) != want:
            states = [(t["Status"]["State"], t["Status"].get("Err"))
                      for t in env.client.api.tasks(filters={"service": name})]
            pytest.fail(f"{name}: not converged after deploy; tasks: {states}\n{proc.stdout}")
    return proc


def test_deploy_converges_then_second_deploy_changes_nothing(stackenv):
    env = stackenv
    web, cache, worker = (env.service(env.a, "web"), env.service(env.a, "cache"),
                          env.service(env.b, "worker"))
    proc = deploy_ok(env)
    assert ran(proc)[-1] == "deploy" and sent(proc) == [env.a, env.b]
    services = env.services()
    assert set(services) == {web, cache, worker}
    assert services[worker]["Spec"]["Mode"]["Replicated"]["Replicas"] == 2
    assert len(env.running(worker)) == 2 and len(env.running(web)) == 1
    for spec in services.values():
        assert spec["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"

    before, tasks = env.versions(), {s: running_tasks(env, s) for s in services}
    since = env.now()
    again = env.run("deploy")
    until = env.now()
    assert again.stdout == "" and again.stderr == ""
    assert env.versions() == before
    assert {s: running_tasks(env, s) for s in services} == tasks
    assert env.service_events(since, until) == []


def test_config_file_change_rolls_only_the_service_using_it(stackenv):
    env = stackenv
    web, cache, worker = (env.service(env.a, "web"), env.service(env.a, "cache"),
                          env.service(env.b, "worker"))
    deploy_ok(env)
    old_config = _config_names(env.inspect(web))
    assert len(old_config) == 1 and env.configs(env.a) == old_config
    before = env.versions()
    tasks = {s: running_tasks(env, s) for s in (web, cache, worker)}

    write(env.kargo.workspace / "configs/web/web.conf", "level = 2\n")
    since = env.now()
    proc = deploy_ok(env)
    events = env.service_events(since)
    after = env.versions()

    assert sent(proc) == [env.a]
    new_config = _config_names(env.inspect(web))
    assert len(new_config) == 1 and new_config != old_config
    # same config key, new content hash: `<project>_<key>_<sha256[:12]>`
    assert new_config[0].rsplit("_", 1)[0] == old_config[0].rsplit("_", 1)[0]
    # the old version is kept (a rollback needs it) until a later deploy
    assert env.configs(env.a) == sorted(old_config + new_config)
    # web rolled: new spec version, new task
    assert after[web][1] > before[web][1] and after[web][2] != before[web][2]
    assert running_tasks(env, web).isdisjoint(tasks[web])
    assert _read_in_container(env, web, "/etc/web.conf") == b"level = 2\n"
    # cache shares the stack but did not change: it is not sent at all (no
    # new version, no event), and the deploy says what it sent and why
    assert after[cache] == before[cache]
    assert running_tasks(env, cache) == tasks[cache]
    assert not [e for e in events if e[1] == cache]
    assert f"deploy {env.a}: web (changed)" in proc.stdout, proc.stdout
    assert [e for e in events if e[1] == web and e[2].get("updatestate.new") == "updating"]
    # the other stack is not touched at all
    assert after[worker] == before[worker]
    assert running_tasks(env, worker) == tasks[worker]
    assert not [e for e in events if e[1] == worker]
    # the engine operations of the change are the minimal set (bench P3)
    assert env.mutations(since) == {("config", "create", new_config[0]): 1,
                                    ("service", "update", web): 1}

    # one more change: the version before the previous one is removed now
    write(env.kargo.workspace / "configs/web/web.conf", "level = 3\n")
    since = env.now()
    deploy_ok(env)
    newest = _config_names(env.inspect(web))
    assert env.configs(env.a) == sorted(new_config + newest)
    assert env.mutations(since) == {("config", "create", newest[0]): 1,
                                    ("service", "update", web): 1,
                                    ("config", "remove", old_config[0]): 1}


def _read_in_container(env, service, path):
    task = env.running(service)[0]
    container = env.client.containers.get(task["Status"]["ContainerStatus"]["ContainerID"])
    result = container.exec_run(["/bin/busybox", "cat", path])
    assert result.exit_code == 0, result.output
    return result.output


def _config_names(service):
    refs = service["Spec"]["TaskTemplate"]["ContainerSpec"].get("Configs") or []
    return sorted(ref["ConfigName"] for ref in refs)


def test_env_change_updates_only_the_stack_reading_it(stackenv):
    env = stackenv
    worker = env.service(env.b, "worker")
    deploy_ok(env)
    before = env.versions()
    env.set_env("WORKER_REPLICAS=3\nUNRELATED=1\n")
    since = env.now()
    proc = deploy_ok(env)
    events = env.service_events(since)
    after = env.versions()
    assert ran(proc) == [f"_stack:{env.b}", "deploy"] and sent(proc) == [env.b]
    assert env.inspect(worker)["Spec"]["Mode"]["Replicated"]["Replicas"] == 3
    assert len(env.running(worker)) == 3
    assert after[worker][1] > before[worker][1]
    assert {k: v for k, v in after.items() if k != worker} == \
        {k: v for k, v in before.items() if k != worker}
    assert {e[1] for e in events} == {worker}


def test_a_variable_one_service_reads_sends_that_service_only(stackenv):
    # GREETING is read by web, not by cache, which shares web's stack
    env = stackenv
    web, cache = env.service(env.a, "web"), env.service(env.a, "cache")
    deploy_ok(env)
    before = env.versions()
    tasks = running_tasks(env, cache)
    env.set_env("GREETING=bonjour\n")
    since = env.now()
    proc = deploy_ok(env)
    assert sent(proc) == [env.a] and f"deploy {env.a}: web (changed)\n" in proc.stdout
    assert env.mutations(since) == {("service", "update", web): 1}
    after = env.versions()
    assert after[cache] == before[cache] and running_tasks(env, cache) == tasks
    assert "GREETING=bonjour" in env.inspect(web)["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]


def test_a_service_changed_outside_kargo_gets_kargos_spec_back(stackenv):
    env = stackenv
    web, worker = env.service(env.a, "web"), env.service(env.b, "worker")
    deploy_ok(env)
    specs = {name: env.inspect(name)["Spec"] for name in (web, worker)}
    for args in (["update", "--env-add", "INTRUDER=1", web], ["scale", f"{worker}=3"]):
        subprocess.run(["docker", "service", *args[:1], "--detach", *args[1:]], check=True,
                       capture_output=True)
    assert env.inspect(worker)["Spec"]["Mode"]["Replicated"]["Replicas"] == 3
    proc = deploy_ok(env)
    assert f"deploy {env.a}: web (changed outside kargo)" in proc.stdout, proc.stdout
    assert f"deploy {env.b}: worker (changed outside kargo)" in proc.stdout
    assert {name: env.inspect(name)["Spec"] for name in (web, worker)} == specs
    assert len(env.running(worker)) == 2
    assert env.run("deploy").stdout == ""


def test_stack_removed_behind_kargos_back_is_redeployed(stackenv):
    env = stackenv
    deploy_ok(env)
    before = env.versions()
    env.docker_stack_rm(env.a)
    env.wait_gone(env.a)
    assert env.services(env.a) == {} and env.configs(env.a) == []

    proc = deploy_ok(env)
    assert ran(proc) == ["deploy"] and sent(proc) == [env.a]
    after = env.versions()
    for name in (env.service(env.a, "web"), env.service(env.a, "cache")):
        assert after[name][0] != before[name][0], f"{name} was not recreated"
        assert len(env.running(name)) == 1
    worker = env.service(env.b, "worker")
    assert after[worker] == before[worker]
    assert len(env.configs(env.a)) == 1
    # and now it is up to date again
    assert env.run("deploy").stdout == ""


CRASH_YML = """
version: "3.8"
services:
  crash:
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo starting; exit 1"]
    stop_grace_period: 1s
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""


def test_service_that_exits_fails_the_deploy_fast_and_stays_stale(stackenv):
    env = stackenv
    c = f"{env.name}-c"
    env.extra_stacks.append(c)
    env.set_env(f'STACKS="{env.a} {env.b} {c}"\n{env.prefix(c)}_STACK="crash"\n')
    write(env.kargo.workspace / "deploy/crash.yml", CRASH_YML)
    crash = env.service(c, "crash")

    for attempt in (1, 2):
        start = time.monotonic()
        proc = env.run(f"deploy:{c}", check=False)
        elapsed = time.monotonic() - start
        assert proc.returncode != 0, proc.stdout
        assert f"deploy:{c}" in ran(proc), f"run {attempt}: the failed deploy was not retried"
        # the scheduler's own words for the failed tasks, as `docker service ps` says them
        assert errors(proc.stderr) == [
            f"kargo: deploy:{c}: service {crash} failed: 0/1 running, 3 failed: "
            "task: non-zero exit (1)"], proc.stderr
        # failed tasks end the wait: far from KARGO_DEPLOY_TIMEOUT
        assert elapsed < DEPLOY_TIMEOUT * 0.75, f"run {attempt} took {elapsed:.0f}s"
    # only the stack asked for was deployed
    assert set(env.services()) == {crash}
    tasks = env.client.api.tasks(filters={"service": crash})
    assert any(t["Status"]["State"] == "failed" for t in tasks)


def test_the_stability_window_holds_a_service_whose_tasks_exit_after_two_seconds(stackenv):
    """kargo's own window of stable tasks (swarm.STABLE, 3 s, docker's): a
    service whose every task runs 2 s and exits never counts as converged,
    the deploy fails naming it. The other tests shorten the window
    (support.STABLE_SECONDS); this one runs with kargo's."""
    env = stackenv
    env.kargo.env.pop("KARGO_STABLE_SECONDS")
    c = f"{env.name}-c"
    env.extra_stacks.append(c)
    env.set_env(f'STACKS="{env.a} {env.b} {c}"\n{env.prefix(c)}_STACK="crash"\n')
    write(env.kargo.workspace / "deploy/crash.yml",
          CRASH_YML.replace('"echo starting; exit 1"', '"sleep 2; exit 1"'))
    proc = env.run(f"deploy:{c}", check=False)
    assert proc.returncode != 0, proc.stdout
    assert f"service {env.service(c, 'crash')} failed: " in proc.stderr, proc.stderr


# Three replicas updated one at a time (docker's default parallelism): a task
# of the new spec that fails stops the update (pauses it, docker's default,
# or rolls it back: FLAKY_FAILURE_ACTION) with the others still on the old
# spec. The marker file makes the first task after it fail, once.
FLAKY_YML = """
version: "3.8"
services:
  flaky:
    image: ${BUSYBOX}
    command: ["sh", "-c", "if [ -e /m/fail ]; then rm /m/fail; exit 1; fi; exec sleep 3600"]
    stop_grace_period: 1s
    environment:
      LEVEL: ${FLAKY_LEVEL:-1}
    volumes:
      - type: bind
        source: ${FLAKY_DIR}
        target: /m
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      update_config:
        failure_action: ${FLAKY_FAILURE_ACTION:-pause}
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""


def _flaky_stack(env, tmp_path, extra=""):
    """Stack c: service `flaky` (FLAKY_YML), deployed and converged on
    LEVEL=1; (the stack's name, the workspace .env that made it, the marker
    file that makes the next task fail)."""
    c = f"{env.name}-c"
    env.extra_stacks.append(c)
    base = (f'STACKS="{env.a} {env.b} {c}"\n{env.prefix(c)}_STACK="flaky"\n'
            f"FLAKY_DIR={tmp_path}\n{extra}")
    env.set_env(base)
    write(env.kargo.workspace / "deploy/flaky.yml", FLAKY_YML)
    env.run(f"deploy:{c}")
    return c, base, tmp_path / "fail"


def _levels(env, name):
    return sorted(next(e for e in t["Spec"]["ContainerSpec"]["Env"] if e.startswith("LEVEL="))
                  for t in env.running(name))


def test_an_update_the_engine_rolled_back_names_the_task_it_rolled_back_on(stackenv, tmp_path):
    """kargo's default services roll back a failed update
    (`failure_action: rollback`): the deploy fails naming the error of the
    task the engine rolled back on (a task of the spec it left, looked up),
    the services run the spec before, and the next deploy sends it again."""
    env = stackenv
    c, base, marker = _flaky_stack(env, tmp_path, "FLAKY_FAILURE_ACTION=rollback\n")
    flaky = env.service(c, "flaky")
    marker.touch()
    env.set_env(base + "FLAKY_LEVEL=2\n")
    proc = env.run(f"deploy:{c}", check=False)
    assert proc.returncode != 0, proc.stdout
    # the engine's words depend on when kargo looked: "update rolled back due
    # to failure or early termination of task <id>" while it rolls back,
    # "rollback completed" after; the task's error either way
    lines = errors(proc.stderr)
    assert len(lines) == 1 and re.fullmatch(
        rf"kargo: deploy:{c}: service {flaky} failed: update rollback_(started: update rolled back "
        r"due to failure or early termination of task \w+|completed: rollback completed) "
        r"\(task: non-zero exit \(1\)\)", lines[0]), proc.stderr
    proc = env.run(f"deploy:{c}")
    assert f"deploy {c}: flaky (changed)" in proc.stdout, proc.stdout
    assert _levels(env, flaky) == ["LEVEL=2"] * 3


def test_an_update_the_engine_rolled_back_on_its_race_is_sent_again(stackenv, tmp_path, capsys):
    """kargo's deploy (schedule.deploy, in this process) sends a service the
    engine rolled back on its own race again: the rollback put the spec
    before back, the deploy's spec is sent once more and converges on every
    replica, and the deploy records it (the next one sends nothing). The race
    cannot be made on demand: the deploy is given the task's failure as the
    transient one (the rule for the race's words is unit-tested)."""
    from kargo_tasks.deploy import schedule
    from kargo_tasks.operations.project import load
    env = stackenv
    c, base, marker = _flaky_stack(env, tmp_path, "FLAKY_FAILURE_ACTION=rollback\n")
    flaky = env.service(c, "flaky")
    marker.touch()
    env.set_env(base + "FLAKY_LEVEL=2\n")
    env.run("configure", "_stack")
    project = load(env.kargo.root, shell=dict(env.kargo.env))
    schedule.deploy(project, [project.catalog.stacks[c]],
                    transient=lambda error: error == "task: non-zero exit (1)")
    out = capsys.readouterr().out
    assert f"{flaky}  the engine failed to start a task (task: non-zero exit (1)) and rolled " \
           "the update back: sending it again" in out, out
    assert not marker.exists()
    assert _levels(env, flaky) == ["LEVEL=2"] * 3
    assert sent(env.run(f"deploy:{c}")) == []


def test_a_paused_update_names_its_task_error_and_an_engine_race_is_resumed(stackenv, tmp_path):
    """The engine pauses an update on a failed task of the new spec
    (failure_action pause, docker's default): the deploy fails naming that
    task's error. When the error is the engine's own race (moby/moby#48783,
    convergence.ENGINE_RACE), kargo's wait resumes the update as `docker
    service update --force` does: all replicas reach the new spec, the spec
    stays the one kargo sent (its tasks stay as they are when it is sent
    again). The race cannot be made on demand, so the wait is given this
    failure as the transient one; the rule that recognises the race's text
    is unit-tested."""
    from kargo_tasks.engine import swarm
    env = stackenv
    c, base, marker = _flaky_stack(env, tmp_path)
    flaky = env.service(c, "flaky")
    assert _levels(env, flaky) == ["LEVEL=1"] * 3
    marker.touch()
    env.set_env(base + "FLAKY_LEVEL=2\n")
    proc = env.run(f"deploy:{c}", check=False)
    assert proc.returncode != 0, proc.stdout
    paused = env.inspect(flaky)["UpdateStatus"]
    assert paused["State"] == "paused", paused
    assert errors(proc.stderr) == [
        f"kargo: deploy:{c}: service {flaky} failed: update paused: {paused['Message']} "
        "(task: non-zero exit (1))"], proc.stderr
    assert not marker.exists()
    # the next run knows kargo's own failed deploy left the service so
    plan = env.run("plan", check=False)
    assert f"service {flaky} was sent by a deploy that failed" in plan.stdout, plan.stdout
    assert "outside kargo" not in plan.stdout, plan.stdout

    spec = env.inspect(flaky)["Spec"]
    waiting = swarm.Convergence(DEPLOY_TIMEOUT, 1.0,
                                transient=lambda error: error == "task: non-zero exit (1)")
    waiting.add(env.project(c))
    assert list(waiting.settle([env.project(c)])) == [(env.project(c), [])]
    assert waiting.resumed == {flaky: 1}
    assert _levels(env, flaky) == ["LEVEL=2"] * 3
    # resumed as `docker service update --force` does: ForceUpdate bumped, all else the same
    spec["TaskTemplate"]["ForceUpdate"] = spec["TaskTemplate"].get("ForceUpdate", 0) + 1
    assert env.inspect(flaky)["Spec"] == spec
    # the failed deploy was not recorded: the next one sends the stack again
    # (the resume above was made outside kargo's runs), the same spec, and
    # the engine keeps every task; the one after sends nothing
    tasks = sorted(t["ID"] for t in env.running(flaky))
    proc = env.run(f"deploy:{c}")
    assert f"deploy {c}: flaky (changed outside kargo)" in proc.stdout, proc.stdout
    assert sorted(t["ID"] for t in env.running(flaky)) == tasks
    assert sent(env.run(f"deploy:{c}")) == []


@pytest.mark.swarm
def test_node_labels_and_constraints_pin_a_service(stackenv):
    env, client = stackenv, stackenv.client
    node = manager_node(client)
    host = node.attrs["Description"]["Hostname"]
    node_var = f"{env.prefix(host)}_LABELS"
    original = dict(node.attrs["Spec"].get("Labels") or {})
    key, manual = f"kt_role_{env.name[3:]}", f"kt_manual_{env.name[3:]}"
    web = env.service(env.a, "web")
    constraint = f"node.labels.{key}==db"
    managed = managed_key(env.kargo.root)  # this root's record of the keys it set
    try:
        set_node_labels(client, {manual: "keep"})
        env.set_env(f'{node_var}="{key}=db"\nWEB_CONSTRAINTS="{constraint}"\n')
        proc = env.run("deploy")
        assert f"labels of {host}: " in proc.stdout, proc.stdout
        labels = manager_node(client).attrs["Spec"]["Labels"]
        assert key in labels, labels
        assert labels[key] == "db" and labels[manual] == "keep"
        assert key in labels[managed].split(",")
        spec = env.inspect(web)["Spec"]
        assert constraint in spec["TaskTemplate"]["Placement"]["Constraints"]
        tasks = env.running(web)
        assert len(tasks) == 1 and tasks[0]["NodeID"] == node.id
        # recording the labels the constraint reads does not make it stale
        assert deploy_ok(env).stdout == ""

        # the operator drops the node's labels, keeps the constraint
        env.set_env(f'WEB_CONSTRAINTS="{constraint}"\n')
        proc = env.run("deploy", check=False, env={"KARGO_DEPLOY_TIMEOUT": "8"})
        labels = manager_node(client).attrs["Spec"].get("Labels") or {}
        assert key not in labels, "kargo did not remove the label it had added"
        assert labels.get(manual) == "keep", "kargo removed a label it did not add"
        assert managed not in labels
        # web cannot be placed anywhere now: the deploy says so, naming it
        assert proc.returncode != 0, proc.stdout
        assert ran(proc) == ["deploy"] and sent(proc) == [env.a]
        assert web in proc.stderr and "constraints" in proc.stderr, proc.stderr
        assert env.running(web) == []
    finally:
        restore = {k: original.get(k) for k in (key, manual, managed)}
        set_node_labels(client, restore)


def test_remove_update_force_and_redeploy(stackenv):
    env = stackenv
    web, cache, worker = (env.service(env.a, "web"), env.service(env.a, "cache"),
                          env.service(env.b, "worker"))
    deploy_ok(env)

    # remove: every stack, and only back once their services are gone (the
    # order is test_remove_goes_dependent_stack_first's)
    proc = env.run("remove")
    assert ran(proc) == ["remove"] and sorted(removed(proc)) == sorted([env.a, env.b])
    assert env.services() == {}
    assert env.stack_gone(env.a) and env.stack_gone(env.b)
    assert env.run("remove").stdout == ""  # nothing left to remove

    # update --force: same spec, ForceUpdate bumped, tasks replaced; the
    # next deploy sends nothing
    deploy_ok(env)
    before = {name: env.inspect(name) for name in (web, cache, worker)}
    tasks = {name: running_tasks(env, name) for name in (web, cache)}
    proc = env.run(f"update:{env.a}", "--force")
    assert ran(proc) == [f"update:{env.a}"]
    for name in (web, cache):
        now = env.inspect(name)
        assert now["Version"]["Index"] > before[name]["Version"]["Index"]
        assert (now["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
                == before[name]["Spec"]["TaskTemplate"].get("ForceUpdate", 0) + 1)
        assert len(env.running(name)) == 1, f"{name} did not converge"
        assert running_tasks(env, name).isdisjoint(tasks[name]), f"{name} not restarted"
    assert env.inspect(worker)["Version"] == before[worker]["Version"]
    # kargo's own update: the next deploy takes it for kargo's, sends nothing
    assert env.run("deploy").stdout == ""

    # redeploy: remove the stack, then deploy it again (new services)
    ids = env.versions()
    proc = env.run(f"redeploy:{env.a}")
    assert ran(proc) == [f"redeploy:{env.a}"]
    assert proc.stdout.index(f"remove {env.a}") < proc.stdout.index(f"deploy {env.a}")
    after = env.versions()
    assert after[web][0] != ids[web][0] and after[cache][0] != ids[cache][0]
    assert after[worker] == ids[worker]
    assert len(env.running(web)) == 1 and len(env.running(cache)) == 1
    assert env.run("deploy").stdout == ""


def test_remove_goes_dependent_stack_first(stackenv):
    env = stackenv
    deploy_ok(env)
    since = env.now()
    proc = env.run(f"remove:{env.a}")
    gone = [name for action, name, _ in env.service_events(since) if action == "remove"]
    assert env.services() == {}
    # remove:A removes B first: B (worker) depends on A
    assert ran(proc) == [f"remove:{env.a}"] and removed(proc) == [env.b, env.a]
    assert gone[0] == env.service(env.b, "worker") and len(gone) == 3


HOOK = """#!/bin/sh
echo "{word}" >> "$HOOK_LOG"
"""


def test_hooks_run_around_the_deploy_and_fail_it(stackenv, tmp_path):
    env = stackenv
    web = env.service(env.a, "web")
    log = tmp_path / "hooks.log"
    defaults = env.kargo.root / "defaults/deploy"
    write(defaults / "web_before.sh", HOOK.format(word="before"), mode=0o755)
    write(defaults / "web_after.sh", HOOK.format(word="after"), mode=0o755)
    env.set_env(f"HOOK_LOG={log}\n")
    proc = deploy_ok(env)
    assert log.read_text() == "before\nafter\n"
    assert proc.stdout.index("hook deploy/web_before.sh") < proc.stdout.index(
        f"  {web}") < proc.stdout.index("hook deploy/web_after.sh")

    # a before-hook that fails stops the deploy: the new replica count never
    # reaches the engine
    before = env.versions()
    hook = env.kargo.workspace / "deploy/web_before.sh"
    write(hook, '#!/bin/sh\necho "cannot prepare" >&2\nexit 1\n', mode=0o755)
    env.set_env(f"HOOK_LOG={log}\nWEB_REPLICAS=2\n")
    proc = env.run("deploy", check=False)
    assert proc.returncode != 0
    merged_hook = str(env.kargo.merged / "deploy/web_before.sh")
    assert merged_hook in proc.stderr and "exited 1" in proc.stderr, proc.stderr
    assert "cannot prepare" in proc.stderr
    assert env.versions() == before
    assert env.inspect(web)["Spec"]["Mode"]["Replicated"]["Replicas"] == 1
    assert env.b not in sent(proc)  # B depends on A
    assert f"stack {env.b} was not deployed: it depends on {env.a}" in proc.stderr

    # a hook that is not executable is refused, naming it
    write(hook, HOOK.format(word="before"), mode=0o644)
    proc = env.run("deploy", check=False)
    assert proc.returncode != 0
    assert merged_hook in proc.stderr and "not executable" in proc.stderr, proc.stderr
    assert env.versions() == before

    # executable, but not a program (no #! line): one line naming it
    write(hook, 'echo "before" >> "$HOOK_LOG"\n', mode=0o755)
    proc = env.run("deploy", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    assert merged_hook in proc.stderr and "cannot be started" in proc.stderr, proc.stderr

    # fixed: the deploy goes through, hooks in order again
    write(hook, HOOK.format(word="before"), mode=0o755)
    log.write_text("")
    deploy_ok(env)
    assert log.read_text() == "before\nafter\n"
    assert env.inspect(web)["Spec"]["Mode"]["Replicated"]["Replicas"] == 2


def test_special_values_reach_the_container_env_byte_exact(stackenv):
    env = stackenv
    web = env.service(env.a, "web")
    # single quotes: literal; double quotes: escapes and ${...} are expanded
    env.set_env(
        "GREETING='  it\\'s: a #hash $HOME ${NOT_SET} $$ \"dq\" ünïcødé ✓ 100% {x: [1]}  '\n"
        'MOTTO="say \\"hi\\": now # not a comment,\\n${UNSET_VAR:-dflt} - é"\n')
    greeting = "  it's: a #hash $HOME ${NOT_SET} $$ \"dq\" ünïcødé ✓ 100% {x: [1]}  "
    motto = 'say "hi": now # not a comment,\ndflt - é'
    deploy_ok(env)
    environ = env.inspect(web)["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert f"GREETING={greeting}" in environ, environ
    assert f"MOTTO={motto}" in environ, environ
    # and in the environment of the container's process, byte for byte
    process_env = _read_in_container(env, web, "/proc/1/environ").split(b"\0")
    assert f"GREETING={greeting}".encode() in process_env
    assert f"MOTTO={motto}".encode() in process_env
    # the resolved stack files hold such values: owner only
    for stack in (env.a, env.b):
        path = env.kargo.merged / f"stacks/{stack}.yml"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert env.run("deploy").stdout == ""
