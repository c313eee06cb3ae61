"""A workspace whose `secrets/`, `.env.age` and a template are encrypted with
Debian's `age` command (not with kargo), on the real engine: it deploys and
the containers read the plaintexts; the `age` command encrypting the same
contents again sends nothing; a changed secret file sends its service only;
a wrong or missing identity sends nothing and says why in one line; a
rollback takes the secret version the engine kept, and needs the identity
(the kept stack file is sealed); and no plaintext is anywhere on the disk:
`.kargo/`, the doit database, the output of every run, /tmp. Not even a
value of `.env.age` that a compose file or a plain template interpolates,
directly or through a `.env` variable made from it: the stack files, their
kept versions and the rendered config are sealed, and a stack file reaches
`docker stack deploy` through its standard input."""
import os
import stat
import subprocess
import sys
import uuid

import pytest

from image_fixtures import images, prefix  # noqa: F401
from support import REPO, age_encrypt, age_keygen as keygen, write
from test_secrets_engine import container_of

pytestmark = pytest.mark.slow

# this run's own: an earlier run's files in /tmp hold earlier ones
RUN = uuid.uuid4().hex[:8]
FILE = f"s3aled-file-{RUN}"        # secrets/token.txt.age
FILE2 = f"s3aled-file2-{RUN}"      # its next content
FILE3 = f"s3aled-file3-{RUN}"      # the one a wrong identity cannot send
OTHER = f"s3aled-other-{RUN}"      # secrets/other.age (the other stack)
ENV = f"s3aled-env-{RUN}"          # .env.age, interpolated by the compose file
TPL_VAR = f"s3aled-tplvar-{RUN}"   # .env.age, read by the encrypted template only
TPL = f"s3aled-tpl-{RUN}"          # the encrypted template's own text
PLAIN_VAR = f"s3aled-plainvar-{RUN}"  # .env.age, read by a plain template
LINKED = f"s3aled-linked-{RUN}"    # .env.age, in a .env variable stack b reads
EVERY = (FILE, FILE2, FILE3, OTHER, ENV, TPL_VAR, TPL, PLAIN_VAR, LINKED)

A_YML = """
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
    configs:
      - source: private
        target: /private.conf
      - source: plain
        target: /plain.conf
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
configs:
  private:
    file: ../configs/app/private.conf
  plain:
    file: ../configs/app/plain.conf
"""

B_YML = """
version: "3.8"
services:
  {service}:
    image: ${{BUSYBOX}}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    secrets: [other]
    environment:
      URL: ${{DERIVED}}
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
secrets:
  other:
    file: ../secrets/other
"""


