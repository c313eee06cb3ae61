"""The README's first command: from the repo, `bash scripts/quickstart` builds
MapServer and MapProxy, deploys the example OWS stack and prints where WMS
GetCapabilities answers; run again, it changes nothing and says so."""
import os
import subprocess

import pytest

from example_ows import example_ows
from support import REPO

pytestmark = pytest.mark.slow


@pytest.fixture
def repo_state(docker_client):
    record = REPO / ".workspace"
    saved = record.read_bytes() if record.exists() else None
    # the example workspace's ows stack, ports and images: one test at a time
    with example_ows(docker_client):
        yield
    if saved is None:
        record.unlink(missing_ok=True)
    else:
        record.write_bytes(saved)


def quickstart():
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARGO_")}
    return subprocess.run(["bash", str(REPO / "scripts" / "quickstart")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_quickstart_deploys_ows_then_does_nothing(repo_state):
    first = quickstart()
    assert first.returncode == 0, first.stdout + first.stderr
    urls = [line for line in first.stdout.splitlines() if line.startswith("WMS GetCapabilities: ")]
    assert [u.split("localhost:")[1].split("/")[0] for u in urls] == ["8082", "8081"]
    second = quickstart()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "quickstart: nothing changed" in second.stdout
    assert not any(line.startswith(".  ") for line in second.stdout.splitlines())
    assert len([l for l in second.stdout.splitlines() if l.startswith("WMS GetCapabilities")]) == 2
