"""The example workspace's `ows` stack as `scripts/quickstart` deploys it:
stack kargo-ows, ports 8081 and 8082, networks kargo-front and kargo-back,
its volumes and the images' registry repositories, fixed names all. The tests
that run quickstart (from this checkout, and in a fresh Debian root) hold it
one at a time, and only for as long as they use it: a file lock across the
workers of a run, released once the stack is gone."""
import contextlib
import fcntl
import subprocess

from support import wait_stack_containers_gone

LOCK = "/tmp/kargo-test-example-ows.lock"
PROJECT = "kargo-ows"


@contextlib.contextmanager
def example_ows(docker_client):
    """Hold the example stack; on the way out, remove it and wait until its
    task containers are gone (they hold the host-mode ports)."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            subprocess.run(["docker", "stack", "rm", PROJECT], capture_output=True)
            wait_stack_containers_gone(docker_client, PROJECT)
