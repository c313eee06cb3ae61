"""`exec:postgis-dump` of the defaults on a running PostGIS: the postgis
service of defaults/deploy/postgis.yml, deployed by kargo with an image
built here from Debian's packages (tests/engine/postgis_image: Docker Hub's
is out of reach), a table created in it, the dump on this host holding it,
and the password never in kargo's output."""
import gzip
import shutil
import subprocess
import time

import pytest

from support import REPO, Kargo, build_image, wait_stack_containers_gone, write

pytestmark = [pytest.mark.slow, pytest.mark.long]

BASE = "kargo/debian:bookworm"
CANARY = "s3cr3t-canary-pg-7a1e"


@pytest.fixture
def postgis(tmp_path, docker_client, registry, unique_name):
    subprocess.run(["bash", str(REPO / "scripts/debian-base"), BASE], check=True,
                   capture_output=True)
    repo = f"{registry}/kargo-test/postgis"
    build_image(docker_client, path=str(REPO / "tests/engine/postgis_image"),
                tag=f"{repo}:15-3", buildargs={"BASE_IMAGE": BASE}, rm=True)
    for chunk in docker_client.images.push(repo, tag="15-3", stream=True, decode=True):
        assert "error" not in chunk, chunk
    root = tmp_path / "root"
    for folder in ("defaults", "images"):
        shutil.copytree(REPO / folder, root / folder)
    stack = unique_name.replace("-", "")
    workspace = tmp_path / "workspace"
    write(workspace / ".env", "\n".join([
        f"STACKS={stack}", f"{stack.upper()}_STACK=postgis", f"POSTGIS_IMAGE={repo}",
        "POSTGIS_TAG=15-3", f"POSTGIS_ROOT_PASSWORD={CANARY}",
        f"POSTGIS_DATA_VOLUME={unique_name}-postgis", f"DOCKER_BACK_NETWORK={unique_name}-back",
        f"DOCKER_FRONT_NETWORK={unique_name}-front", "DOCKER_ENDPOINT_MODE=dnsrr",
        "DOCKER_PORT_MODE=host", "KARGO_DEPLOY_TIMEOUT=120"]) + "\n")
    yield Kargo(root, workspace), stack
    subprocess.run(["docker", "stack", "rm", f"kargo-{stack}"], capture_output=True)
    wait_stack_containers_gone(docker_client, f"kargo-{stack}")
    for name in (f"{unique_name}-back", f"{unique_name}-front"):
        for net in docker_client.networks.list(names=[name]):
            net.remove()
    subprocess.run(["docker", "volume", "rm", "-f", f"{unique_name}-postgis"],
                   capture_output=True)


def test_postgis_dump_writes_the_databases_to_this_host(postgis, docker_client, tmp_path):
    kargo, stack = postgis
    kargo.run(f"deploy:{stack}")
    container, = docker_client.containers.list(filters={
        "label": f"com.docker.swarm.service.name=kargo-{stack}_postgis"})
    deadline = time.monotonic() + 60
    while container.exec_run(["pg_isready", "-h", "127.0.0.1"]).exit_code != 0:
        assert time.monotonic() < deadline, "postgres did not start"
        time.sleep(1)
    made = container.exec_run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c",
                               "CREATE TABLE kargo_places (name text);"
                               "CREATE EXTENSION postgis;"],
                              environment={"PGPASSWORD": CANARY})
    assert made.exit_code == 0, made.output
    out = tmp_path / "dumps"
    out.mkdir()
    proc = kargo.run("exec:postgis-dump", "nightly.sql.gz", env={"PWD": str(out)})
    assert f"dumped to {out}/nightly.sql.gz" in proc.stdout
    dump = gzip.decompress((out / "nightly.sql.gz").read_bytes()).decode()
    assert "PostgreSQL database cluster dump" in dump
    assert "CREATE TABLE public.kargo_places" in dump
    assert "CREATE EXTENSION IF NOT EXISTS postgis" in dump
    assert not list(out.glob("*.partial"))
    assert CANARY not in proc.stdout + proc.stderr
