"""A 3-node Swarm on this machine (`scripts/swarm-nodes up --own-manager`)
and a kargo root deploying one stack onto it.

`cluster` (module scope) brings the nodes up before the module and `down`
after it: the manager kt-m (10.213.0.10, /var/run/kt-m.sock) and the workers
kt-w1 (10.213.0.11) and kt-w2 (10.213.0.12), each a dockerd in a network
namespace on the bridge kargo-br0, with a swarm of their own. The host's
swarm is not touched and none of its services can land on the workers: what
the other engine tests deploy meanwhile neither takes the workers' capacity
nor gets tasks moved by a killed worker, so this module overlaps them
(`scripts/test`); its names are fixed, so its tests are one `xdist_group`.
(Under the host's manager, `scripts/swarm-nodes up`, every unconstrained
service deployed on the host spreads onto the workers and a killed worker
sends its whole share to the other one: the waits here would time out.)
A wait that times out says what else it saw on the workers
(`MultiEnv.interference`).

`multienv` is one test's kargo root: stack `<unique name>-m`, services from
compose files the test names, every name derived from `unique_name`; kargo
(and the docker CLI it runs) talks to the manager through DOCKER_HOST. The
finalizer removes the stack and its network and gives the workers back
without labels and active.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import docker
import pytest

from support import REPO, retry, write

SCRIPT = REPO / "scripts" / "swarm-nodes"
WORKERS = ("kt-w1", "kt-w2")
NAMESPACE = "com.docker.stack.namespace"
SERVICE_LABEL = "com.docker.swarm.service.name"
DEPLOY_TIMEOUT = 60

SERVICE_YML = """
version: "3.8"
services:
  {name}:
    image: ${{BUSYBOX}}
    command: {command}
    stop_grace_period: 1s
    environment:
      KT_REVISION: ${{KT_REVISION:-1}}
    deploy:
      replicas: ${{{prefix}_REPLICAS:-1}}
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
"""


def swarm_nodes(*args, timeout=600):
    """`scripts/swarm-nodes <args>`; the CompletedProcess."""
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def wait_for(predicate, what, timeout=90, interval=0.5):
    """The first truthy value of predicate() within `timeout` seconds.
    `what` names the wait in the failure; a callable is called then (the
    state at the timeout, not at the start)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what() if callable(what) else what}: not after {timeout}s",
                        pytrace=False)
        time.sleep(interval)


