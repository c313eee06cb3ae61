"""The README's two commands on a really fresh Debian 12: a minimal Debian
root made with debootstrap (nothing but `--variant=minbase`: no Python, no
docker CLI, no curl), entered with chroot. The host's engine is there through
its socket (nothing can start a daemon in a chroot), and so is the machine's
network setup (its DNS and the authority of its HTTPS proxy); everything else
the commands install themselves.

Two tests, one root. The first (engine): `bash scripts/quickstart` deploys
the OWS stack and prints its GetCapabilities URLs, then `bash scripts/test`
with Debian's docker CLI says in one line which CLI the suite needs. The
second (no engine: the root has no socket): with a suitable CLI, every
engine-free tier passes there, a clean room whatever the machine's own Python
holds. A full `bash scripts/test` runs the second beside the tests that need
the Swarm alone, on the root the first left (KARGO_TEST_FRESH_ROOT), and
takes its tiers' reports (KARGO_TEST_ENGINE_FREE_REPORTS) as the unit, cli
and compose tiers of the run: they run once, here, not also on the host.

The example workspace's ows stack is held (example_ows.py) from the first
quickstart until the second one said nothing changed, and removed then."""
import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from example_ows import example_ows
from support import REPO

pytestmark = [pytest.mark.slow, pytest.mark.long]

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kargo"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# where the chroot keeps the host's bundle: not /etc/ssl/certs, which apt's
# ca-certificates (pulled in by the install) rewrites without the proxy's authority
GUEST_CA = Path("/etc/host-ca-bundle.crt")
HOST_CAS = Path("/usr/local/share/ca-certificates")
# the docker CLI the cli and compose tiers need (Debian's docker.io is 20.10):
# what an operator gets from Docker's docker-ce-cli, here the machine's own
SUITABLE_CLI = Path("/usr/local/bin/docker")


def _minbase_tarball():
    """The Debian minbase rootfs scripts/debian-base caches (made if missing)."""
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    tarball = CACHE / f"debian-bookworm-minbase-{arch}.tar"
    if not tarball.is_file():
        subprocess.run(["bash", str(REPO / "scripts/debian-base"), "kargo-test/minbase:fresh"],
                       check=True, capture_output=True, timeout=1800)
        subprocess.run(["docker", "image", "rm", "kargo-test/minbase:fresh"],
                       capture_output=True)
    return tarball


# where scripts/test has the first test leave its root for the second (a
# full run); READY says the first got that far
HANDOVER = os.environ.get("KARGO_TEST_FRESH_ROOT")
READY = ".kargo-test-ready"


