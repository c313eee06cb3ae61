"""One door to the engine: kargo reads and writes on the engine the docker CLI
would use, wherever it is. The engine here is `scripts/engine-remote`'s: a
second dockerd, a swarm of its own, reached over TCP with mutual TLS, over
ssh:// as a local account, and through a docker context. In each case a
two-stack workspace converges THERE, a second run does nothing there, and a
change made there out of band is seen and put back; the host's engine sees
none of it. With a context, the default socket is replaced for the run by a
probe that counts connections: kargo never opens it."""
import os
import re
import subprocess
import time
from pathlib import Path

import docker
import pytest

from support import REPO, EngineProbe, Kargo, write

SCRIPT = REPO / "scripts" / "engine-remote"
# one remote engine (fixed names) made for the module: its tests on one worker
pytestmark = pytest.mark.xdist_group("engine-remote")

APP_YML = """
version: "3.8"
services:
  {name}:
    image: ${{BUSYBOX}}
    command: ["sh", "-c", "echo hello from {name}; exec sleep 3600"]
    stop_grace_period: 1s
    configs:
      - source: app_conf
        target: /etc/app.conf
    deploy:
      replicas: ${{{prefix}_REPLICAS:-1}}
      endpoint_mode: dnsrr
    networks: [back]
configs:
  app_conf:
    file: ../configs/app.conf
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
"""


@pytest.fixture(scope="module")
def remote():
    proc = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = dict(line[len("export "):].split("=", 1) for line in subprocess.run(
        ["bash", str(SCRIPT), "env"], capture_output=True, text=True, check=True
    ).stdout.splitlines() if line.startswith("export "))
    client = docker.DockerClient(base_url=env["KARGO_REMOTE_SOCKET"])
    yield env, client
    client.close()
    subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True)


