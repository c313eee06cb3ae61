"""Fixtures shared by every test folder, and the prerequisites of the suite,
checked before any test runs: one line naming what is missing and how to get
it, instead of a traceback per test that needs it."""
import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from support import MINI_DEFAULTS, Kargo, write

TESTS = Path(__file__).resolve().parent

DOCKER_CLI_HINT = (
    "the cli, compose and engine tests need docker CLI 23.0 or newer: Docker's own "
    "docker-ce-cli package (apt-get install docker-ce-cli once Docker's apt repository is set "
    "up, https://docs.docker.com/engine/install/debian/; scripts/install then links it into "
    ".venv/bin, which scripts/test puts first on PATH)")


def _tiers(config):
    """The tiers (unit, cli, compose, engine) the command line asks for."""
    found = set()
    for arg in config.args or [str(TESTS)]:
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == TESTS or TESTS.is_relative_to(path):
            return {"unit", "cli", "compose", "engine"}
        if TESTS in path.parents:
            found.add(path.relative_to(TESTS).parts[0])
    return found


def docker_cli_lacks():
    """What the `docker` first on PATH lacks of what the suite uses (`docker
    context show`, `docker stack config`, both newer than Debian 12's
    docker.io 20.10), as one phrase; None when it has it all."""
    docker = shutil.which("docker")
    if docker is None:
        return "no `docker` on PATH"
    version = subprocess.run([docker, "--version"], capture_output=True, text=True).stdout.strip()
    missing = []
    if subprocess.run([docker, "context", "show"], capture_output=True).returncode != 0:
        missing.append("`docker context show`")
    usage = subprocess.run([docker, "stack", "config", "--help"], capture_output=True,
                           text=True).stdout
    if "docker stack config" not in usage:
        missing.append("`docker stack config`")
    if missing:
        return f"the docker CLI first on PATH ({docker}: {version}) lacks {' and '.join(missing)}"
    return None


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker: the controller checked
        return
    tiers = _tiers(config)
    problems = []
    if tiers - {"unit"}:
        lacks = docker_cli_lacks()
        if lacks:
            problems.append(f"{lacks}; {DOCKER_CLI_HINT}")
    if "engine" in tiers and shutil.which("dot") is None:
        problems.append("graphviz's `dot` is not on PATH (tests/engine/test_plan.py renders "
                        "`doit graph` with it): apt-get install graphviz (scripts/install does)")
    if problems:
        # a usage error: one line (ERROR: ...), exit 4, before any collection
        raise pytest.UsageError("missing prerequisite: " + "; ".join(problems))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item):
    """KARGO_TEST_TIMELINE=FILE: one line per test appended to FILE (worker,
    start, end, CPU seconds of the processes it ran and of its own, test
    id), to see what overlapped with what in a suite run
    (how #23's measurements were taken). One short write per line: appends
    of the xdist workers do not interleave."""
    timeline = os.environ.get("KARGO_TEST_TIMELINE")
    start, children, own = time.time(), _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    yield
    if timeline:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(timeline, "a") as out:
            out.write(f"{worker} {start:.2f} {time.time():.2f} "
                      f"{_cpu(resource.RUSAGE_CHILDREN) - children:.2f} "
                      f"{_cpu(resource.RUSAGE_SELF) - own:.2f} {item.nodeid}\n")


def _cpu(who):
    """CPU seconds (user and system) of this process (RUSAGE_SELF) or of the
    processes it started and waited for (RUSAGE_CHILDREN: a test's kargo
    runs, docker CLIs, ...); the engine's own is in neither."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture
def kargo(tmp_path):
    """An isolated root with small defaults and an empty workspace."""
    root = tmp_path / "root"
    for rel, text in MINI_DEFAULTS.items():
        write(root / "defaults" / rel, text)
    (root / "images").mkdir()
    workspace = tmp_path / "workspace"
    write(workspace / ".env", "# the operator's settings\n")
    return Kargo(root, workspace)
