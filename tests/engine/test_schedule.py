"""The deploy schedule on the real Swarm: stacks are created in STACKS order
and removed in the reverse order, run after run (the engine's own event
stream says so, not kargo's output); `deploy:<stack>` deploys what the stack
depends on and nothing else; failures of several stacks waited on at once
are all named, the stacks that converged are recorded; an interruption
during the overlapping waits leaves what the next run completes."""
import json
import signal

import pytest

from stack_fixtures import sent, stackenv  # noqa: F401
from support import write

pytestmark = pytest.mark.slow

SERVICE_YML = """
version: "3.8"
services:
  {name}:
    image: ${{BUSYBOX}}
    command: {command}
    stop_grace_period: 1s
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      placement:
        constraints: [{constraint}]
    networks: [back]
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
"""
SLEEP = '["sleep", "3600"]'
CRASH = '["sh", "-c", "exit 1"]'


def _stacks(env, specs, depends=None):
    """Stacks named after the test, one service each: {stack suffix: (command, constraint)}."""
    names = []
    lines = []
    for suffix, (command, constraint) in specs.items():
        stack, service = f"{env.name}-{suffix}", f"s{suffix}"
        names.append(stack)
        env.extra_stacks.append(stack)
        write(env.kargo.workspace / f"deploy/{service}.yml",
              SERVICE_YML.format(name=service, command=command, constraint=constraint))
        lines.append(f'{env.prefix(stack)}_STACK="{service}"')
    for suffix, deps in (depends or {}).items():
        lines.append(f'{env.prefix(f"{env.name}-{suffix}")}_DEPENDS='
                     f'"{" ".join(f"{env.name}-{d}" for d in deps)}"')
    env.set_env(f'STACKS="{" ".join(names)}"\n' + "\n".join(lines) + "\n")
    return names


def _created(env, since, stacks):
    """The stacks whose services the engine created after `since`, in order."""
    projects = {env.project(s): s for s in stacks}
    order = []
    for action, name, _ in env.service_events(since):
        stack = projects.get(name.split("_", 1)[0])
        if action == "create" and stack and stack not in order:
            order.append(stack)
    return order


def test_stacks_are_created_in_stacks_order_and_removed_in_reverse_run_after_run(stackenv):
    env = stackenv
    ok = (SLEEP, "node.role==manager")
    names = _stacks(env, {"z": ok, "m": ok, "a": ok})  # STACKS order is not alphabetical
    for _ in range(3):
        since = env.now()
        proc = env.run("deploy")
        assert _created(env, since, names) == names, proc.stdout
        since = env.now()
        env.run("remove")
        removed = []
        for action, name, _ in env.service_events(since):
            stack = name.split("_", 1)[0][len("kargo-"):]
            if action == "remove" and stack not in removed:
                removed.append(stack)
        assert removed == names[::-1]


def test_a_stack_deploys_what_it_depends_on_and_nothing_else(stackenv):
    env = stackenv
    ok = (SLEEP, "node.role==manager")
    first, middle, last = _stacks(env, {"first": ok, "middle": ok, "last": ok},
                                  depends={"last": ["first"]})
    since = env.now()
    proc = env.run(f"deploy:{last}")
    assert _created(env, since, [first, middle, last]) == [first, last]
    assert sent(proc) == [first, last]
    assert env.services(middle) == {}


def test_every_failing_stack_is_named_and_the_converged_ones_are_recorded(stackenv):
    env = stackenv
    names = _stacks(env, {"one": (CRASH, "node.role==manager"),
                          "ok": (SLEEP, "node.role==manager"),
                          "two": (CRASH, "node.role==manager"),
                          "after": (SLEEP, "node.role==manager")},
                    depends={"after": ["two"]})
    one, ok, two, after = names
    proc = env.run("deploy", check=False)
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f"kargo: deploy: service kargo-{one}_sone failed: ")
    assert lines[1].startswith(f"service kargo-{two}_stwo failed: ")
    assert lines[2] == f"stack {after} was not deployed: it depends on {two}, which did not converge"
    assert len(lines) == 3, proc.stderr
    # the stack that converged is up to date; the next run deploys the others only
    record = env.kargo.merged / f".state/clusters/{ok}.json"
    assert json.loads(record.read_text())["cluster"]
    proc = env.run("deploy", check=False)
    assert ok not in sent(proc) and {one, two} <= set(sent(proc))


def test_ctrl_c_during_overlapping_waits_then_the_next_run_completes(stackenv, background):
    env = stackenv
    never = f"node.labels.kt_never_{env.name[3:]}==yes"
    fast, stuck = _stacks(env, {"fast": (SLEEP, "node.role==manager"),
                                "stuck": (SLEEP, never)})
    run = background(env.kargo, "deploy", env={"KARGO_DEPLOY_TIMEOUT": "300"})
    # fast converged (and was recorded) while stuck is still waited on
    record = env.kargo.merged / f".state/clusters/{fast}.json"
    run.wait_for(lambda: record.exists(), what=f"{fast} recorded")
    run.signal(signal.SIGINT)
    assert run.finish() == -signal.SIGINT
    assert not (env.kargo.merged / f".state/clusters/{stuck}.json").exists()
    # fixed: the next run deploys only the stack that had not converged
    write(env.kargo.workspace / "deploy/sstuck.yml",
          SERVICE_YML.format(name="sstuck", command=SLEEP, constraint="node.role==manager"))
    proc = env.run("deploy")
    assert sent(proc) == [stuck], proc.stdout
    assert env.run("deploy").stdout == ""
    # interrupted again, now on a stack with a record: the next run takes the
    # service for one a deploy that failed sent, not for a change outside kargo
    write(env.kargo.workspace / "deploy/sstuck.yml",
          SERVICE_YML.format(name="sstuck", command=SLEEP, constraint=never))
    run = background(env.kargo, "deploy", env={"KARGO_DEPLOY_TIMEOUT": "300"})
    run.wait_for(lambda: "pending: " in run.stdout, what=f"{stuck} waited on")
    run.signal(signal.SIGINT)
    assert run.finish() == -signal.SIGINT
    plan = env.run("plan", check=False)
    assert f"service kargo-{stuck}_sstuck was sent by a deploy that failed" in plan.stdout, \
        plan.stdout
    assert "outside kargo" not in plan.stdout, plan.stdout