def _unpack(root):
    """A fresh Debian minbase at `root`, holding this checkout at /root/kargo
    as a clone gives it once committed (tracked files, and new ones git does
    not ignore: what is being tested, not only HEAD)."""
    root.mkdir(parents=True)
    subprocess.run(["tar", "--numeric-owner", "-xf", str(_minbase_tarball()), "-C", str(root)],
                   check=True)
    assert not (root / "usr/bin/python3").exists() and not (root / "usr/bin/docker").exists()
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], check=True, capture_output=True).stdout
    files = b"".join(name + b"\0" for name in listed.split(b"\0")
                     if name and (REPO / os.fsdecode(name)).is_file())
    (root / "root/kargo").mkdir()
    packed = subprocess.run(["tar", "-C", str(REPO), "--null", "-T", "-", "-cf", "-"],
                            input=files, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-xf", "-", "-C", str(root / "root/kargo")], input=packed, check=True)
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    shutil.copy2(CA_BUNDLE, root / GUEST_CA.relative_to("/"))
    # the machine's own authorities, where an operator's machine keeps them:
    # scripts/debian-base puts them in the Debian base it imports into the
    # (shared) engine, so that pip and npm work inside `docker build` (without
    # them the base this test makes breaks every later MapProxy build)
    if HOST_CAS.is_dir():
        shutil.copytree(HOST_CAS, root / HOST_CAS.relative_to("/"), dirs_exist_ok=True)


@contextlib.contextmanager
def _mounted(root, binds=()):
    """/proc, /sys and /dev in `root`, and each (host path, path in root) of
    `binds`, for as long as the block runs."""
    mounts = []
    try:
        for source, target, kind in (("proc", "proc", "proc"), ("/sys", "sys", "bind"),
                                     ("/dev", "dev", "bind"), ("/dev/pts", "dev/pts", "bind"),
                                     *((str(s), t, "bind") for s, t in binds)):
            args = ["-t", "proc"] if kind == "proc" else ["--bind"]
            subprocess.run(["mount", *args, source, str(root / target)], check=True)
            mounts.append(root / target)
        yield root
    finally:
        for target in reversed(mounts):
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def fresh_root(tmp_path):
    """A fresh root with the engine's socket: where scripts/test asks for it
    (HANDOVER), left there for the second test, else removed after."""
    root = Path(HANDOVER) / "debian" if HANDOVER else tmp_path / "debian"
    _unpack(root)  # a new folder: scripts/test's HANDOVER is its own for each run
    (root / "run/docker.sock").touch()
    with _mounted(root, [("/var/run/docker.sock", "run/docker.sock")]):
        yield root
    if not HANDOVER:
        shutil.rmtree(root, ignore_errors=True)


def _chroot(root, command, timeout):
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": "/root", "LANG": "C.UTF-8",
           # the machine's HTTPS proxy authority, for pip and the builds
           "SSL_CERT_FILE": str(GUEST_CA), "PIP_CERT": str(GUEST_CA),
           "REQUESTS_CA_BUNDLE": str(GUEST_CA)}
    return subprocess.run(["chroot", str(root), "bash", "-c", f"cd /root/kargo && {command}"],
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_the_readme_commands_on_a_fresh_debian(fresh_root, docker_client):
    with example_ows(docker_client):
        quickstart = _chroot(fresh_root, "bash scripts/quickstart", timeout=2400)
        out = quickstart.stdout + quickstart.stderr
        assert quickstart.returncode == 0, out[-4000:]
        assert "WMS GetCapabilities: http://localhost:8082/cgi-bin/mapserv?" in quickstart.stdout
        assert "WMS GetCapabilities: http://localhost:8081/service?" in quickstart.stdout
        # what it installed, it says (python3-venv at least: minbase has no Python)
        assert "installing python3" in out
        # and what the tests need besides (graphviz's dot for `doit graph`)
        assert "installing graphviz" in out
        # the README's second command with Debian's docker.io CLI (20.10): the
        # suite says in one line what is missing and how to get it
        old = _chroot(fresh_root, "KARGO_TEST_TIERS=cli bash scripts/test", timeout=600)
        assert old.returncode == 4, (old.stdout + old.stderr)[-4000:]
        assert "docker-ce-cli" in old.stdout + old.stderr
        # a suitable CLI installed (as docker-ce-cli puts it in /usr/local/bin),
        # the first command again (its scripts/install links that CLI into
        # .venv): it says nothing changed
        shutil.copy2(SUITABLE_CLI, fresh_root / SUITABLE_CLI.relative_to("/"))
        again = _chroot(fresh_root, "bash scripts/quickstart", timeout=1200)
        assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
        assert "quickstart: nothing changed" in again.stdout
    (fresh_root / READY).touch()


@pytest.mark.beside
def test_every_engine_free_tier_passes_on_a_fresh_debian(tmp_path):
    handed = Path(HANDOVER) / "debian" if HANDOVER else None
    if handed and (handed / READY).is_file():
        root = handed  # installed by the first test, with a suitable CLI
    else:  # alone: a fresh root of its own, installed as the README says
        root = tmp_path / "debian"
        _unpack(root)
        shutil.copy2(SUITABLE_CLI, root / SUITABLE_CLI.relative_to("/"))
    reports = Path(os.environ.get("KARGO_TEST_ENGINE_FREE_REPORTS") or tmp_path / "reports")
    reports.mkdir(parents=True, exist_ok=True)
    (root / "reports").mkdir(exist_ok=True)
    try:
        with _mounted(root, [(reports, "reports")]):
            if root != handed:
                install = _chroot(root, "bash scripts/install", timeout=1200)
                assert install.returncode == 0, (install.stdout + install.stderr)[-4000:]
            # a clean room: every engine-free tier passes on a machine whose
            # Python holds nothing but what kargo installed; their reports
            # where scripts/test reads them
            tests = _chroot(root, "KARGO_TEST_TIERS='unit cli compose' "
                            "KARGO_TEST_REPORTS=/reports bash scripts/test", timeout=1800)
    finally:
        if root != handed:
            shutil.rmtree(root, ignore_errors=True)
    assert tests.returncode == 0, (tests.stdout + tests.stderr)[-4000:]
    assert "scripts/test: tests run per tier, and wall time" in tests.stdout
    for tier in ("unit", "cli", "compose"):
        row = next(line.split() for line in tests.stdout.splitlines()
                   if line.split()[:1] == [tier])
        assert int(row[1]) > 0 and row[3] == "0", tests.stdout[-2000:]
    # and their reports, where scripts/test takes them from
    ran = {line.split()[0] for line in (reports / "runs").read_text().splitlines()}
    assert ran == {"unit", "cli", "compose"}
    assert all((reports / f"{tier}.parallel.xml").is_file() for tier in ran)
