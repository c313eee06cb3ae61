"""A two-stack kargo root on the real Swarm, and the engine helpers the stack
tests assert with.

Every name is derived from `unique_name` (stacks, networks, hence configs), so
tests never meet each other's or anyone else's resources, and the finalizer
removes exactly what the test made: its `<platform>-<stack>` stacks (waiting until
their services and networks are gone), their configs and secrets, its networks.
"""
import re
import shutil
import subprocess
import time

import pytest

from event_recorder import recorder
from support import retry, write

NAMESPACE = "com.docker.stack.namespace"
DEPLOY_TIMEOUT = 40

WEB_YML = """
version: "3.8"
services:
  web:
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    environment:
      GREETING: ${GREETING:-hello}
      MOTTO: ${MOTTO:-plain}
    configs:
      - source: web_conf
        target: /etc/web.conf
    deploy:
      replicas: ${WEB_REPLICAS}
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
configs:
  web_conf:
    file: ../configs/web/web.conf
"""

CACHE_YML = """
version: "3.8"
services:
  cache:
    image: ${BUSYBOX}
    command: ["sleep", "3601"]
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

WORKER_YML = """
version: "3.8"
services:
  worker:
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy:
      replicas: ${WORKER_REPLICAS}
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""


class StackEnv:
    """The kargo root of one test, its stack names and engine helpers."""

    def __init__(self, kargo, client, name, image, platform="kargo"):
        self.kargo = kargo
        self.client = client
        self.name = name
        self.image = image
        self.platform = platform       # KARGO_PREFIX of the workspace
        self.a = f"{name}-a"           # stack of services `web` (with a config) and `cache`
        self.b = f"{name}-b"           # stack of service `worker`, depends on a
        self.front = f"{name}-front"
        self.back = f"{name}-back"
        self.extra_stacks = []         # stacks a test adds to STACKS

    # -- names ---------------------------------------------------------------
    @staticmethod
    def prefix(name):
        """The variable prefix of a name (kargo's rule)."""
        return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()

    def project(self, stack):
        return f"{self.platform}-{stack}"

    def service(self, stack, service):
        return f"{self.project(stack)}_{service}"

    @property
    def stacks(self):
        return [self.a, self.b, *self.extra_stacks]

    # -- files ---------------------------------------------------------------
    def write_defaults(self):
        defaults = self.kargo.root / "defaults"
        shutil.rmtree(defaults)  # the mini defaults of the `kargo` fixture
        a, b = self.prefix(self.a), self.prefix(self.b)
        lines = [f'STACKS="{self.a} {self.b}"', f'{a}_STACK="web cache"', f'{b}_STACK="worker"',
                 f'{b}_DEPENDS="{self.a}"', f"DOCKER_FRONT_NETWORK={self.front}",
                 f"DOCKER_BACK_NETWORK={self.back}", f"KARGO_DEPLOY_TIMEOUT={DEPLOY_TIMEOUT}",
                 f"BUSYBOX={self.image}", "WEB_REPLICAS=1", "WORKER_REPLICAS=2"]
        write(defaults / ".env.default", "\n".join(lines) + "\n")
        write(defaults / "deploy/web.yml", WEB_YML)
        write(defaults / "deploy/cache.yml", CACHE_YML)
        write(defaults / "deploy/worker.yml", WORKER_YML)
        write(defaults / "configs/web/web.conf", "level = 1\n")

    def set_env(self, text):
        """Replace the workspace .env."""
        write(self.kargo.workspace / ".env", text)

    # -- runs ----------------------------------------------------------------
    def run(self, *args, check=True, env=None):
        return self.kargo.run(*args, check=check, env=env)

    # -- engine state ----------------------------------------------------------
    def services(self, stack=None):
        """{service name: inspect dict} of one of our stacks, or of all of them."""
        found = {}
        for s in ([stack] if stack else self.stacks):
            for svc in self.client.api.services(filters={"label": f"{NAMESPACE}={self.project(s)}"}):
                found[svc["Spec"]["Name"]] = svc
        return found

    def versions(self, stack=None):
        """{service name: (ID, Version.Index, UpdatedAt)}."""
        return {name: (s["ID"], s["Version"]["Index"], s["UpdatedAt"])
                for name, s in self.services(stack).items()}

    def inspect(self, service_name):
        return self.client.api.inspect_service(service_name)

    def running(self, service_name):
        tasks = self.client.api.tasks(filters={"service": service_name,
                                               "desired-state": "running"})
        return [t for t in tasks if t["Status"]["State"] == "running"]

    def configs(self, stack):
        return sorted(c["Spec"]["Name"] for c in self.client.api.configs(
            filters={"label": f"{NAMESPACE}={self.project(stack)}"}))

    def now(self):
        """A mark of the engine's events (event_recorder): what the engine
        did after it is in service_events and mutations from that mark on."""
        return recorder(self.client).mark()

    def _events(self, since, until):
        """Our services', configs' and secrets' events between two marks
        (`until`: now), as the engine sent them."""
        until = until or self.now()
        ours = tuple(f"{self.project(s)}_" for s in self.stacks)
        return [e for e in recorder(self.client).between(since, until)
                if e["Actor"]["Attributes"].get("name", "").startswith(ours)]

    def service_events(self, since, until=None):
        """[(action, service name, attributes)] of our services in [since, until]."""
        return [(e["Action"], e["Actor"]["Attributes"]["name"], e["Actor"]["Attributes"])
                for e in self._events(since, until) if e["Type"] == "service"]

    def mutations(self, since, until=None):
        """{(type, action, name): count} of the engine operations that changed
        our services, configs and secrets in [since, until], counted as bench
        P3 counts them: a service `update` event per spec sent (an event
        carrying only `updatestate.*` is the progress of one update)."""
        import collections
        found = collections.Counter()
        for event in self._events(since, until):
            attrs = event["Actor"]["Attributes"]
            if event["Type"] == "service" and "updatestate.new" in attrs and not (
                    set(attrs) - {"name", "updatestate.old", "updatestate.new"}):
                continue
            found[(event["Type"], event["Action"], attrs["name"])] += 1
        return dict(found)

    # -- cleanup ---------------------------------------------------------------
    def stack_gone(self, stack):
        project = self.project(stack)
        return not (self.client.api.services(filters={"label": f"{NAMESPACE}={project}"})
                    or self.client.api.networks(filters={"label": f"{NAMESPACE}={project}"}))

    def wait_gone(self, stack, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.stack_gone(stack):
            assert time.monotonic() < deadline, f"stack {self.project(stack)} still there"
            time.sleep(0.5)

    def docker_stack_rm(self, stack):
        subprocess.run(["docker", "stack", "rm", self.project(stack)], check=True,
                       capture_output=True, text=True)

    def cleanup(self):
        errors = []
        for stack in self.stacks:
            try:
                if not self.stack_gone(stack):
                    self.docker_stack_rm(stack)
                    self.wait_gone(stack)
            except Exception as exc:  # keep cleaning the rest
                errors.append(f"{stack}: {exc}")
        api = self.client.api
        for stack in self.stacks:
            for kind, listing, remover in (("config", api.configs, api.remove_config),
                                           ("secret", api.secrets, api.remove_secret)):
                for item in listing(filters={"label": f"{NAMESPACE}={self.project(stack)}"}):
                    error = retry(lambda: remover(item["ID"]))
                    if error:
                        errors.append(f"{kind} {item['Spec']['Name']}: {error}")
        for net in (self.front, self.back):
            for found in self.client.api.networks(filters={"name": net}):
                if found["Name"] == net:  # the name filter matches substrings
                    error = retry(lambda: self.client.api.remove_network(found["Id"]))
                    if error:
                        errors.append(f"network {net}: {error}")
        return errors



STUCK_YML = """
version: "3.8"
services:
  stuck:
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
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


def stuck_stack(env):
    """Stack c: service `stuck`, placed only on a node label no node has, so
    its task stays pending (it never converges, it never fails either)."""
    c = f"{env.name}-c"
    env.extra_stacks.append(c)
    write(env.kargo.workspace / "deploy/stuck.yml", STUCK_YML)
    never = f"STUCK_CONSTRAINTS=node.labels.kt_never_{env.name[3:]}==yes\n"
    base = f'STACKS="{env.a} {env.b} {c}"\n{env.prefix(c)}_STACK="stuck"\n'
    env.set_env(base + never)
    env.run("configure", "_stack")
    return c, base


@pytest.fixture
def stackenv(kargo, docker_client, busybox_image, unique_name):
    env = StackEnv(kargo, docker_client, unique_name, busybox_image)
    env.write_defaults()
    yield env
    errors = env.cleanup()
    assert not errors, f"cleanup failed: {errors}"


def sent(proc):
    """The stacks a deploy acted on, in order (`deploy <stack>: ...` lines)."""
    return [line.split()[1][:-1] for line in proc.stdout.splitlines()
            if line.startswith("deploy ") and line.split()[1].endswith(":")]


def removed(proc):
    """The stacks a remove removed, in order (`remove <stack>` lines)."""
    return [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("remove ")]