class Cluster:
    """The manager (docker-py client on its socket) and the workers' daemons."""

    def __init__(self, up_args, url):
        self.up_args = up_args
        self.url = url
        self.client = docker.DockerClient(base_url=url, timeout=120)
        self._workers = {}

    def close(self):
        for client in [self.client, *self._workers.values()]:
            client.close()

    # -- nodes, as the manager sees them ---------------------------------------
    def node(self, hostname):
        nodes = [n for n in self.client.api.nodes(filters={"name": hostname})
                 if n["Description"]["Hostname"] == hostname]
        assert len(nodes) == 1, f"{len(nodes)} nodes named {hostname}"
        return nodes[0]

    def node_id(self, hostname):
        return self.node(hostname)["ID"]

    def hostname(self, node_id):
        return self.client.api.inspect_node(node_id)["Description"]["Hostname"]

    def manager(self):
        return next(n for n in self.client.api.nodes() if n["Spec"]["Role"] == "manager")

    def labels(self, hostname):
        return self.node(hostname)["Spec"].get("Labels") or {}

    def update_node(self, hostname, **changes):
        """Change the node's spec (Labels=..., Availability=...), retrying on
        a version conflict."""
        for _ in range(20):
            node = self.node(hostname)
            spec = dict(node["Spec"], **changes)
            try:
                self.client.api.update_node(node["ID"], node["Version"]["Index"], spec)
                return
            except docker.errors.APIError as exc:
                error = exc
                time.sleep(0.2)
        raise error

    def state(self, hostname):
        return self.node(hostname)["Status"]["State"]

    # -- the workers' own daemons ------------------------------------------------
    def worker(self, hostname):
        """docker-py on the worker's own dockerd (its containers)."""
        if hostname not in self._workers:
            self._workers[hostname] = docker.DockerClient(
                base_url=f"unix:///var/run/{hostname}.sock", timeout=60)
        return self._workers[hostname]

    def containers(self, hostname, service):
        """Running containers of `service` on that worker's daemon."""
        return self.worker(hostname).containers.list(filters={"label": f"{SERVICE_LABEL}={service}"})

    def daemon_pid(self, hostname):
        return int(open(f"/var/run/{hostname}.pid").read())

    def kill_daemon(self, hostname):
        """SIGKILL the worker's dockerd (a node lost); back once the manager
        sees the node down."""
        pid = self.daemon_pid(hostname)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid),
                 f"dockerd of {hostname} (pid {pid}) gone", timeout=20)
        self._workers.pop(hostname, None)
        wait_for(lambda: self.state(hostname) == "down", f"manager sees {hostname} down",
                 timeout=90)

    def up(self):
        """`scripts/swarm-nodes up` again: restarts a killed daemon, waits
        until every worker is ready."""
        proc = swarm_nodes(*self.up_args)
        if proc.returncode != 0:
            pytest.fail(f"swarm-nodes {' '.join(self.up_args)}:\n{proc.stdout}\n{proc.stderr}",
                        pytrace=False)
        for hostname in WORKERS:
            if self.state(hostname) != "ready":
                pytest.fail(f"{hostname} not ready after swarm-nodes up", pytrace=False)

    def reset_workers(self):
        """Workers active and without labels, as `up` left them."""
        for hostname in WORKERS:
            node = self.node(hostname)
            if node["Spec"].get("Labels") or node["Spec"]["Availability"] != "active":
                self.update_node(hostname, Labels={}, Availability="active")


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture(scope="module")
def cluster(busybox_image):
    """Manager + kt-w1 + kt-w2 for the module; `down` in the finalizer.
    (busybox_image first: the workers pull it from the registry.)"""
    up_args = ["up", "--own-manager"]
    proc = swarm_nodes(*up_args)
    if proc.returncode != 0:
        down = swarm_nodes("down")
        pytest.fail(f"scripts/swarm-nodes {' '.join(up_args)} exited {proc.returncode}:\n"
                    f"{proc.stdout}{proc.stderr}\n(down: {down.stdout}{down.stderr})",
                    pytrace=False)
    url = swarm_nodes("manager").stdout.strip()
    nodes = Cluster(up_args, url)
    try:
        yield nodes
    finally:
        nodes.close()
        proc = swarm_nodes("down")
        assert proc.returncode == 0, f"swarm-nodes down:\n{proc.stdout}\n{proc.stderr}"
        for hostname in WORKERS:
            assert not os.path.exists(f"/var/run/netns/{hostname}"), hostname
            assert not os.path.exists(f"/var/lib/{hostname}"), hostname


