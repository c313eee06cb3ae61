"""`doit status` on the real Swarm: 0 after a deploy, 4 after a change made
outside kargo (the service named, the reason plan gives), a job's last
result, the JSON and HTML forms, and no value of the environment in any."""
import json
import re
import subprocess

import pytest

from stack_fixtures import stackenv  # noqa: F401
from support import write

pytestmark = pytest.mark.slow

DIFFERS = 4
CANARY = "s3cr3t-canary-status-4Wq"

ONCE = """
version: "3.8"
services:
  once:
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo done"]
    deploy:
      restart_policy:
        condition: none
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""


def status(env, *args):
    proc = env.run("status", *args, check=False)
    assert proc.returncode in (0, DIFFERS), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_status_after_a_deploy_then_after_a_change_outside_kargo(stackenv, tmp_path):
    env = stackenv
    write(env.kargo.workspace / "deploy/once.yml", ONCE)
    env.set_env(f'MOTTO={CANARY}\n{env.prefix(env.a)}_STACK="web cache once"\n')
    first = status(env)
    assert first.returncode == DIFFERS  # nothing deployed yet
    assert "never deployed by kargo" in first.stdout
    env.run("deploy")

    proc = status(env)
    assert proc.returncode == 0, proc.stdout
    text = proc.stdout.splitlines()
    heading = next(line for line in text if line.startswith(f"{env.a}  version "))
    assert heading.endswith("as the workspace says")
    web = next(line for line in text if line.strip().startswith("web "))
    assert re.match(r"^  web\s+1/1\s+\S+@sha256:[0-9a-f]{12}\s+as the workspace says$", web), web
    worker = next(line for line in text if line.strip().startswith("worker "))
    assert " 2/2 " in worker
    once = next(line for line in text if line.strip().startswith("once "))
    assert once.endswith("as the workspace says; job completed"), once

    # JSON: stable keys, the same facts
    doc = json.loads(status(env, "--format", "json").stdout)
    assert doc["schema"] == 1 and doc["differs"] is False
    stacks = {s["stack"]: s for s in doc["stacks"]}
    a = stacks[env.a]
    assert set(a) == {"stack", "namespace", "differs", "deployed", "reasons", "version",
                      "deployed_at", "rolled_back", "rollback_to", "services"}
    assert a["namespace"] == f"kargo-{env.a}" and re.fullmatch(r"[0-9a-f]{12}", a["version"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["deployed_at"])
    rows = {s["service"]: s for s in a["services"]}
    assert set(rows["web"]) == {"service", "name", "deployed", "mode", "running", "desired",
                                "image", "digest", "update", "job", "urls", "state", "differs"}
    assert (rows["web"]["running"], rows["web"]["desired"], rows["web"]["mode"]) == \
        (1, 1, "replicated")
    assert rows["web"]["image"] == env.image and rows["web"]["digest"].startswith("sha256:")
    assert rows["once"]["mode"] == "replicated-job"
    assert rows["once"]["job"]["result"] == "completed"

    # changed outside kargo: 4, the service and the reason named
    web_name = env.service(env.a, "web")
    subprocess.run(["docker", "service", "update", "--detach", "--env-add", "OUTSIDE=1",
                    web_name], check=True, capture_output=True)
    html_file = tmp_path / "status.html"
    after = status(env, "--html", str(html_file))
    assert after.returncode == DIFFERS
    web = next(line for line in after.stdout.splitlines() if line.strip().startswith("web "))
    assert "  changed outside kargo" in web, web  # (and "; update updating" while it does)
    assert f"  ! service {web_name} was changed outside kargo" in after.stdout
    heading = next(line for line in after.stdout.splitlines() if line.startswith(f"{env.a}  "))
    assert heading.endswith("DIFFERS")
    b = next(line for line in after.stdout.splitlines() if line.startswith(f"{env.b}  "))
    assert b.endswith("as the workspace says")  # the other stack is not said to differ
    page = html_file.read_text()
    assert page.startswith("<!DOCTYPE html>") and "changed outside kargo" in page
    assert not re.search(r"<script|<link|\bsrc=|@import|url\(", page, re.I)
    data = json.loads(status(env, "--format", "json").stdout)
    assert data["differs"] is True
    assert {s["service"]: s["differs"] for s in data["stacks"][0]["services"]}["web"] is True

    for out in (first.stdout, proc.stdout, after.stdout, after.stderr, page,
                json.dumps(doc), json.dumps(data)):
        assert CANARY not in out

    # `deploy` puts it back; status is 0 again and touched nothing meanwhile
    before = env.versions()
    status(env)
    assert env.versions() == before
    env.run("deploy")
    assert status(env).returncode == 0


def test_status_with_a_bad_format_is_one_line(stackenv):
    proc = stackenv.run("status", "--format", "yaml", check=False)
    assert proc.returncode == 3
    assert proc.stderr == "kargo: status: --format yaml: give text or json\n"


def stack_of(env, name):
    doc = json.loads(status(env, "--format", "json").stdout)
    return {s["stack"]: s for s in doc["stacks"]}[name]


def test_status_says_a_workspace_change_then_a_rollback(stackenv):
    env = stackenv
    env.run("deploy")
    first = stack_of(env, env.a)["version"]
    # the workspace changed, not yet deployed: plan's reason, the service a
    # deploy would send, and the stack that does not read it as it was
    env.set_env(f"MOTTO={CANARY}\n")
    proc = status(env)
    assert proc.returncode == DIFFERS
    assert "  ! variable MOTTO changed" in proc.stdout
    web = next(line for line in proc.stdout.splitlines() if line.strip().startswith("web "))
    assert web.endswith("  changed"), web
    assert next(line for line in proc.stdout.splitlines()
                if line.startswith(f"{env.b}  ")).endswith("as the workspace says")
    assert CANARY not in proc.stdout + proc.stderr

    env.run("deploy")
    a = stack_of(env, env.a)
    assert a["version"] != first and a["rollback_to"] == first and not a["differs"]
    assert f"rollback:{env.a} goes back to {first}" in status(env).stdout

    env.run(f"rollback:{env.a}")
    a = stack_of(env, env.a)
    assert a["version"] == first and a["rolled_back"] is True and a["differs"] is True
    assert f"rolled back: what runs is not stacks/{env.a}.yml" in a["reasons"]
    proc = status(env)
    assert proc.returncode == DIFFERS and "rolled back (a deploy puts the workspace's back)" in \
        proc.stdout
