"""A workspace written for the bash Kargo deploys unchanged: `.env` with
STACKS/<STACK>_STACK, an extension named by <SERVICE>_EXTENSION, a
`configs/<service>/*.tpl` template, `deploy/<service>_before.sh`/`_after.sh`."""
import base64
import shutil
import subprocess
import time

import pytest

from support import REPO, Kargo

WORKSPACE = REPO / "tests" / "engine" / "kargo_workspace"


@pytest.fixture
def kargo_ws(tmp_path, docker_client, busybox_image, unique_name):
    root = tmp_path / "root"
    shutil.copytree(REPO / "defaults", root / "defaults")
    (root / "images").mkdir()
    kargo = Kargo(root, WORKSPACE)
    log = tmp_path / "hooks.log"
    stack = unique_name.replace("-", "")
    kargo.env.update({"BUSYBOX_IMAGE": busybox_image.rsplit(":", 1)[0],
                      "DOCKER_BACK_NETWORK": f"{unique_name}-back", "HOOK_LOG": str(log),
                      "STACKS": stack, f"{stack.upper()}_STACK": "notes",
                      "KARGO_DEPLOY_TIMEOUT": "60"})
    yield kargo, stack, log
    subprocess.run(["docker", "stack", "rm", f"kargo-{stack}"], capture_output=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and docker_client.networks.list(
            filters={"label": f"com.docker.stack.namespace=kargo-{stack}"}):
        time.sleep(0.5)
    for net in docker_client.networks.list(names=[f"{unique_name}-back"]):
        for _ in range(40):
            try:
                net.remove()
                break
            except Exception:
                time.sleep(0.5)


def test_bash_kargo_workspace_deploys_unchanged(kargo_ws, docker_client):
    kargo, stack, log = kargo_ws
    kargo.run(f"deploy:{stack}")
    service = docker_client.api.inspect_service(f"kargo-{stack}_notes")
    assert service["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"  # the extension applied
    assert log.read_text() == "before notes\nafter notes\n"
    config = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"]
    data = docker_client.api.inspect_config(config)["Spec"]["Data"]
    assert base64.b64decode(data) == b"url = https://notes.kargo.example.org\n"
    assert kargo.run(f"deploy:{stack}").stdout == ""
