"""The real thing: MapServer and MapProxy built by kargo from a Debian base
made with debootstrap, deployed with the example workspace, answering WMS
GetCapabilities over HTTP on host-mode ports."""
import shutil
import socket
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from support import REPO, Kargo, wait_stack_containers_gone

BASE = "kargo/debian:bookworm"
pytestmark = [pytest.mark.slow, pytest.mark.long]


SEED_YAML = """
seeds:
  kargo_world:
    caches: [kargo_cache]
    grids: [webmercator]
    levels:
      to: 1
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def capabilities_root(url, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return ET.fromstring(answer.read()).tag.rsplit("}", 1)[-1]
        except (OSError, ET.ParseError):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


@pytest.fixture
def ows(tmp_path, docker_client, registry, unique_name):
    subprocess.run(["bash", str(REPO / "scripts/debian-base"), BASE], check=True,
                   capture_output=True)
    root = tmp_path / "root"
    for folder in ("defaults", "images"):
        shutil.copytree(REPO / folder, root / folder)
    # the example workspace, plus a seed of two levels (exec:mapproxy-seed)
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO / "examples" / "workspace", workspace)
    (workspace / "configs/seeder").mkdir(parents=True)
    (workspace / "configs/seeder/seed.yaml").write_text(SEED_YAML)
    kargo = Kargo(root, workspace)
    stack = unique_name.replace("-", "")
    ports = {"MAPSERVER_PORT": str(free_port()), "MAPPROXY_PORT": str(free_port())}
    # The example workspace as it is, with the shell layer renaming what
    # would collide with other runs on this engine.
    kargo.env.update(ports, STACKS=stack, **{f"{stack.upper()}_STACK": "mapserver mapproxy"},
                     BASE_IMAGE=BASE,
                     MAPSERVER_IMAGE=f"{registry}/kargo-test/mapserver",
                     MAPPROXY_IMAGE=f"{registry}/kargo-test/mapproxy",
                     MAPSERVER_DATA_VOLUME=f"{unique_name}-mapserver",
                     MAPPROXY_CACHE_VOLUME=f"{unique_name}-mapproxy",
                     DOCKER_FRONT_NETWORK=f"{unique_name}-front",
                     DOCKER_BACK_NETWORK=f"{unique_name}-back")
    yield kargo, stack, ports
    subprocess.run(["docker", "stack", "rm", f"kargo-{stack}"], capture_output=True)
    wait_stack_containers_gone(docker_client, f"kargo-{stack}")
    for name in ("front", "back"):
        for net in docker_client.networks.list(names=[f"{unique_name}-{name}"]):
            net.remove()
    for name in ("mapserver", "mapproxy"):
        try:
            docker_client.volumes.get(f"{unique_name}-{name}").remove(force=True)
        except Exception:
            pass


def test_mapserver_and_mapproxy_answer_getcapabilities(ows, docker_client):
    kargo, stack, ports = ows
    tasks = ("build:mapserver", "build:mapproxy", f"deploy:{stack}")
    out = kargo.run(*tasks).stdout
    assert "Step 1/" in out and f"deploy:{stack}" in out
    mapserver = (f"http://127.0.0.1:{ports['MAPSERVER_PORT']}/cgi-bin/mapserv"
                 "?SERVICE=WMS&REQUEST=GetCapabilities")
    mapproxy = (f"http://127.0.0.1:{ports['MAPPROXY_PORT']}/service"
                "?SERVICE=WMS&REQUEST=GetCapabilities")
    assert capabilities_root(mapserver) == "WMS_Capabilities"
    assert capabilities_root(mapproxy) == "WMS_Capabilities"
    again = kargo.run(*tasks)
    assert again.stdout == "" and again.stderr == ""

    # the operations scripts of the defaults, on the running stack
    container, = docker_client.containers.list(filters={
        "label": f"com.docker.swarm.service.name=kargo-{stack}_mapproxy"})

    def tiles():
        found = container.exec_run(["find", "/mapproxy/cache_data", "-name", "*.png"])
        return [line for line in found.output.decode().splitlines() if line]
    assert tiles() == []
    seeded = kargo.run("exec:mapproxy-seed", "kargo_world")
    assert len(tiles()) >= 5, seeded.stdout  # levels 0 and 1 of the world: 1 + 4 tiles
    cleared = kargo.run("exec:mapproxy-clear", "kargo_cache")
    assert "removed 1 cache folder(s)" in cleared.stdout, cleared.stdout
    assert tiles() == []
    missing = kargo.run("exec:postgis-dump", check=False)
    assert missing.returncode == 1
    assert "no stack of STACKS lists the service postgis" in missing.stderr
