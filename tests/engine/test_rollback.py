"""What a deploy will change, and taking it back, on the real Swarm: `doit
plan` shows each changed field of a service (never a value of the
environment, never a secret), `rollback:<stack>` puts the services back on
the specs of the version before (inspected), `doit deploy` brings the
workspace's again, and `<STACK>_ATOMIC` rolls back a deploy that
crash-loops."""
import io
import json
import subprocess
import tarfile

import pytest

from stack_fixtures import stackenv  # noqa: F401
from test_remote_engine import remote  # noqa: F401  (a second engine, a swarm of its own)
from support import build_image, write

pytestmark = pytest.mark.slow

WOULD_RUN = 4
CANARY = "s3cr3t-canary-rb-0f3a"
CANARY2 = "s3cr3t-canary-rb-91c7"

APP_YML = """
version: "3.8"
services:
  app:
    image: ${APP_IMAGE}:${APP_TAG}
    command: ["sleep", "${APP_SLEEP}"]
    stop_grace_period: 1s
    environment:
      GREETING: ${GREETING}
      TOKEN: ${APP_TOKEN}
      # numbers the CLI gives the engine as Go prints them ("1", "1000",
      # "1e+06"): plan shows no change for them
      RATIO: 1.0
      LIMIT: 1e3
      HUGE: 1000000.0
    configs:
      - source: app_conf
        target: /etc/app.conf
    secrets:
      - source: app_token
        target: app_token
    deploy:
      replicas: ${APP_REPLICAS}
      endpoint_mode: dnsrr
      restart_policy:
        delay: 1s
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
configs:
  app_conf:
    file: ../configs/app/app.conf
secrets:
  app_token:
    file: ../secrets/token.txt
"""


def push(client, base, repo, tag, version, entrypoint=None):
    """`repo:tag`: `base` with a label of `version` (a digest of its own), pushed;
    with `entrypoint` (exec form), the image runs that before its command."""
    dockerfile = f"FROM {base}\nLABEL org.kargo.test.version={version}\n"
    if entrypoint:
        dockerfile += f"ENTRYPOINT {json.dumps(entrypoint)}\n"
    dockerfile = dockerfile.encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    build_image(client, fileobj=context, custom_context=True, tag=f"{repo}:{tag}", rm=True)
    for chunk in client.images.push(repo, tag=tag, stream=True, decode=True):
        assert "error" not in chunk, chunk


@pytest.fixture
def app(stackenv):
    """One stack `a` of one service `app` (a config, a secret, environment)."""
    env = stackenv
    env.repo = f"{env.image.rsplit('/', 1)[0]}/rb-{env.name}"
    for tag in ("1", "2"):
        push(env.client, env.image, env.repo, tag, tag)
    defaults = env.kargo.root / "defaults"
    p = env.prefix(env.a)
    write(defaults / ".env.default", "\n".join([
        f"STACKS={env.a}", f"{p}_STACK=app", f"DOCKER_BACK_NETWORK={env.back}",
        "KARGO_DEPLOY_TIMEOUT=40", f"APP_IMAGE={env.repo}", "APP_TAG=1", "APP_REPLICAS=1",
        "APP_SLEEP=3600", "GREETING=hello"]) + "\n")
    write(defaults / "deploy/app.yml", APP_YML)
    write(defaults / "configs/app/app.conf", "level = 1\nname = app\n")
    write(env.kargo.workspace / "secrets/token.txt", CANARY)
    env.set_env(f"APP_TOKEN={CANARY}\n")
    env.app = env.service(env.a, "app")
    env.p = p
    return env


def v2(env, **extra):
    """The workspace of version 2: tag, replicas, a config, a variable, a secret."""
    write(env.kargo.workspace / "configs/app/app.conf", "level = 2\nname = app\n")
    write(env.kargo.workspace / "secrets/token.txt", CANARY2)
    lines = [f"APP_TOKEN={CANARY}", "APP_TAG=2", "APP_REPLICAS=2", "GREETING=hi"]
    lines += [f"{name}={value}" for name, value in extra.items()]
    env.set_env("\n".join(lines) + "\n")


def spec(env):
    return env.inspect(env.app)["Spec"]


def converged(env, replicas):
    tasks = env.running(env.app)
    assert len(tasks) == replicas, tasks
    return tasks


