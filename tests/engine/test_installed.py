"""An installed kargo works: the wheel (what `pip install kargo` or pipx
gives) in a fresh virtual environment carries the defaults and the images,
works in the current folder, and deploys the example workspace.

The example workspace as it is, with the shell layer renaming what would
collide with the other tests of it (quickstart, fresh machine) on this
engine: the stack, its ports, networks, volumes, and the images' registry
repositories. So it overlaps them."""
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from image_fixtures import Registry
from support import REPO, merged_of, venv_with_our_dependencies, wait_stack_containers_gone

pytestmark = pytest.mark.slow

IMAGES = ("mapserver", "mapproxy")


@pytest.fixture(scope="module")
def wheel_kargo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    # built with the test environment's own setuptools (the test extras hold
    # one that builds wheels): pip's build isolation would install a fresh
    # copy of it first, every time
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp / "dist"), str(REPO)],
                   check=True, capture_output=True)
    [wheel] = (tmp / "dist").glob("kargo-*.whl")
    venv = tmp / "venv"
    # the dependencies are the test environment's (no index needed, never the
    # base interpreter's); the wheel itself is installed alone, as pip would
    # from a registry
    venv_with_our_dependencies(venv)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    str(wheel)], check=True, capture_output=True)
    return venv / "bin/kargo"


def test_the_wheel_deploys_the_example_workspace(wheel_kargo, tmp_path, docker_client,
                                                  registry, unique_name):
    site = tmp_path / "site"  # an operator's folder: no checkout anywhere near
    site.mkdir()
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO / "examples/workspace", workspace)
    stack = unique_name.replace("-", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KARGO_", "PYTHON"))}
    env.update(STACKS=stack, **{f"{stack.upper()}_STACK": "mapserver mapproxy"},
               MAPSERVER_PORT="28182", MAPPROXY_PORT="28181",
               DOCKER_FRONT_NETWORK=f"{unique_name}-front",
               DOCKER_BACK_NETWORK=f"{unique_name}-back",
               MAPSERVER_DATA_VOLUME=f"{unique_name}-mapserver",
               MAPPROXY_CACHE_VOLUME=f"{unique_name}-mapproxy",
               **{f"{name.upper()}_IMAGE": f"{registry}/{unique_name}/{name}"
                  for name in IMAGES})

    def kargo(*args, check=True):
        proc = subprocess.run([str(wheel_kargo), *args], capture_output=True, text=True,
                              env=env, cwd=site, timeout=1200)
        assert not check or proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    try:
        kargo("use", "--workspace", str(workspace))
        shown = kargo("show").stdout
        assert f"kargo root: {site} (chosen by the current folder" in shown
        assert "/site-packages/kargo_tasks/data/defaults" in shown
        assert "/site-packages/kargo_tasks\n" in shown  # code: kargo <version> in ...
        kargo("build:mapserver", "build:mapproxy", f"deploy:{stack}")
        assert (merged_of(site, workspace) / "stacks" / f"{stack}.yml").is_file()
        shown = kargo("show").stdout
        assert "mapserver http://localhost:28182 (port 80)" in shown, shown
        url = "http://127.0.0.1:28182/cgi-bin/mapserv?SERVICE=WMS&REQUEST=GetCapabilities"
        for _ in range(60):
            try:
                if b"WMS_Capabilities" in urllib.request.urlopen(url, timeout=5).read():
                    break
            except OSError:
                pass
            time.sleep(2)
        else:
            pytest.fail(f"no capabilities at {url}")
        again = kargo("build:mapserver", "build:mapproxy", f"deploy:{stack}")
        assert (again.stdout, again.stderr) == ("", "")
    finally:
        subprocess.run([str(wheel_kargo), f"remove:{stack}"], env=env, cwd=site,
                       capture_output=True, timeout=300)
        # the task containers go in the swarm agent's own time: they hold the networks and volumes
        wait_stack_containers_gone(docker_client, f"kargo-{stack}")
        for name in ("front", "back"):
            for net in docker_client.networks.list(names=[f"{unique_name}-{name}"]):
                try:
                    net.remove()
                except Exception:
                    pass
        for name in IMAGES:
            try:
                docker_client.volumes.get(f"{unique_name}-{name}").remove(force=True)
            except Exception:
                pass
            # our tag only (the image is the example's too when the build came
            # from cache); noprune: its untagged parents are build cache
            # another test may be building on
            for image in docker_client.images.list(name=f"{registry}/{unique_name}/{name}"):
                for tag in image.tags:
                    if tag.startswith(f"{registry}/{unique_name}/"):
                        docker_client.api.remove_image(tag, force=True, noprune=True)
            Registry(registry).delete_repo(f"{unique_name}/{name}")
