"""The README's two commands on a really fresh Debian 12: a minimal Debian
root made with debootstrap (nothing but `--variant=minbase`: no Python, no
docker CLI, no curl), entered with chroot. The host's engine is there through
its socket (nothing can start a daemon in a chroot), and so is the machine's
network setup (its DNS and the authority of its HTTPS proxy); everything else
the commands install themselves: `bash scripts/quickstart` deploys the OWS
stack and prints its GetCapabilities URLs, then `bash scripts/test` runs
(with Debian's docker CLI, one line saying which CLI the suite needs; with
a suitable one, every engine-free tier: a clean room, whatever the machine's
own Python holds).

The example workspace's ows stack is held (example_ows.py) from the first
quickstart until the second one said nothing changed, and removed then: the
engine-free tiers, minutes of CPU, run without it, while the other tests of
it use it."""
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


@pytest.fixture
def fresh_root(tmp_path):
    root = tmp_path / "debian"
    root.mkdir()
    subprocess.run(["tar", "--numeric-owner", "-xf", str(_minbase_tarball()), "-C", str(root)],
                   check=True)
    assert not (root / "usr/bin/python3").exists() and not (root / "usr/bin/docker").exists()
    # the checkout, as a clone gives it (what is committed)
    subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", "--prefix=kargo/",
                    "HEAD", "-o", str(tmp_path / "kargo.tar")], check=True)
    subprocess.run(["tar", "-xf", str(tmp_path / "kargo.tar"), "-C", str(root / "root")],
                   check=True)
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    shutil.copy2(CA_BUNDLE, root / GUEST_CA.relative_to("/"))
    # the machine's own authorities, where an operator's machine keeps them:
    # scripts/debian-base puts them in the Debian base it imports into the
    # (shared) engine, so that pip and npm work inside `docker build` (without
    # them the base this test makes breaks every later MapProxy build)
    if HOST_CAS.is_dir():
        shutil.copytree(HOST_CAS, root / HOST_CAS.relative_to("/"), dirs_exist_ok=True)
    (root / "run/docker.sock").touch()
    mounts = []
    for source, target, kind in (("proc", "proc", "proc"), ("/sys", "sys", "bind"),
                                 ("/dev", "dev", "bind"), ("/dev/pts", "dev/pts", "bind"),
                                 ("/var/run/docker.sock", "run/docker.sock", "bind")):
        args = ["-t", "proc"] if kind == "proc" else ["--bind"]
        subprocess.run(["mount", *args, source, str(root / target)], check=True)
        mounts.append(root / target)
    yield root
    for target in reversed(mounts):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
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
    # a clean room: every engine-free tier passes on a machine whose Python
    # holds nothing but what kargo installed. Minutes of CPU that no other
    # test waits for: at a lower priority (nice), so that the engine tests
    # running meanwhile, their kargo runs and dockerd, are not slowed by them
    tests = _chroot(fresh_root, "KARGO_TEST_TIERS='unit cli compose' nice -n 10 bash scripts/test",
                    timeout=1800)
    assert tests.returncode == 0, (tests.stdout + tests.stderr)[-4000:]
    assert "scripts/test: tests run per tier, and wall time" in tests.stdout
    for tier in ("unit", "cli", "compose"):
        row = next(line.split() for line in tests.stdout.splitlines()
                   if line.split()[:1] == [tier])
        assert int(row[1]) > 0 and row[3] == "0", tests.stdout[-2000:]