def test_plan_shows_each_change_and_rollback_puts_the_specs_back(app):
    env = app
    env.run("deploy")
    v1 = spec(env)
    # nothing to roll back to yet: one line, no traceback
    none = env.run(f"rollback:{env.a}", check=False)
    assert none.returncode != 0
    assert f"stack {env.a} has no earlier version to roll back to" in none.stdout + none.stderr
    assert "Traceback" not in none.stdout + none.stderr

    v2(env)
    plan = env.run("plan", check=False)
    assert plan.returncode == WOULD_RUN, plan.stderr
    text = plan.stdout
    assert text.endswith("\n".join([
        "deploy",
        "    an input is remade first",
        f"    {env.a}: service app (changed)",
        f"        image {env.repo}:1 -> {env.repo}:2",
        "        replicas 1 -> 2",
        "        environment GREETING changed",
        "        config /etc/app.conf changed:",
        "          --- running",
        "          +++ new",
        "          @@ -1,2 +1,2 @@",
        "          -level = 1",
        "          +level = 2",
        "           name = app",
        "        secret app_token changed", ""])), text
    assert CANARY not in text + plan.stderr and CANARY2 not in text + plan.stderr
    assert "hello" not in text and "hi\n" not in text  # no value of the environment

    env.run("deploy")
    second = spec(env)
    converged(env, 2)

    back = env.run(f"rollback:{env.a}")
    assert f"image {env.repo}:2 -> {env.repo}:1" in back.stdout
    assert "replicas 2 -> 1" in back.stdout
    assert CANARY not in back.stdout + back.stderr and CANARY2 not in back.stdout + back.stderr
    assert spec(env) == v1  # every field, labels and config/secret versions included
    converged(env, 1)

    # the workspace is not what runs: plan says so, deploy applies it again
    plan = env.run("plan", check=False)
    assert plan.returncode == WOULD_RUN
    assert f"{env.a}: rolled back: what runs is not stacks/{env.a}.yml" in plan.stdout
    assert f"image {env.repo}:1 -> {env.repo}:2" in plan.stdout
    env.run("deploy")
    assert spec(env) == second
    converged(env, 2)
    assert env.run("plan", check=False).stdout == "nothing to do\n"


def test_rollback_runs_the_image_digests_of_the_version_before(app):
    # the tag is rebuilt between the two deploys: the version before ran
    # the first build, and that is what the rollback runs again
    env = app
    env.run("deploy")
    v1 = spec(env)
    push(env.client, env.image, env.repo, "1", "1-rebuilt")
    env.set_env(f"APP_TOKEN={CANARY}\nAPP_REPLICAS=2\n")
    env.run("deploy")
    assert spec(env)["TaskTemplate"]["ContainerSpec"]["Image"] != v1["TaskTemplate"][
        "ContainerSpec"]["Image"]
    env.run(f"rollback:{env.a}")
    now = spec(env)
    assert now["TaskTemplate"]["ContainerSpec"]["Image"] == v1["TaskTemplate"][
        "ContainerSpec"]["Image"]
    # the one other difference: the CLI's record of the image it was given,
    # the pinned reference (kargo does not compare it)
    assert now["Labels"].pop("com.docker.stack.image") == v1["TaskTemplate"][
        "ContainerSpec"]["Image"]
    assert v1["Labels"].pop("com.docker.stack.image") == f"{env.repo}:1"
    assert now == v1
    converged(env, 1)


def test_a_rebuilt_image_alone_is_a_version_of_its_own(app):
    # the last deploy changed only the digest a tag resolves to (an image
    # kargo rebuilt; here a tag moved and a forced deploy): rolling it back
    # runs the image before, on the same stack file, not the deploy before
    env = app
    env.run("deploy")
    v2(env)
    env.run("deploy")
    second = spec(env)
    image = second["TaskTemplate"]["ContainerSpec"]["Image"]
    push(env.client, env.image, env.repo, "2", "2-rebuilt")
    env.run("-a", f"deploy:{env.a}")
    assert spec(env)["TaskTemplate"]["ContainerSpec"]["Image"] != image
    env.run(f"rollback:{env.a}")
    now = spec(env)
    assert now["TaskTemplate"]["ContainerSpec"]["Image"] == image
    assert now["Labels"].pop("com.docker.stack.image") == image  # pinned, as above
    assert second["Labels"].pop("com.docker.stack.image") == f"{env.repo}:2"
    assert now == second
    converged(env, 2)


def test_an_atomic_stack_that_crash_loops_ends_on_the_version_before(app):
    env = app
    env.set_env(f"APP_TOKEN={CANARY}\n{env.p}_ATOMIC=true\n")
    env.run("deploy")
    v1 = spec(env)
    v2(env, **{f"{env.p}_ATOMIC": "true", "APP_SLEEP": "not-a-number"})
    failed = env.run("deploy", check=False)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0, out
    assert f"service {env.app} failed" in out
    assert f"stack {env.a} was rolled back to the version that ran before" in out
    assert CANARY not in out and CANARY2 not in out
    assert spec(env) == v1
    converged(env, 1)
    plan = env.run("plan", check=False)
    assert f"{env.a}: rolled back: what runs is not stacks/{env.a}.yml" in plan.stdout


def test_a_rollback_whose_config_was_removed_changes_nothing(app):
    # kargo keeps the version before; an operator removed it by hand anyway
    env = app
    env.run("deploy")
    first = {ref["ConfigName"] for ref in spec(env)["TaskTemplate"]["ContainerSpec"]["Configs"]}
    v2(env)
    env.run("deploy")
    second = spec(env)
    subprocess.run(["docker", "config", "rm", *first], check=True, capture_output=True)
    proc = env.run(f"rollback:{env.a}", check=False)
    assert proc.returncode != 0
    line, = [line for line in proc.stderr.splitlines() if line.strip()]
    assert line == (f"kargo: rollback:{env.a}: stack {env.a} cannot be rolled back: the engine "
                    f"no longer has config {min(first)} of that version"), line
    assert spec(env) == second  # nothing sent


