"""Load: 50 stacks of 4 busybox services each (dnsrr, one external network)
deploy and converge on the local Swarm; a second deploy changes nothing;
`doit remove` removes them all. Plain `doit deploy`: the schedule overlaps
the waits itself, nobody needs `-n` for it."""
import re
import shutil
import subprocess
import time

import pytest

from support import write

pytestmark = [pytest.mark.slow, pytest.mark.swarm]

STACKS, SERVICES = 50, 4
NAMESPACE = "com.docker.stack.namespace"

SERVICE_YML = """
version: "3.8"
services:
  {name}:
    image: ${{BUSYBOX}}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
"""


def acted(proc, kind):
    """The stacks a deploy sent or a remove removed, in order (`deploy
    <stack>: ...`, `remove <stack>`)."""
    return re.findall(rf"^{kind} ([\w-]+?):?(?: |$)", proc.stdout, re.MULTILINE)


def prefix(name):
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


class Load:
    def __init__(self, kargo, client, unique, image):
        self.kargo, self.client = kargo, client
        self.stacks = [f"{unique}-s{i:02d}" for i in range(STACKS)]
        self.network = f"{unique}-back"
        self.project_prefix = f"kargo-{unique}-s"

    def write_root(self, image):
        defaults = self.kargo.root / "defaults"
        shutil.rmtree(defaults)
        lines = [f'STACKS="{" ".join(self.stacks)}"', f"DOCKER_BACK_NETWORK={self.network}",
                 f"BUSYBOX={image}", "KARGO_DEPLOY_TIMEOUT=240"]
        for i, stack in enumerate(self.stacks):
            names = [f"s{i:02d}-w{j}" for j in range(SERVICES)]
            lines.append(f'{prefix(stack)}_STACK="{" ".join(names)}"')
            for name in names:
                write(defaults / f"deploy/{name}.yml", SERVICE_YML.format(name=name))
        write(defaults / ".env.default", "\n".join(lines) + "\n")

    def services(self):
        """{name: (id, version)} of our services (one list call)."""
        return {s["Spec"]["Name"]: (s["ID"], s["Version"]["Index"])
                for s in self.client.api.services()
                if s["Spec"]["Name"].startswith(self.project_prefix)}

    def running(self, ids):
        tasks = self.client.api.tasks(filters={"desired-state": "running"})
        return {t["ServiceID"] for t in tasks
                if t["ServiceID"] in ids and t["Status"]["State"] == "running"}

    def ours(self, kind):
        found = getattr(self.client.api, kind)()
        return [x for x in found
                if ((x.get("Labels") or (x.get("Spec") or {}).get("Labels") or {})
                    .get(NAMESPACE, "").startswith(self.project_prefix))]

    def containers(self):
        return [c for c in self.client.api.containers(all=True, filters={"label": NAMESPACE})
                if c["Labels"].get(NAMESPACE, "").startswith(self.project_prefix)]

    def cleanup(self):
        """Remove what is left of our stacks, then the task containers the
        swarm agent would remove in its own time (they hold the network),
        then the network."""
        errors = []
        for project in sorted({name.split("_", 1)[0] for name in self.services()}):
            subprocess.run(["docker", "stack", "rm", project], capture_output=True, text=True)
        deadline = time.monotonic() + 180
        while self.services() or self.ours("networks") or self.containers():
            if time.monotonic() > deadline:
                errors.append(f"still there: {sorted(self.services())[:3]} "
                              f"{[c['Names'] for c in self.containers()[:3]]}")
                break
            if not self.services():
                for container in self.containers():
                    if container["State"] in ("exited", "dead", "created"):
                        try:
                            self.client.api.remove_container(container["Id"])
                        except Exception:
                            pass  # the agent got there first
            time.sleep(0.5)
        for net in self.client.api.networks(filters={"name": self.network}):
            if net["Name"] == self.network:
                for _ in range(60):
                    try:
                        self.client.api.remove_network(net["Id"])
                        break
                    except Exception as exc:  # a task container still on it
                        error = exc
                        time.sleep(0.5)
                else:
                    errors.append(f"network {self.network}: {error}")
        return errors


@pytest.fixture
def load(kargo, docker_client, busybox_image, unique_name):
    env = Load(kargo, docker_client, unique_name, busybox_image)
    env.write_root(busybox_image)
    yield env
    errors = env.cleanup()
    assert not errors, errors


def test_fifty_stacks_of_four_services(load):
    k = load.kargo
    start = time.monotonic()
    proc = k.run("deploy")
    deployed = time.monotonic() - start
    assert acted(proc, "deploy") == load.stacks, proc.stdout  # in STACKS order
    assert proc.stderr == ""
    services = load.services()
    assert len(services) == STACKS * SERVICES
    ids = {sid for sid, _ in services.values()}
    assert load.running(ids) == ids, "not every service runs its task"
    for spec in load.client.api.services():
        if spec["ID"] in ids:
            assert spec["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"

    # nothing to do, and the engine saw nothing change
    start = time.monotonic()
    again = k.run("deploy")
    checked = time.monotonic() - start
    assert (again.stdout, again.stderr) == ("", "")
    assert load.services() == services

    start = time.monotonic()
    proc = k.run("remove")
    removed = time.monotonic() - start
    assert acted(proc, "remove") == load.stacks[::-1], proc.stdout  # last one first
    assert load.services() == {}
    assert load.ours("networks") == []
    assert k.run("remove").stdout == ""
    print(f"deploy {deployed:.0f}s, no-op deploy {checked:.1f}s, remove {removed:.0f}s")


def test_workers_racing_for_the_digest_key_share_one(tmp_path, monkeypatch):
    from kargo_tasks.operations import project
    from kargo_tasks.workspace.layout import Layout
    lay = Layout(tmp_path)
    lay.state.mkdir(parents=True)
    winner = b"w" * 32

    def token_bytes(n):
        # another worker writes its key between our read and our write
        (lay.state / "digest.key").write_bytes(winner)
        return b"l" * n
    monkeypatch.setattr(project.secrets, "token_bytes", token_bytes)
    project.digest_key.cache_clear()
    try:
        assert project.digest_key(lay) == winner
        assert (lay.state / "digest.key").read_bytes() == winner
    finally:
        project.digest_key.cache_clear()
