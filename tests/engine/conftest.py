"""Fixtures for tests that drive the real Docker engine (swarm + local registry).

The engine is a hard requirement: if it is missing these fixtures FAIL, they
never skip, so CI cannot go green without exercising it. `bash scripts/engine-up`
brings everything up.
"""
import fcntl
import hashlib
import os
import pathlib
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid

import docker
import pytest

from support import build_image, terminal_signals

REGISTRY = "127.0.0.1:5000"
BUSYBOX_REPO = f"{REGISTRY}/kargo-test/busybox"
BUSYBOX_REF = f"{BUSYBOX_REPO}:latest"
BUSYBOX_BIN = pathlib.Path("/bin/busybox")
SHA_LABEL = "org.kargo.busybox-sha256"
HINT = "run `bash scripts/engine-up` (as root) first"

# A single static binary is the whole image: Docker Hub is unreachable, so we
# cannot pull one.  Exec-form RUN needs no shell; busybox then provides /bin/sh.
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
"""

_HERE = pathlib.Path(__file__).parent


def pytest_configure(config):
    config.addinivalue_line("markers", "engine: needs the real Docker engine")
    config.addinivalue_line("markers", "slow: takes seconds, not milliseconds")


def pytest_collection_modifyitems(config, items):
    # Everything under tests/engine needs the engine: mark it so `-m "not engine"`
    # works.  This hook sees all items, hence the path filter.
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.engine)
    # Handed out first (scripts/test keeps this order: --no-loadscope-reorder),
    # so that they end with the rest: the tests that run for minutes, then
    # the tests of each xdist group (one after the other on one worker: a
    # long chain)
    items.sort(key=lambda item: (item.get_closest_marker("long") is None,
                                 item.get_closest_marker("xdist_group") is None))


@pytest.fixture(scope="session")
def docker_client():
    # pytest.fail() outside the except blocks keeps the report to one line.
    client = error = None
    try:
        # from_env() already talks to the daemon (API version negotiation).
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # DockerException, requests errors, ...
        error = exc
    if error is not None:
        pytest.fail(f"Docker engine not answering ({error}); {HINT}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def registry():
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5):
            error = None  # urlopen raises on anything but 2xx (e.g. 401 auth)
    except Exception as exc:
        error = exc
    if error is not None:
        pytest.fail(f"registry {REGISTRY} not answering ({error}); {HINT}", pytrace=False)
    return REGISTRY


@pytest.fixture(scope="session")
def busybox_image(docker_client, registry, tmp_path_factory):
    """FROM-scratch busybox image, pushed to the local registry; returns its ref."""
    if not BUSYBOX_BIN.is_file():
        pytest.fail(f"{BUSYBOX_BIN} missing (busybox-static); {HINT}", pytrace=False)
    sha = hashlib.sha256(BUSYBOX_BIN.read_bytes()).hexdigest()
    # one build and push at a time across the workers of a parallel run
    with open("/tmp/kargo-test-busybox.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _busybox_image(docker_client, sha, tmp_path_factory)


def _busybox_image(docker_client, sha, tmp_path_factory):
    try:
        cached = docker_client.images.get(BUSYBOX_REF).labels.get(SHA_LABEL) == sha
    except docker.errors.ImageNotFound:
        cached = False
    if not cached:
        ctx = tmp_path_factory.mktemp("busybox-image")
        shutil.copy2(BUSYBOX_BIN, ctx / "busybox")
        (ctx / "Dockerfile").write_text(DOCKERFILE)
        try:
            build_image(docker_client, path=str(ctx), tag=BUSYBOX_REF, labels={SHA_LABEL: sha},
                        rm=True)
        except docker.errors.BuildError as exc:
            log = "".join(c.get("stream", "") for c in exc.build_log)
            error = f"building {BUSYBOX_REF} failed: {exc}\n{log}"
        else:
            error = None
        if error:
            pytest.fail(error, pytrace=False)

    # push() does not raise on registry errors: they arrive in the stream.
    for chunk in docker_client.images.push(
        BUSYBOX_REPO, tag="latest", stream=True, decode=True
    ):
        if "error" in chunk:
            pytest.fail(f"pushing {BUSYBOX_REF} failed: {chunk['error']}", pytrace=False)
    return BUSYBOX_REF


@pytest.fixture
def unique_name():
    """Short unique lowercase name for engine resources a test creates."""
    return f"kt-{uuid.uuid4().hex[:8]}"


class Background:
    """A doit run in its own process group; output in files (a pipe nobody
    reads would stall it); signals as a terminal's foreground job has them."""

    count = 0

    def __init__(self, kargo, tmp, *args, env=None):
        Background.count += 1
        self.out = tmp / f"run-{Background.count}.out"
        self.err = tmp / f"run-{Background.count}.err"
        cmd = kargo.command(*args)
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(cmd, env=dict(kargo.env, **(env or {})), cwd=_HERE.parent.parent,
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=terminal_signals)

    @property
    def stdout(self):
        return self.out.read_text()

    @property
    def stderr(self):
        return self.err.read_text()

    def wait_for(self, predicate, timeout=60, what="output"):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, (
                f"run ended ({self.proc.returncode}) before {what}:\n{self.stdout}\n{self.stderr}")
            assert time.monotonic() < deadline, f"no {what} after {timeout}s:\n{self.stdout}"
            time.sleep(0.05)

    def signal(self, sig):
        os.killpg(self.proc.pid, sig)

    def finish(self, timeout=60):
        return self.proc.wait(timeout)

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(30)


@pytest.fixture
def background(tmp_path):
    started = []

    def start(kargo, *args, env=None):
        run = Background(kargo, tmp_path, *args, env=env)
        started.append(run)
        return run
    yield start
    for run in started:
        run.stop()