class MultiEnv:
    """One test's kargo root: stack `<name>-m` on the cluster."""

    def __init__(self, kargo, cluster, name, image):
        self.kargo = kargo
        self.cluster = cluster
        self.client = cluster.client
        self.name = name
        self.image = image
        self.stack = f"{name}-m"
        self.project = f"kargo-{self.stack}"
        self.back = f"{name}-back"
        self.key = f"kt_role_{name[3:]}"      # the node label the tests place by
        kargo.env["DOCKER_HOST"] = cluster.url

    @staticmethod
    def prefix(name):
        return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()

    def service(self, name):
        return f"{self.project}_{name}"

    def write_defaults(self, services):
        """{service: command (list)}: one compose file each, one stack."""
        defaults = self.kargo.root / "defaults"
        shutil.rmtree(defaults)  # the mini defaults of the `kargo` fixture
        lines = [f'STACKS="{self.stack}"',
                 f'{self.prefix(self.stack)}_STACK="{" ".join(services)}"',
                 f"DOCKER_FRONT_NETWORK={self.name}-front", f"DOCKER_BACK_NETWORK={self.back}",
                 f"KARGO_DEPLOY_TIMEOUT={DEPLOY_TIMEOUT}", f"BUSYBOX={self.image}"]
        write(defaults / ".env.default", "\n".join(lines) + "\n")
        for name, command in services.items():
            write(defaults / f"deploy/{name}.yml", SERVICE_YML.format(
                name=name, prefix=self.prefix(name),
                command="[" + ", ".join(f'"{word}"' for word in command) + "]"))

    def set_env(self, text):
        write(self.kargo.workspace / ".env", text)

    def run(self, *args, check=True, env=None):
        return self.kargo.run(*args, check=check, env=env)

    # -- engine state, as the manager sees it -------------------------------------
    def tasks(self, name, running=True):
        tasks = self.client.api.tasks(filters={"service": self.service(name)})
        if running:
            tasks = [t for t in tasks
                     if t["DesiredState"] == "running" and t["Status"]["State"] == "running"]
        return tasks

    def placement(self, name):
        """Sorted hostnames of the service's running tasks."""
        return sorted(self.cluster.hostname(t["NodeID"]) for t in self.tasks(name))

    def pending(self, name):
        """Status.Err of the service's tasks that wait for a node."""
        return [t["Status"].get("Err", "") for t in self.tasks(name, running=False)
                if t["DesiredState"] == "running" and t["Status"]["State"] == "pending"]

    def converged_on(self, name, hostnames):
        """Wait until the service runs exactly on `hostnames` (sorted list)."""
        return wait_for(lambda: self.placement(name) == sorted(hostnames),
                        lambda: f"{self.service(name)} running on {hostnames} "
                                f"(now {self.placement(name)}){self.interference(name)}")

    def interference(self, name):
        """What else acts on the workers (see the module docstring): the
        service's tasks, the workers' labels, and the tasks of other
        services on them. Text for a failure message."""
        lines = []
        try:
            for t in self.tasks(name, running=False):
                node = t.get("NodeID") or "-"
                lines.append(f"task {t['ID'][:12]} on {node[:12]}: desired {t['DesiredState']}, "
                             f"{t['Status']['State']} {t['Status'].get('Err', '')}".rstrip())
        except Exception as exc:  # a diagnosis, never the failure itself
            lines.append(f"(no tasks: {exc})")
        try:
            nodes = {n["ID"]: n for n in self.client.api.nodes()
                     if n["Description"]["Hostname"] in WORKERS}
            for node in nodes.values():
                lines.append(f"{node['Description']['Hostname']}: {node['Status']['State']}, "
                             f"labels {node['Spec'].get('Labels') or {}}")
            foreign = {}
            names = {sv["ID"]: sv["Spec"]["Name"] for sv in self.client.api.services()}
            for t in self.client.api.tasks(filters={"desired-state": "running"}):
                labels = t["Spec"].get("ContainerSpec", {}).get("Labels") or {}
                owner = labels.get(NAMESPACE) or names.get(t["ServiceID"], t["ServiceID"][:12])
                if t.get("NodeID") in nodes and owner != self.project:
                    host = nodes[t["NodeID"]]["Description"]["Hostname"]
                    foreign[(owner, host)] = foreign.get((owner, host), 0) + 1
            if foreign:
                lines.append("tasks of other services on the workers: " + ", ".join(
                    f"{owner} {count} on {host}" for (owner, host), count in sorted(foreign.items())))
        except Exception as exc:
            lines.append(f"(no nodes: {exc})")
        return "".join(f"\n  {line}" for line in lines)

    def gone(self):
        return not (self.client.api.services(filters={"label": f"{NAMESPACE}={self.project}"})
                    or self.client.api.networks(filters={"label": f"{NAMESPACE}={self.project}"}))

    def cleanup(self):
        errors = []
        try:
            if not self.gone():
                subprocess.run(["docker", "-H", self.cluster.url, "stack", "rm", self.project],
                               check=True, capture_output=True, text=True)
                wait_for(self.gone, f"stack {self.project} removed", timeout=60)
        except BaseException as exc:  # noqa: B036 - keep cleaning
            errors.append(f"stack: {exc}")
        # the engine's name filter matches a config by its prefix but a swarm
        # network only by its whole name: ask for each network by name
        found = [("config", item["Spec"]["Name"], item["ID"], self.client.api.remove_config)
                 for item in self.client.api.configs(filters={"name": self.name})]
        for net in (self.back, f"{self.name}-front"):
            found += [("network", item["Name"], item["Id"], self.client.api.remove_network)
                      for item in self.client.api.networks(filters={"name": net})]
        for kind, name, ident, remover in found:
            if name.startswith(self.name):
                error = retry(lambda: remover(ident), timeout=30)
                if error:
                    errors.append(f"{kind} {name}: {error}")
        if self.client.api.networks(filters={"name": self.back}):
            errors.append(f"network {self.back} is still there")
        try:
            self.cluster.reset_workers()
        except Exception as exc:
            errors.append(f"workers: {exc}")
        return errors



@pytest.fixture
def multienv(kargo, cluster, busybox_image, unique_name):
    env = MultiEnv(kargo, cluster, unique_name, busybox_image)
    yield env
    errors = env.cleanup()
    assert not errors, f"cleanup failed: {errors}"
