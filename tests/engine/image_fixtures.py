"""A kargo root with two busybox-based image contexts, and the engine and
registry helpers the image tests assert with.

Every name derives from `unique_name`: the image names (hence the
`org.kargo.image` build label), the registry repositories
(`127.0.0.1:5000/kargo-test-<unique>/<image>`), the stacks and the network.
So a test only ever sees, and its finalizer only ever removes, what it made:
its stacks (waiting until they are gone), its network, the tags of its
repositories, the images it built that are left without any tag, and the
manifests of its repositories in the registry.
"""
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request

import docker
import pytest

from support import retry, write

BUSYBOX_BIN = "/bin/busybox"
NAMESPACE = "com.docker.stack.namespace"
IMAGE_LABEL = "org.kargo.image"
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])

# Exec-form RUN first: scratch has no shell until busybox installs one.
# marker.txt is the context file a test changes to make the image stale.
DOCKERFILE = """\
FROM scratch
ARG GREETING=none
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo "greeting=$GREETING" > /greeting
COPY marker.txt /marker.txt
CMD ["sleep", "3600"]
"""

# A workspace override whose RUN fails. The marker only appears in the RUN's
# *output* ("boom-42"), never in the command text ("boom-$((6*7))") that the
# engine quotes in its error: finding it proves the build log tail is shown.
FAILING_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/sh", "-c", "echo boom-$((6*7)); exit 3"]
CMD ["sleep", "3600"]
"""
FAIL_MARKER = "boom-42"

SERVICE_YML = """
version: "3.8"
services:
  {service}:
    image: {image}
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


def prefix(name):
    return name.upper().replace("-", "_")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Registry:
    """HTTP questions to a registry (v2 API, no auth)."""

    def __init__(self, address):
        self.address = address

    def _request(self, path, method="GET", accept=None):
        req = urllib.request.Request(f"http://{self.address}/v2/{path}", method=method)
        if accept:
            req.add_header("Accept", accept)
        return urllib.request.urlopen(req, timeout=10)

    def tags(self, repo):
        """The tags of `repo` (without the registry address), [] when unknown."""
        try:
            with self._request(f"{repo}/tags/list") as resp:
                return sorted(json.load(resp).get("tags") or [])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise

    def digest(self, repo, tag):
        """The manifest digest of `repo:tag`, None when there is none."""
        try:
            with self._request(f"{repo}/manifests/{tag}", "HEAD", MANIFEST_TYPES) as resp:
                return resp.headers["Docker-Content-Digest"]
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def delete_repo(self, repo):
        """Delete the manifests of every tag of `repo` (blobs wait for the
        registry's own garbage collection, which we never run)."""
        errors = []
        for digest in {self.digest(repo, tag) for tag in self.tags(repo)} - {None}:
            try:
                self._request(f"{repo}/manifests/{digest}", "DELETE").close()
            except urllib.error.HTTPError as exc:
                if exc.code not in (404, 405):  # 405: deletes disabled there
                    errors.append(f"{repo}@{digest}: {exc}")
        return errors


