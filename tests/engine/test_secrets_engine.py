"""A canary secret on the real engine: in the workspace `.env` (a service's
environment), in a secret file (a compose `secrets:` entry) and as a build
arg the Dockerfile does not declare. It must reach the container, and only
the container: never stdout/stderr of `--verbosity 2` runs (errors included),
a file of `.kargo/` that is not 0600, the doit database, nor the history of
the built image. Every run here is under `umask 000`.

YAML-special values reaching the container byte-exact:
test_stacks.py::test_special_values_reach_the_container_env_byte_exact.
"""
import os
import stat
import subprocess
import sys

import pytest

from image_fixtures import images, prefix  # noqa: F401
from support import REPO, write

pytestmark = pytest.mark.slow

CANARY = "s3cr3t-canary-3e8b1d"
CANARY2 = "s3cr3t-canary-77c0aa"

SERVICE_YML = """
version: "3.8"
services:
  {service}:
    image: ${{{p}_IMAGE}}:${{{p}_TAG}}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    environment:
      TOKEN: ${{APP_TOKEN}}
    secrets:
      - source: app_token
        target: app_token
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
secrets:
  app_token:
    file: ../secrets/token.txt
"""


class Runs:
    """doit runs under umask 000, every output kept for the grep."""

    def __init__(self, kargo):
        self.kargo = kargo
        self.outputs = []

    def __call__(self, *args, check=True):
        cmd = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), "--verbosity", "2",
               *args] if args[0] not in ("info", "plan") else [
               sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), *args]
        proc = subprocess.run(cmd, env=self.kargo.env, cwd=REPO, capture_output=True, text=True,
                              timeout=600, preexec_fn=lambda: os.umask(0))
        self.outputs.append((args, proc.stdout + proc.stderr))
        if check:
            assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
        return proc


def container_of(client, service):
    tasks = [t for t in client.api.tasks(filters={"service": service, "desired-state": "running"})
             if t["Status"]["State"] == "running"]
    assert len(tasks) == 1, tasks
    return client.containers.get(tasks[0]["Status"]["ContainerStatus"]["ContainerID"])


def holders(kargo, *canaries):
    """{relative path: mode} of the files of .kargo/ holding a canary."""
    found = {}
    for path in kargo.merged.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(c.encode() in data for c in canaries):
                found[path.relative_to(kargo.merged).as_posix()] = stat.S_IMODE(
                    path.stat().st_mode)
    return found


def test_canary_reaches_the_container_and_nothing_else(images, tmp_path):
    images.write_root(stacks=True)
    k, client = images.kargo, images.client
    sa, sb = images.stacks
    a, p = images.a, prefix(images.a)
    service = f"kargo-{sa}_{a}"
    ws = k.workspace
    write(ws / f"deploy/{a}.yml", SERVICE_YML.format(service=a, p=p))
    write(ws / "secrets/token.txt", CANARY + "\n", mode=0o600)
    # the operator's own files keep their modes, whatever the umask
    write(ws / f"deploy/{a}_before.sh", "#!/bin/sh\necho before\n", mode=0o750)
    write(ws / "configs/app/notes.txt", "notes\n", mode=0o640)
    write(ws / "configs/app/token.conf.tpl", "token = ${APP_TOKEN}\n", mode=0o644)
    env_text = (f"APP_TOKEN={CANARY}\n"
                f"{p}_SECRET_ARG={CANARY}\nSECRET_ARG={CANARY}\n"  # not ARGs of the Dockerfile
                "GREETING=hello-build\n")                         # an ARG it declares
    write(ws / ".env", env_text)
    run = Runs(k)

    run("configure")
    run("deploy")
    # the canary did arrive where it belongs: the container
    container = container_of(client, service)
    assert f"TOKEN={CANARY}" in container.attrs["Config"]["Env"]
    result = container.exec_run(["cat", "/run/secrets/app_token"])
    assert result.output == f"{CANARY}\n".encode()
    assert run("deploy").stdout == ""

    # generated files are replaced, never written through a symlink
    victims = {}
    for rel in (f"stacks/{sa}.yml", f".state/clusters/{sa}.json"):
        victim = write(tmp_path / f"victim-{len(victims)}", "untouched\n")
        path = k.merged / rel
        path.unlink()
        os.symlink(victim, path)
        victims[rel] = victim
    write(ws / ".env", env_text.replace(f"APP_TOKEN={CANARY}", f"APP_TOKEN={CANARY2}"))
    proc = run("deploy")
    assert f"deploy {sa}: " in proc.stdout
    for rel, victim in victims.items():
        assert victim.read_text() == "untouched\n", rel
        assert not (k.merged / rel).is_symlink(), rel
    assert f"TOKEN={CANARY2}" in container_of(client, service).attrs["Config"]["Env"]

    # errors and explanations, too
    write(ws / "configs/app/leak.txt.tpl", "${APP_TOKEN} ${SECRET_ARG} ${NOT_SET_ANYWHERE}\n")
    proc = run("configure", check=False)
    assert proc.returncode != 0 and "leak.txt.tpl:1: variable NOT_SET_ANYWHERE" in proc.stderr
    (ws / "configs/app/leak.txt.tpl").unlink()
    write(ws / ".env", env_text + f"BROKEN {CANARY}\n")
    assert run("deploy", check=False).returncode != 0
    write(ws / ".env", env_text)
    run("info", f"deploy:{sa}", check=False)
    run("plan", check=False)
    run("deploy")

    for args, output in run.outputs:
        for canary in (CANARY, CANARY2):
            assert canary not in output, f"`doit {' '.join(args)}` printed a canary"

    # in .kargo/ only the rendered template, the secret file, the stack file
    # and the stack's kept versions (rollback) hold it, owner-only
    assert holders(k, CANARY, CANARY2) == {
        "configs/app/token.conf": 0o600, "secrets/token.txt": 0o600, f"stacks/{sa}.yml": 0o600,
        f".state/history/{sa}.json": 0o600}
    db = k.merged / ".state/doit.db"
    assert CANARY.encode() not in db.read_bytes() and CANARY2.encode() not in db.read_bytes()

    # modes under umask 000
    assert stat.S_IMODE(k.merged.stat().st_mode) == 0o700
    for path in k.merged.rglob("*"):
        rel, mode = path.relative_to(k.merged).as_posix(), stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{rel}: {oct(mode)}"
        elif rel.startswith(("stacks/", ".state/clusters/")) or rel in (
                ".state/digest.key", ".state/run.lock", "configs/app/token.conf"):
            assert mode == 0o600, f"{rel}: {oct(mode)}"
    for rel, mode in ((f"deploy/{a}_before.sh", 0o750), ("configs/app/notes.txt", 0o640),
                      ("secrets/token.txt", 0o600)):
        assert stat.S_IMODE((k.merged / rel).stat().st_mode) == mode, rel
    assert stat.S_IMODE((k.merged / f"deploy/{a}.yml").stat().st_mode) == 0o644

    # the built image: a declared build arg is in its history, the undeclared
    # ones are not
    ref = images.ref(a)
    images.image_id(ref)  # remembered for the cleanup
    history = subprocess.run(["docker", "history", "--no-trunc", "--format",
                              "{{.CreatedBy}}", ref], capture_output=True, text=True, check=True)
    assert "GREETING=hello-build" in history.stdout
    inspect = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True,
                             check=True)
    for canary in (CANARY, CANARY2):
        assert canary not in history.stdout + inspect.stdout