class Runs:
    """doit runs, every output kept for the grep."""

    def __init__(self, kargo):
        self.kargo = kargo
        self.outputs = []

    def __call__(self, *args, check=True, env=None):
        verbosity = [] if args[0] == "plan" else ["--verbosity", "2"]
        cmd = [sys.executable, "-m", "doit", "-f", str(REPO / "dodo.py"), *verbosity, *args]
        proc = subprocess.run(cmd, env=dict(self.kargo.env, **(env or {})), cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        self.outputs.append((args, proc.stdout + proc.stderr))
        if check:
            assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
        return proc


def age(plain, workspace, rel, armor=False):
    """Debian's `age` encrypts `plain` for the workspace's recipients into `rel`."""
    age_encrypt(plain, workspace / ".age-recipients", workspace / rel, armor)


def read(client, service, path):
    return container_of(client, service).exec_run(["cat", path]).output.decode()


def versions(client, *services):
    return {s: client.api.inspect_service(s)["Version"]["Index"] for s in services}


def secrets_of(client, project):
    return sorted(s["Spec"]["Name"] for s in client.api.secrets(
        filters={"label": f"com.docker.stack.namespace={project}"}))


def holders(root, texts):
    """{path relative to `root`: mode} of the files under `root` holding one of `texts`."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(t.encode() in data for t in texts):
                found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_encrypted_workspace_deploys_and_no_plaintext_is_on_the_disk(images, tmp_path):
    images.write_root(stacks=True)
    k, client = images.kargo, images.client
    sa, sb = images.stacks
    a, b = images.a, f"{images.b}-svc"
    svc_a, svc_b = f"kargo-{sa}_{a}", f"kargo-{sb}_{b}"
    ws = k.workspace
    key = tmp_path / "key.txt"
    write(ws / ".age-recipients", f"# the team\n{keygen(key)}\n")
    age(f"{FILE}\n", ws, "secrets/token.txt.age")
    age(f"{OTHER}\n", ws, "secrets/other.age", armor=True)
    env_text = (f"APP_TOKEN={ENV}\nTPL_VALUE={TPL_VAR}\nPLAIN_VALUE={PLAIN_VAR}\n"
                f"LINKED={LINKED}\n")
    age(env_text, ws, ".env.age", armor=True)
    tpl_text = f"{TPL} ${{TPL_VALUE}}\n"
    age(tpl_text, ws, "configs/app/private.conf.tpl.age")
    write(ws / ".env", "GREETING=not-a-secret\nDERIVED=pg://u:${LINKED}@db\n")
    write(ws / "configs/app/plain.conf.tpl", "plain ${PLAIN_VALUE}\n")  # not encrypted
    write(ws / f"deploy/{a}.yml", A_YML.format(service=a, p=prefix(a)))
    write(ws / f"deploy/{b}.yml", B_YML.format(service=b))
    k.env["KARGO_AGE_IDENTITY"] = str(key)
    run = Runs(k)

    run("deploy")
    assert read(client, svc_a, "/run/secrets/app_token") == f"{FILE}\n"
    assert read(client, svc_a, "/private.conf") == f"{TPL} {TPL_VAR}\n"
    assert read(client, svc_a, "/plain.conf") == f"plain {PLAIN_VAR}\n"
    assert f"TOKEN={ENV}" in container_of(client, svc_a).attrs["Config"]["Env"]
    assert read(client, svc_b, "/run/secrets/other") == f"{OTHER}\n"
    assert f"URL=pg://u:{LINKED}@db" in container_of(client, svc_b).attrs["Config"]["Env"]
    assert run("deploy").stdout == ""
    before, secrets_before = versions(client, svc_a, svc_b), secrets_of(client, f"kargo-{sa}")

    # the `age` command encrypts the same contents again: nothing is sent
    age(f"{FILE}\n", ws, "secrets/token.txt.age", armor=True)
    age(f"{OTHER}\n", ws, "secrets/other.age")
    age(env_text, ws, ".env.age")
    age(tpl_text, ws, "configs/app/private.conf.tpl.age", armor=True)
    proc = run("deploy")
    assert "deploy " not in proc.stdout, proc.stdout
    assert versions(client, svc_a, svc_b) == before
    assert secrets_of(client, f"kargo-{sa}") == secrets_before

    # a changed secret file: its service only
    age(f"{FILE2}\n", ws, "secrets/token.txt.age")
    proc = run("deploy")
    assert f"deploy {sa}: {a} (changed)" in proc.stdout and f"deploy {sb}" not in proc.stdout
    assert read(client, svc_a, "/run/secrets/app_token") == f"{FILE2}\n"
    assert versions(client, svc_b) == {svc_b: before[svc_b]}
    before = versions(client, svc_a, svc_b)

    # a wrong identity, then none: nothing is sent, one line says why
    age(f"{FILE3}\n", ws, "secrets/token.txt.age")
    wrong = tmp_path / "wrong.txt"
    wrong_public = keygen(wrong)
    for identity in (wrong, tmp_path / "missing.txt"):
        proc = run("deploy", check=False, env={"KARGO_AGE_IDENTITY": str(identity)})
        assert proc.returncode != 0
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, proc.stderr
        assert f"{ws}/.env.age: cannot decrypt: " in lines[0] and str(identity) in lines[0]
        assert "made for 1 X25519 key (age1...)" in lines[0] and ".age-recipients lists age1" \
            in lines[0]
        assert versions(client, svc_a, svc_b) == before
    # .env.age opens, the secret file does not: its own line, nothing sent
    age(env_text, ws, ".env.age")
    write(ws / ".age-recipients", f"{wrong_public}\n")
    age(f"{FILE3}\n", ws, "secrets/token.txt.age")
    proc = run("deploy", check=False, env={"KARGO_AGE_IDENTITY": str(key)})
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert f"{ws}/secrets/token.txt.age: cannot decrypt: " in lines[0]
    assert versions(client, svc_a, svc_b) == before

    # plan names the encrypted files; the right identity deploys the last content
    proc = run("plan", check=False, env={"KARGO_AGE_IDENTITY": f"{key}:{wrong}"})
    assert proc.stdout.splitlines()[0] == ("encrypted (age): .env.age, "
                                           "configs/app/private.conf.tpl.age, secrets/other.age, "
                                           "secrets/token.txt.age")
    run("deploy", env={"KARGO_AGE_IDENTITY": f"{key}:{wrong}"})
    assert read(client, svc_a, "/run/secrets/app_token") == f"{FILE3}\n"
    # pruned as any secret: the ones still used by a task shutting down at a
    # deploy go at the next one
    now = secrets_of(client, f"kargo-{sa}")
    assert len(now) <= 2 and not set(now) & set(secrets_before), (now, secrets_before)
    # a rollback needs the identity (the kept stack file is sealed): one line
    # without, nothing sent; with, it takes the version the engine kept,
    # never the workspace's file
    before = versions(client, svc_a, svc_b)
    proc = run(f"rollback:{sa}", check=False, env={"KARGO_AGE_IDENTITY": str(tmp_path / "no")})
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) == 1, proc.stderr
    assert "cannot decrypt: no age identity" in lines[0], lines
    assert versions(client, svc_a, svc_b) == before
    run(f"rollback:{sa}", env={"KARGO_AGE_IDENTITY": str(key)})
    assert read(client, svc_a, "/run/secrets/app_token") == f"{FILE2}\n"

    # no plaintext anywhere: what every run printed, .kargo/, the doit database, /tmp
    for args, output in run.outputs:
        for text in EVERY:
            assert text not in output, f"`doit {' '.join(args)}` printed {text}"
    assert holders(k.merged, EVERY) == {}
    # what a compose file or a plain template made of `.env.age` values: sealed
    for rel in (f"stacks/{sa}.yml", f"stacks/{sb}.yml", "configs/app/plain.conf"):
        assert (k.merged / rel).read_bytes().startswith(b"kargo-sealed/v1 "), rel
    assert "kargo-sealed/v1 " in (k.merged / f".state/history/{sa}.json").read_text()
    db = (k.merged / ".state/doit.db").read_bytes()
    assert not [t for t in EVERY if t.encode() in db]
    # the files of /tmp's own file system (-xdev: not a /proc a chroot
    # under /tmp has mounted, whose pagemaps are terabytes)
    grep = subprocess.run(["sh", "-c", 'find /tmp -xdev -type f -print0 | xargs -0 -r grep -lsF '
                           + " ".join(f"-e {t}" for t in EVERY)], capture_output=True, text=True)
    assert grep.stdout == "", grep.stdout
    assert os.path.isdir(k.merged)