class OwnRegistry(Registry):
    """A registry process of our own on a free port, storage in a tmp dir."""

    def __init__(self, tmp):
        super().__init__(f"127.0.0.1:{free_port()}")
        self.tmp = tmp
        self.proc = None

    def start(self):
        config = write(self.tmp / "config.yml", f"""
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: {self.tmp / 'data'}
              delete:
                enabled: true
            http:
              addr: {self.address}
            """)
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                self._request("").close()
                return
            except (OSError, urllib.error.URLError):
                assert self.proc.poll() is None, "our registry exited at start"
                assert time.monotonic() < deadline, f"our registry on {self.address} not up"
                time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ImageEnv:
    """The kargo root of one test: images `a` and `b` (two contexts), an
    optional stack per image, and engine helpers."""

    def __init__(self, kargo, client, registry, unique, busybox, tmp):
        self.kargo = kargo
        self.client = client
        self.registry = Registry(registry)
        self.unique = unique                       # kt-xxxxxxxx
        hexpart = unique.split("-", 1)[1]
        self.a = f"bb-{hexpart}"                   # image names = context folders
        self.b = f"bx-{hexpart}"
        self.namespace = f"kargo-test-{unique}"    # registry namespace
        self.busybox = busybox                     # the busybox_image fixture's ref
        self.tmp = tmp
        self.stacks = []                           # stack names the test deployed
        self.network = f"{unique}-back"
        self.own_registries = []
        self.seen_ids = set()                      # image ids our refs had
        self.extra_repos = []                      # (Registry, repo) of imports etc.

    # -- names -----------------------------------------------------------------
    def repo(self, image, registry=None):
        """`registry/kargo-test-<unique>/<image>` (no tag)."""
        return f"{registry or self.registry.address}/{self.namespace}/{image}"

    def path(self, image):
        """The repository path inside the registry."""
        return f"{self.namespace}/{image}"

    def ref(self, image, tag="1"):
        return f"{self.repo(image)}:{tag}"

    def context(self, image):
        return self.kargo.root / "images" / image

    # -- files -----------------------------------------------------------------
    def write_root(self, stacks=False):
        """defaults/ of our own (the fixture's mini defaults removed) and two
        contexts; with `stacks`, stack `<unique>-a` runs image a, stack
        `<unique>-b` runs the busybox image; without, stack `<unique>-built`
        (not deployed) runs both images."""
        defaults = self.kargo.root / "defaults"
        shutil.rmtree(defaults)
        lines = [f"{prefix(self.a)}_IMAGE={self.repo(self.a)}", f"{prefix(self.a)}_TAG=1",
                 f"{prefix(self.b)}_IMAGE={self.repo(self.b)}", f"{prefix(self.b)}_TAG=1",
                 f"DOCKER_BACK_NETWORK={self.network}", "KARGO_DEPLOY_TIMEOUT=60"]
        if stacks:
            sa, sb = f"{self.unique}-a", f"{self.unique}-b"
            self.stacks = [sa, sb]
            lines += [f'STACKS="{sa} {sb}"', f'{prefix(sa)}_STACK="{self.a}"',
                      f'{prefix(sb)}_STACK="{self.b}-svc"', f"BUSYBOX={self.busybox}"]
            # the service of stack a is named like image a: it runs <A>_IMAGE:<A>_TAG
            write(defaults / f"deploy/{self.a}.yml", SERVICE_YML.format(
                service=self.a, image=f"${{{prefix(self.a)}_IMAGE}}:${{{prefix(self.a)}_TAG}}"))
            write(defaults / f"deploy/{self.b}-svc.yml", SERVICE_YML.format(
                service=f"{self.b}-svc", image="${BUSYBOX}"))
        else:
            # `doit build` builds the images a stack runs: one stack, never
            # deployed by these tests, runs both
            built = f"{self.unique}-built"
            lines += [f'STACKS="{built}"', f'{prefix(built)}_STACK="{self.a} {self.b}"']
            for image in (self.a, self.b):
                write(defaults / f"deploy/{image}.yml", SERVICE_YML.format(
                    service=image, image=f"${{{prefix(image)}_IMAGE}}:${{{prefix(image)}_TAG}}"))
        write(defaults / ".env.default", "\n".join(lines) + "\n")
        for image in (self.a, self.b):
            ctx = self.context(image)
            ctx.mkdir(parents=True)
            shutil.copy2(BUSYBOX_BIN, ctx / "busybox")
            write(ctx / "Dockerfile", DOCKERFILE)
            write(ctx / "marker.txt", f"{image} {time.time_ns()}\n")

    def change_context(self, image):
        write(self.context(image) / "marker.txt", f"{image} changed {time.time_ns()}\n")

    def set_env(self, **values):
        """Replace the workspace .env with NAME=value lines."""
        write(self.kargo.workspace / ".env",
              "".join(f"{name}={value}\n" for name, value in values.items()))

    def save_busybox(self, path):
        with open(path, "wb") as out:
            for chunk in self.client.images.get(self.busybox).save():
                out.write(chunk)
        return path

    @staticmethod
    def rootfs_tar(path):
        with tarfile.open(path, "w") as tar:
            tar.add(BUSYBOX_BIN, arcname="bin/busybox")
        return path

    # -- runs --------------------------------------------------------------------
    def run(self, *args, check=True, env=None):
        return self.kargo.run(*args, check=check, env=env)

    @staticmethod
    def ran(proc, task):
        """doit printed that `task` ran."""
        return f".  {task}\n" in proc.stdout

    # -- engine state --------------------------------------------------------------
    def image_id(self, ref):
        """Local image id of `ref`, or None."""
        try:
            found = self.client.api.inspect_image(ref)["Id"]
        except docker.errors.ImageNotFound:
            return None
        self.seen_ids.add(found)
        return found

    @staticmethod
    def now():
        """An events() bound with nanoseconds (docker-py turns a datetime into
        whole seconds, which would mix in the previous run's events)."""
        return f"{time.time():.9f}"

    def our_events(self, since, until):
        """[(type, action, image name)] of the events about our images: image
        events naming our repositories, and container events of the build
        steps of our images (a step's container carries the build's
        org.kargo.image label)."""
        ours = (f"{self.registry.address}/{self.namespace}/",
                *(f"{r.address}/{self.namespace}/" for r in self.own_registries))
        found = []
        for event in self.client.events(since=since, until=until, decode=True):
            attrs = event.get("Actor", {}).get("Attributes", {})
            name = attrs.get("name", "")
            if event.get("Type") == "image" and name.startswith(ours):
                subject = name.split(f"/{self.namespace}/", 1)[1].split(":")[0]
            elif event.get("Type") == "container" and attrs.get(IMAGE_LABEL) in (self.a, self.b):
                subject = attrs[IMAGE_LABEL]
            else:
                continue
            found.append((event["Type"], event.get("Action"), subject))
        return found

    def services(self, stack):
        return {s["Spec"]["Name"]: s for s in self.client.api.services(
            filters={"label": f"{NAMESPACE}=kargo-{stack}"})}

    # -- cleanup -----------------------------------------------------------------
    def stack_gone(self, stack):
        """No service, network or task container (they linger a little after
        their service, and hold its image) of the stack is left."""
        label = {"label": f"{NAMESPACE}=kargo-{stack}"}
        return not (self.client.api.services(filters=label)
                    or self.client.api.networks(filters=label)
                    or self.client.api.containers(all=True, filters=label))

    def _remove_exited_tasks(self, stack):
        """Remove the stopped task containers of our removed stack now rather
        than when the swarm agent gets to it (seconds later)."""
        if self.client.api.services(filters={"label": f"{NAMESPACE}=kargo-{stack}"}):
            return
        for container in self.client.api.containers(
                all=True, filters={"label": f"{NAMESPACE}=kargo-{stack}"}):
            if container["State"] in ("exited", "dead", "created"):
                try:
                    self.client.api.remove_container(container["Id"])
                except docker.errors.APIError:
                    pass  # the agent removed it first, or is removing it

    def cleanup(self):
        errors = []
        # remove every stack first, then wait for all of them at once
        for stack in self.stacks:
            if not self.stack_gone(stack):
                # not checked: "Nothing found" when only containers linger
                subprocess.run(["docker", "stack", "rm", f"kargo-{stack}"],
                               capture_output=True, text=True)
        deadline = time.monotonic() + 60
        for stack in self.stacks:
            try:
                while not self.stack_gone(stack):
                    assert time.monotonic() < deadline, f"stack kargo-{stack} still there"
                    self._remove_exited_tasks(stack)
                    time.sleep(0.5)
            except Exception as exc:  # keep cleaning the rest
                errors.append(f"stack {stack}: {exc}")
        for net in self.client.api.networks(filters={"name": self.network}):
            if net["Name"] == self.network:  # the name filter matches substrings
                error = retry(lambda: self.client.api.remove_network(net["Id"]))
                if error:
                    errors.append(f"network {self.network}: {error}")
        # our tags: untag them (the image itself goes only when nothing else
        # tags it, e.g. the imported busybox keeps the fixture's tag)
        prefixes = (f"{self.registry.address}/{self.namespace}/",
                    *(f"{r.address}/{self.namespace}/" for r in self.own_registries))
        for image in self.client.api.images():
            for tag in image.get("RepoTags") or ():
                if tag.startswith(prefixes):
                    self.seen_ids.add(image["Id"])
                    try:
                        # force: a task container of a removed stack may linger;
                        # with other tags (the fixture's busybox) only ours goes
                        self.client.api.remove_image(tag, force=True, noprune=True)
                    except docker.errors.NotFound:
                        pass
                    except Exception as exc:
                        errors.append(f"image {tag}: {exc}")
        # images we built (our unique build label) or saw under our refs, that
        # a rebuild or the untagging above left without a tag
        for name in (self.a, self.b):
            self.seen_ids.update(i["Id"] for i in self.client.api.images(
                filters={"label": f"{IMAGE_LABEL}={name}"}))
        for image_id in self.seen_ids:
            try:
                if not self.client.api.inspect_image(image_id).get("RepoTags"):
                    # noprune: its untagged parents are build cache that another
                    # test's build, running now, may be building on
                    self.client.api.remove_image(image_id, noprune=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # a child image or a container still uses it
                    errors.append(f"image {image_id}: {exc}")
        for image in (self.a, self.b):
            errors += self.registry.delete_repo(self.path(image))
        for registry, repo in self.extra_repos:
            errors += registry.delete_repo(repo)
        for registry in self.own_registries:
            registry.stop()
        return errors



@pytest.fixture
def images(kargo, docker_client, registry, busybox_image, unique_name, tmp_path):
    env = ImageEnv(kargo, docker_client, registry, unique_name, busybox_image, tmp_path)
    yield env
    errors = env.cleanup()
    assert not errors, f"cleanup failed: {errors}"
