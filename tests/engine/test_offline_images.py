"""The two images whose sources only GitHub serves (maputnik's editor, the
Weacast loaders' jobs) cannot be built from upstream here. Their tasks are
still proven: maputnik's real Dockerfile is built from a stand-in editor given
as a workspace override of its context (vendor/public.zip), and the loader
tasks, one per model, from a workspace override of the loader context."""
import io
import shutil
import subprocess
import time
import urllib.request
import zipfile

import pytest

from support import REPO, Kargo, write

BASE = "kargo/debian:bookworm"
pytestmark = pytest.mark.slow


@pytest.fixture
def offline(tmp_path, registry, unique_name, docker_client):
    subprocess.run(["bash", str(REPO / "scripts/debian-base"), BASE], check=True,
                   capture_output=True)
    root = tmp_path / "root"
    for folder in ("defaults", "images"):
        shutil.copytree(REPO / folder, root / folder)
    workspace = tmp_path / "workspace"
    write(workspace / ".env", "")
    kargo = Kargo(root, workspace)
    repo = f"{registry}/kargo-test-{unique_name}"
    kargo.env.update(BASE_IMAGE=BASE, KARGO_REGISTRY=repo)
    yield kargo, repo
    # one listing call (images.list() inspects each image, which a test
    # running alongside may just have removed); noprune: parents are build
    # cache other tests may be building on
    for image in docker_client.api.images():
        for tag in image.get("RepoTags") or []:
            if tag.startswith(f"{repo}/"):
                docker_client.api.remove_image(tag, force=True, noprune=True)


def test_maputnik_dockerfile_builds_and_serves_a_vendored_editor(offline, docker_client):
    kargo, repo = offline
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("public/index.html", "<title>maputnik stand-in</title>\n")
    path = kargo.workspace / "images/maputnik/vendor/public.zip"
    path.parent.mkdir(parents=True)
    path.write_bytes(archive.getvalue())
    out = kargo.run("build:maputnik").stdout
    assert "using vendor/public.zip" in out or "Step" in out
    container = docker_client.containers.run(f"{repo}/kargo/maputnik:1.7.0", detach=True,
                                             ports={"8888/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8888/tcp"][0]["HostPort"]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    assert b"maputnik stand-in" in answer.read()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        container.remove(force=True)


def test_one_loader_image_per_model_from_the_loader_context(offline, docker_client,
                                                            busybox_image):
    kargo, repo = offline
    write(kargo.workspace / "images/weacast-loader/Dockerfile", f"""
        FROM {busybox_image}
        ARG MODEL
        ARG LOADER_TAG
        RUN echo "$MODEL $LOADER_TAG" > /model
    """)
    models = ["arpege-world", "arpege-europe", "arome-france", "gfs-world"]
    out = kargo.run(*[f"build:{m}-loader" for m in models]).stdout
    for model in models:
        assert f".  build:{model}-loader" in out
        ref = f"{repo}/kargo/weacast-{model}-loader:1.7.0"
        made = docker_client.containers.run(ref, ["cat", "/model"], remove=True)
        assert made == f"{model} v1.7.0\n".encode()
    assert kargo.run(*[f"build:{m}-loader" for m in models]).stdout == ""