def image(spec_):
    return spec_["TaskTemplate"]["ContainerSpec"]["Image"]


def test_an_atomic_stack_whose_rebuilt_image_crash_loops_ends_on_the_digest_before(app):
    # the same tag rebuilt into an image that exits at once: the stack file
    # does not change, only the digest its tag names; the version before is
    # the image that ran, and that is what runs again
    env = app
    env.set_env(f"APP_TOKEN={CANARY}\n{env.p}_ATOMIC=true\n")
    env.run("deploy")
    v1 = spec(env)
    stack_file = (env.kargo.merged / f"stacks/{env.a}.yml").read_text()
    push(env.client, env.image, env.repo, "1", "1-crashing", entrypoint=["/bin/false"])
    failed = env.run("-a", f"deploy:{env.a}", check=False)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0, out
    assert (env.kargo.merged / f"stacks/{env.a}.yml").read_text() == stack_file  # image alone
    assert f"service {env.app} failed" in out
    assert f"rollback {env.a}: the deploy did not converge ({env.p}_ATOMIC)" in out
    assert f"stack {env.a} was rolled back to the version that ran before" in out, out
    assert "no earlier version" not in out
    assert CANARY not in out
    now = spec(env)
    assert image(now) == image(v1)  # the digest before, pinned: the tag names the crashing one
    assert now["Labels"].pop("com.docker.stack.image") == image(v1)
    assert v1["Labels"].pop("com.docker.stack.image") == f"{env.repo}:1"
    assert now == v1
    tasks = converged(env, 1)
    assert {t["Spec"]["ContainerSpec"]["Image"] for t in tasks} == {image(v1)}
    plan = env.run("plan", check=False)
    assert f"{env.a}: rolled back: what runs is not stacks/{env.a}.yml" in plan.stdout


BROKEN_ENV = {
    "a variable set twice": "STACKS=x\nSTACKS=y\n",
    "a syntax error": "GREETING='never closed\n",
}


@pytest.mark.parametrize("broken", sorted(BROKEN_ENV))
def test_rollback_needs_nothing_of_a_broken_workspace(app, broken):
    # the workspace .env cannot be read: every task that reads it fails in
    # one line, but rollback:<stack> exists (kargo recorded the stack's
    # versions) and puts the stack back, with the last deploy's timeout
    env = app
    env.run("deploy")
    v1 = spec(env)
    v2(env)
    env.run("deploy")
    converged(env, 2)
    env.set_env(f"APP_TOKEN={CANARY}\n" + BROKEN_ENV[broken])
    plan = env.run("plan", check=False)
    assert plan.returncode not in (0, WOULD_RUN)
    assert ".env" in plan.stderr and "Traceback" not in plan.stderr, plan.stderr
    listed = env.run("list", check=False)
    assert f"rollback:{env.a}" in listed.stdout, listed.stdout + listed.stderr
    back = env.run(f"rollback:{env.a}")
    assert f"image {env.repo}:2 -> {env.repo}:1" in back.stdout
    assert "replicas 2 -> 1" in back.stdout
    assert CANARY not in back.stdout + back.stderr and CANARY2 not in back.stdout + back.stderr
    assert spec(env) == v1
    converged(env, 1)
    # a stack kargo keeps no versions of says so, still in one line
    none = env.run(f"rollback:{env.a}-other", check=False)
    assert none.returncode != 0
    lines = [line for line in none.stderr.splitlines() if line.strip()]
    assert lines == [f"kargo: rollback:{env.a}-other: stack {env.a}-other has no earlier version "
                     "to roll back to: kargo keeps one once a second, different deploy of it "
                     "converged"], none.stderr


def test_a_rollback_without_the_workspace_sends_nothing_to_another_engine(app, remote):
    # the .env cannot be read, so the engine is the shell's choice; here the
    # shell names another engine (a swarm of its own), which does not run
    # the stack: nothing is sent there, nor here
    env = app
    remote_env, remote_client = remote
    env.run("deploy")
    v2(env)
    env.run("deploy")
    second = spec(env)
    env.set_env(f"APP_TOKEN={CANARY}\n" + BROKEN_ENV["a variable set twice"])
    there = {s["ID"] for s in remote_client.api.services()}
    proc = env.run(f"rollback:{env.a}", check=False,
                   env={"DOCKER_HOST": remote_env["KARGO_REMOTE_SOCKET"]})
    assert proc.returncode != 0
    line, = [line for line in proc.stderr.splitlines() if line.strip()]
    assert line.startswith(f"kargo: rollback:{env.a}: stack {env.a} cannot be rolled back: "
                           f"{remote_env['KARGO_REMOTE_SOCKET']} "), line
    assert "does not run the services kargo deployed" in line and "DOCKER_HOST" in line, line
    assert {s["ID"] for s in remote_client.api.services()} == there
    assert spec(env) == second
    converged(env, 2)
