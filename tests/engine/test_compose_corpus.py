"""The corpus (tests/compose/corpus) deployed twice on the real Swarm: by
kargo (`doit deploy`), and the bash Kargo way (`docker stack deploy -c file
-c extension -c constraints ...` with the corpus `.env` exported). Every
service's `docker service inspect` spec must be the same, field by field,
once only kargo's own label and the names of configs and secrets (content
hashes for kargo, `<stack>_<key>` for Docker) are set aside.

The two are deployed one after the other: their ports are published on the
ingress network, which one port serves once.
"""
import base64
import difflib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import Kargo, write

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "compose"))
from compose_support import CORPUS, bash_files, corpus_env, stacks  # noqa: E402

NAMESPACE = "com.docker.stack.namespace"


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory, busybox_image):
    root = tmp_path_factory.mktemp("corpus") / "root"
    write(root / "defaults/.env.default", "# everything is in the workspace\n")
    (root / "images").mkdir()
    workspace = root.parent / "workspace"
    shutil.copytree(CORPUS, workspace)
    kargo = Kargo(root, workspace)
    kargo.env.update(IMAGE=busybox_image.rsplit(":", 1)[0], KARGO_DEPLOY_TIMEOUT="120")
    yield kargo
    for prefix in ("kargo", "bash"):
        _remove(prefix, [s.name for s in stacks(corpus_env())])


def _remove(prefix, names):
    projects = [f"{prefix}-{name}" for name in names]
    subprocess.run(["docker", "stack", "rm", *projects], capture_output=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        left = [p for p in projects for kind in ("service", "network") if subprocess.run(
            ["docker", kind, "ls", "-q", "--filter", f"label={NAMESPACE}={p}"],
            capture_output=True, text=True).stdout.strip()]
        if not left:
            return
        time.sleep(1)


def _specs(docker_client, project):
    """{service: its spec, normalized} of the stack `project`."""
    services = docker_client.api.services(filters={"label": f"{NAMESPACE}={project}"})
    return {s["Spec"]["Name"][len(project) + 1:]: _normalized(docker_client, s["Spec"], project)
            for s in services}


def _normalized(client, spec, project):
    spec = json.loads(json.dumps(spec))
    for labels in (spec.get("Labels") or {}, spec["TaskTemplate"]["ContainerSpec"].get("Labels") or {}):
        for key in (NAMESPACE, "com.docker.stack.image", "org.kargo.spec"):
            labels.pop(key, None)
    spec["Name"] = spec["Name"][len(project) + 1:]
    container = spec["TaskTemplate"]["ContainerSpec"]
    container["Env"] = sorted(container.get("Env") or [])
    for kind, inspect in (("Configs", client.api.inspect_config),
                          ("Secrets", client.api.inspect_secret)):
        for ref in container.get(kind) or []:
            ref_id = ref.pop(kind[:-1] + "ID")
            ref.pop(kind[:-1] + "Name")
            data = inspect(ref_id)["Spec"].get("Data")
            # a secret's data is not readable back: its name's absence is enough
            ref["content"] = base64.b64decode(data).decode() if data else "(secret)"
        # the CLI converts them from a map: their order varies from one deploy to the next
        container.get(kind, []).sort(key=lambda ref: json.dumps(ref, sort_keys=True))
    for mount in container.get("Mounts") or []:
        if mount.get("Type") == "volume" and mount.get("Source"):
            mount["Source"] = mount["Source"].replace(f"{project}_", "", 1)
            (mount.get("VolumeOptions") or {}).get("Labels", {}).pop(NAMESPACE, None)
    for net in spec["TaskTemplate"].get("Networks") or []:
        name = client.api.inspect_network(net["Target"])["Name"]
        net["Target"] = name.replace(f"{project}_", "", 1)
    return spec


def test_kargo_deploys_the_specs_the_bash_kargo_way_deploys(corpus_root, docker_client, tmp_path):
    kargo = corpus_root
    env = corpus_env({"IMAGE": kargo.env["IMAGE"]})
    names = [s.name for s in stacks(env)]
    kargo.run("deploy")
    by_kargo = {name: _specs(docker_client, f"kargo-{name}") for name in names}
    bare = _container_env(docker_client, "kargo-envs_env-list")
    _remove("kargo", names)

    merged = kargo.merged
    for stack in stacks(env):
        files = [Path(str(f).replace(str(CORPUS), str(merged))) for f in
                 bash_files(stack, env, tmp_path)]
        subprocess.run(
            ["bash", "-c", 'set -a; . "$0"; set +a; exec docker stack deploy '
             '--with-registry-auth "$@"', str(kargo.workspace / ".env"),
             *[x for f in files for x in ("-c", str(f))], f"bash-{stack.name}"],
            cwd=merged, env=dict(kargo.env, IMAGE=kargo.env["IMAGE"]), check=True,
            capture_output=True)
    by_bash = {name: _specs(docker_client, f"bash-{name}") for name in names}

    for name in names:
        assert by_kargo[name], f"kargo deployed nothing for {name}"
        kargo_text, bash_text = (json.dumps(d[name], indent=1, sort_keys=True).splitlines()
                                 for d in (by_kargo, by_bash))
        assert kargo_text == bash_text, f"{name}:\n" + "\n".join(
            difflib.unified_diff(bash_text, kargo_text, "bash Kargo way", "kargo", lineterm=""))
    # a bare `- SUBDOMAIN` got the workspace's value, inside the container
    assert "SUBDOMAIN=corpus.example.org" in bare
    assert "FILE_BARE=bare-from-env" in bare
    assert not any(line.startswith("NOT_SET_ANYWHERE") for line in bare)


def _container_env(client, service):
    for _ in range(60):
        tasks = client.api.tasks(filters={"service": service, "desired-state": "running"})
        ids = [t["Status"].get("ContainerStatus", {}).get("ContainerID") for t in tasks]
        ids = [i for i in ids if i]
        if ids:
            out = subprocess.run(["docker", "exec", ids[0], "env"], capture_output=True, text=True)
            if out.returncode == 0:
                return out.stdout.splitlines()
        time.sleep(1)
    raise AssertionError(f"no running container for {service}")