@pytest.fixture
def workspace(tmp_path, busybox_image, unique_name, remote, docker_client):
    env, client = remote
    root = tmp_path / "root"
    stacks = [f"{unique_name}-a", f"{unique_name}-b"]
    lines = [f'STACKS="{" ".join(stacks)}"', f'{stacks[1].upper().replace("-", "_")}_DEPENDS="{stacks[0]}"',
             f"DOCKER_BACK_NETWORK={unique_name}-back", f"BUSYBOX={busybox_image}",
             "KARGO_DEPLOY_TIMEOUT=120"]
    for stack, service in zip(stacks, ("front", "back")):
        lines.append(f'{stack.upper().replace("-", "_")}_STACK="{service}"')
        write(root / f"defaults/deploy/{service}.yml",
              APP_YML.format(name=service, prefix=service.upper()))
    write(root / "defaults/.env.default", "\n".join(lines) + "\n")
    write(root / "defaults/configs/app.conf", "level = 1\n")
    (root / "images").mkdir()
    workspace = tmp_path / "workspace"
    write(workspace / ".env", "# nothing of the operator's\n")
    kargo = Kargo(root, workspace)
    for key in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
                "DOCKER_TLS"):
        kargo.env.pop(key, None)
    kargo.env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")  # no context but ours
    yield kargo, stacks, client
    for stack in stacks:
        subprocess.run(["docker", "-H", env["KARGO_REMOTE_SOCKET"], "stack", "rm",
                        f"kargo-{stack}"], capture_output=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and [s for s in client.api.services()
                                          if s["Spec"]["Name"].startswith(f"kargo-{unique_name}")]:
        time.sleep(0.5)
    for _ in range(40):
        try:
            for net in client.networks.list(names=[f"{unique_name}-back"]):
                net.remove()
            break
        except docker.errors.APIError:
            time.sleep(0.5)
    # the host's engine saw none of it
    # (of this test's services: the other tests of the suite may run there now)
    assert not [s for s in docker_client.api.services()
                if s["Spec"]["Name"].startswith(f"kargo-{unique_name}")]


def _running(client, service):
    tasks = client.api.tasks(filters={"service": service, "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def _three_checks(kargo, stacks, client, extra_env, socket, wrap=()):
    """Converges there; a second run does nothing; drift there is seen."""
    def run(*args, check=True):
        cmd = [*wrap, *kargo.command(*args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600,
                              env=dict(kargo.env, **extra_env))
        assert not check or proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    proc = run("deploy")
    front, back = f"kargo-{stacks[0]}_front", f"kargo-{stacks[1]}_back"
    assert proc.stdout.index(f"deploy {stacks[0]}: front (new)") < proc.stdout.index(
        f"deploy {stacks[1]}: back (new)"), proc.stdout
    assert len(_running(client, front)) == 1 and len(_running(client, back)) == 1
    config = client.api.inspect_service(front)["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"]
    assert config[0]["ConfigName"].startswith(f"kargo-{stacks[0]}_app_conf_")

    again = run("deploy")
    assert (again.stdout, again.stderr) == ("", "")

    # out of band, on that engine: scaled by hand
    subprocess.run(["docker", "-H", socket, "service", "scale", "-d", f"{back}=2"],
                   check=True, capture_output=True)
    plan = run("plan", check=False)
    assert f"service {back} was changed outside kargo" in plan.stdout, plan.stdout
    proc = run("deploy")
    assert f"deploy {stacks[1]}: back (changed outside kargo)" in proc.stdout, proc.stdout
    assert client.api.inspect_service(back)["Spec"]["Mode"]["Replicated"]["Replicas"] == 1
    assert run("deploy").stdout == ""
    # read-only views through the same door: the logs and the status of that engine
    assert run(f"logs:{stacks[0]}").stdout == "front | hello from front\n"
    status = run("status")
    assert re.search(r"^  front  1/1  \S+@sha256:[0-9a-f]{12}  as the workspace says$",
                     status.stdout, re.M), status.stdout
    return run


def test_tls_endpoint_from_docker_host(workspace, remote):
    kargo, stacks, client = workspace
    env, _ = remote
    extra = {"DOCKER_HOST": env["KARGO_REMOTE_TLS_HOST"], "DOCKER_TLS_VERIFY": "1",
             "DOCKER_CERT_PATH": env["KARGO_REMOTE_CERT_PATH"]}
    run = _three_checks(kargo, stacks, client, extra, env["KARGO_REMOTE_SOCKET"])
    assert f"engine: {env['KARGO_REMOTE_TLS_HOST']} (chosen by DOCKER_HOST, TLS)" in \
        run("show").stdout


@pytest.mark.parametrize("socket_path", [False, True])
def test_ssh_endpoint_from_docker_host(workspace, remote, socket_path):
    """With the remote socket's path in the address too (ssh://me@host:port/path):
    docker-py's own ssh transport took "port/path" for its port, so every write
    failed; the docker CLI runs `docker --host=unix://<path> system dial-stdio`."""
    kargo, stacks, client = workspace
    env, _ = remote
    host = env["KARGO_REMOTE_SSH_HOST"]
    if socket_path:
        host += env["KARGO_REMOTE_SOCKET"][len("unix://"):]
    run = _three_checks(kargo, stacks, client, {"DOCKER_HOST": host},
                        env["KARGO_REMOTE_SOCKET"])
    assert f"engine: {host} (chosen by DOCKER_HOST)" in run("show").stdout


def _without_the_default_socket():
    """A probe for this run's /var/run/docker.sock, and the command prefix
    that puts it there (a mount namespace of the run's own)."""
    probe = EngineProbe()
    return probe, ["unshare", "--mount", "sh", "-c",
                   f'mount --bind {probe.path} /var/run/docker.sock && exec "$@"', "sh"]


def test_the_workspace_env_chooses_the_engine(workspace, remote, tmp_path):
    """The bash Kargo sourced the workspace .env before every docker command:
    its DOCKER_HOST (a blank after it), DOCKER_TLS_VERIFY and a DOCKER_CERT_PATH
    relative to the workspace choose the engine of every read, every write,
    the `docker stack deploy` kargo runs and the hooks; the shell sets none
    of them and the default socket is never opened."""
    kargo, stacks, client = workspace
    env, _ = remote
    ws = kargo.workspace
    (ws / "certs").mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        source = Path(env["KARGO_REMOTE_CERT_PATH"]) / name
        (ws / "certs" / name).write_bytes(source.read_bytes())
    write(ws / ".env", f'DOCKER_HOST="{env["KARGO_REMOTE_TLS_HOST"]} "\n'
                       "DOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=certs\n")
    seen = tmp_path / "hook-saw"
    # a hook asks the engine with the docker CLI (from the merged deploy/ folder)
    write(ws / "deploy/front_before.sh",
          f"#!/bin/sh\nset -e\ndocker info --format '{{{{.Swarm.NodeID}}}}' >> {seen}\n",
          mode=0o755)
    probe, wrap = _without_the_default_socket()
    try:
        run = _three_checks(kargo, stacks, client, {}, env["KARGO_REMOTE_SOCKET"], wrap)
        shown = run("show").stdout
        used = probe.connections
    finally:
        probe.close()
    assert used == 0, "the default socket was used"
    assert (f"engine: {env['KARGO_REMOTE_TLS_HOST']} (chosen by DOCKER_HOST in the workspace "
            f".env {ws}/.env:1, TLS)") in shown, shown
    node = client.info()["Swarm"]["NodeID"]
    assert seen.read_text().split() == [node], "the hook ran on another engine"


@pytest.mark.parametrize("how", ["docker context use", "DOCKER_CONTEXT"])
def test_context_and_never_the_default_socket(workspace, remote, how):
    kargo, stacks, client = workspace
    env, _ = remote
    certs = env["KARGO_REMOTE_CERT_PATH"]
    config = {"DOCKER_CONFIG": kargo.env["DOCKER_CONFIG"]}
    cli = dict(os.environ, **config)
    cli.pop("DOCKER_HOST", None)
    subprocess.run(["docker", "context", "create", "kt-remote", "--docker",
                    f"host={env['KARGO_REMOTE_TLS_HOST']},ca={certs}/ca.pem,"
                    f"cert={certs}/cert.pem,key={certs}/key.pem"], env=cli, check=True,
                   capture_output=True)
    extra = {}
    if how == "DOCKER_CONTEXT":
        extra["DOCKER_CONTEXT"] = "kt-remote"
    else:
        subprocess.run(["docker", "context", "use", "kt-remote"], env=cli, check=True,
                       capture_output=True)
    # this run's /var/run/docker.sock is the probe: any use of it is counted
    probe, wrap = _without_the_default_socket()
    try:
        run = _three_checks(kargo, stacks, client, extra, env["KARGO_REMOTE_SOCKET"], wrap)
        assert "engine: tcp://" in run("show").stdout
        used = probe.connections
        # a control: the probe does count a use of the default socket
        subprocess.run([*wrap, "docker", "-H", "unix:///var/run/docker.sock", "version"],
                       capture_output=True, timeout=60)
        assert probe.connections > used
    finally:
        probe.close()
    assert used == 0, "the default socket was used"
