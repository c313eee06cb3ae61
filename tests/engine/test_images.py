"""`doit build` and `doit import` on the real engine and registry.

Each test gets its own kargo root with two busybox-based contexts (images a
and b), pushed under 127.0.0.1:5000/kargo-test-<unique>/; see image_fixtures.
"No engine work" is proven with the daemon's own events: a build shows up as
container events of its step containers (labelled org.kargo.image=<image>),
a tag and a push as image events naming our repositories.
"""
import re

import pytest

from image_fixtures import (FAIL_MARKER, FAILING_DOCKERFILE, OwnRegistry,  # noqa: F401
                            images, prefix)
from support import write

pytestmark = pytest.mark.slow


def _errors(proc):
    return [line for line in proc.stderr.splitlines() if line.strip()]


def test_build_builds_tags_and_pushes_both_images(images):
    images.write_root()
    proc = images.run("build")
    for image in (images.a, images.b):
        ref = images.ref(image)
        assert images.ran(proc, f"build:{image}"), proc.stdout
        assert f"build {image} 1 ({ref})\n" in proc.stdout
        assert f"push {ref}\n" in proc.stdout
        assert images.image_id(ref)
        assert images.registry.tags(images.path(image)) == ["1"]
        # what the registry holds is this local image
        digest = images.registry.digest(images.path(image), "1")
        repo_digests = images.client.api.inspect_image(ref)["RepoDigests"]
        assert f"{images.repo(image)}@{digest}" in repo_digests
    assert images.image_id(images.ref(images.a)) != images.image_id(images.ref(images.b))
    # a line per step, for each of the two builds
    assert len(re.findall(r"^  Step 1/\d+ : FROM scratch$", proc.stdout, re.M)) == 2
    assert len(re.findall(r"^  Step \d+/\d+ : COPY marker.txt /marker.txt$",
                          proc.stdout, re.M)) == 2
    assert proc.stderr == ""


def test_second_build_does_nothing(images):
    images.write_root()
    images.run("build")
    before = {i: images.image_id(images.ref(i)) for i in (images.a, images.b)}
    since = images.now()
    proc = images.run("build")
    until = images.now()
    assert (proc.stdout, proc.stderr) == ("", "")
    assert images.our_events(since, until) == []
    assert {i: images.image_id(images.ref(i)) for i in (images.a, images.b)} == before


def test_changed_context_file_rebuilds_only_that_image(images):
    images.write_root()
    images.run("build")
    a, b = images.ref(images.a), images.ref(images.b)
    old_a, old_b = images.image_id(a), images.image_id(b)
    old_digest_b = images.registry.digest(images.path(images.b), "1")
    old_digest_a = images.registry.digest(images.path(images.a), "1")

    images.change_context(images.a)
    since = images.now()
    proc = images.run("build")
    until = images.now()
    assert images.ran(proc, f"build:{images.a}")
    assert f"build:{images.b}" not in proc.stdout
    assert images.image_id(a) != old_a
    assert images.image_id(b) == old_b
    assert images.registry.digest(images.path(images.a), "1") not in (None, old_digest_a)
    assert images.registry.digest(images.path(images.b), "1") == old_digest_b
    # the events see the build, tag and push of a (this also proves that
    # our_events, which test_second_build_does_nothing relies on, sees builds)
    events = images.our_events(since, until)
    assert {subject for _, _, subject in events} == {images.a}, events
    assert {("container", "create"), ("image", "tag"), ("image", "push")} <= {
        (kind, action) for kind, action, _ in events}, events


def test_changed_tag_rebuilds_only_that_image(images):
    images.write_root()
    images.run("build")
    old_b = images.image_id(images.ref(images.b))
    images.set_env(**{f"{prefix(images.a)}_TAG": "2"})
    proc = images.run("build")
    assert images.ran(proc, f"build:{images.a}")
    assert f"push {images.ref(images.a, '2')}\n" in proc.stdout
    assert f"build:{images.b}" not in proc.stdout
    assert images.image_id(images.ref(images.a, "2"))
    assert images.registry.tags(images.path(images.a)) == ["1", "2"]
    assert images.registry.tags(images.path(images.b)) == ["1"]
    assert images.image_id(images.ref(images.b)) == old_b
    # and that is the new state: nothing more to do
    assert images.run("build").stdout == ""


def test_image_removed_out_of_band_is_rebuilt(images):
    images.write_root()
    images.run("build")
    a = images.ref(images.a)
    old_b = images.image_id(images.ref(images.b))
    images.image_id(a)  # remembered for the cleanup
    images.client.images.remove(a, force=True, noprune=True)  # others build on its parents
    assert images.image_id(a) is None
    proc = images.run("build")
    assert images.ran(proc, f"build:{images.a}")
    assert f"build:{images.b}" not in proc.stdout
    assert images.image_id(a)
    assert images.image_id(images.ref(images.b)) == old_b
    assert images.run("build").stdout == ""


def test_build_builds_the_images_a_stack_runs_and_the_others_when_named(images):
    images.write_root(stacks=True)  # stack a runs image a; no stack runs image b
    listing = images.run("list").stdout
    assert f"build:{images.a}" in listing and f"build:{images.b}" in listing
    plan = images.run("plan", check=False)  # build and deploy
    assert f"\nbuild:{images.a}\n" in plan.stdout and f"build:{images.b}" not in plan.stdout
    proc = images.run("build")
    assert images.ran(proc, f"build:{images.a}") and f"build:{images.b}" not in proc.stdout
    assert images.image_id(images.ref(images.a))
    assert images.image_id(images.ref(images.b)) is None
    assert images.registry.tags(images.path(images.b)) == []
    assert images.run("build").stdout == ""
    named = images.run(f"build:{images.b}")
    assert images.ran(named, f"build:{images.b}")
    assert images.registry.tags(images.path(images.b)) == ["1"]
    assert images.run(f"build:{images.b}").stdout == ""


def test_image_deleted_from_its_registry_is_pushed_again(images):
    images.write_root()
    images.run("build")
    digest_b = images.registry.digest(images.path(images.b), "1")
    assert images.registry.delete_repo(images.path(images.a)) == []
    assert images.registry.digest(images.path(images.a), "1") is None
    plan = images.run("plan", "build", check=False)
    assert f"image {images.ref(images.a)} is missing from its registry or differs there" \
        in plan.stdout, plan.stdout
    proc = images.run("build")
    assert images.ran(proc, f"build:{images.a}") and f"build:{images.b}" not in proc.stdout
    assert images.registry.digest(images.path(images.a), "1")
    assert images.registry.digest(images.path(images.b), "1") == digest_b
    assert images.run("build").stdout == ""


def test_failing_build_keeps_previous_image_and_tag(images):
    images.write_root()
    images.run("build")
    ref = images.ref(images.a)
    old_id = images.image_id(ref)
    old_digest = images.registry.digest(images.path(images.a), "1")
    # a workspace override of the context's Dockerfile, with a failing RUN
    write(images.kargo.workspace / "images" / images.a / "Dockerfile", FAILING_DOCKERFILE)
    proc = images.run(f"build:{images.a}", check=False)
    assert proc.returncode != 0
    # the log tail: the RUN's own output, which is not in the error message
    assert FAIL_MARKER in proc.stdout, proc.stdout
    assert _errors(proc) == [
        f"kargo: build:{images.a}: build of {ref} failed: The command "
        f"'/bin/sh -c echo boom-$((6*7)); exit 3' returned a non-zero code: 3"]
    assert "Traceback" not in proc.stdout + proc.stderr
    # nothing was tagged or pushed
    assert images.image_id(ref) == old_id
    assert images.registry.digest(images.path(images.a), "1") == old_digest
    assert images.registry.tags(images.path(images.a)) == ["1"]
    # not recorded as done: it fails again
    assert images.run(f"build:{images.a}", check=False).returncode != 0
    # fixed (another Dockerfile that builds): the next run builds that image
    # only, and the run after does nothing
    write(images.kargo.workspace / "images" / images.a / "Dockerfile",
          FAILING_DOCKERFILE.replace("exit 3", "exit 0"))
    proc = images.run("build")
    assert images.ran(proc, f"build:{images.a}") and f"build:{images.b}" not in proc.stdout
    assert f"build {images.a} 1 ({ref})" in proc.stdout and f"push {ref}" in proc.stdout
    assert images.image_id(ref) not in (None, old_id)
    assert images.registry.digest(images.path(images.a), "1") not in (None, old_digest)
    assert images.run("build").stdout == ""


def test_push_to_stopped_registry_fails_with_one_line(images, tmp_path):
    images.write_root()
    own = OwnRegistry(tmp_path / "own-registry")
    images.own_registries.append(own)
    own.start()
    var = f"{prefix(images.a)}_IMAGE"
    repo = images.repo(images.a, own.address)
    images.set_env(**{var: repo})
    images.run(f"build:{images.a}")
    assert own.tags(images.path(images.a)) == ["1"]  # a control: pushing works

    own.stop()
    images.set_env(**{var: repo, f"{prefix(images.a)}_TAG": "2"})
    proc = images.run(f"build:{images.a}", check=False)
    assert proc.returncode != 0
    errors = _errors(proc)
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"kargo: build:{images.a}: push of {repo}:2 failed: "), errors
    assert f"{own.address}" in errors[0].split(" failed: ", 1)[1]
    assert "connection refused" in errors[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    # built and tagged locally, but not recorded as done: the next run retries
    built = images.image_id(f"{repo}:2")
    assert built
    again = images.run(f"build:{images.a}", check=False)
    assert again.returncode != 0 and f"push of {repo}:2 failed" in again.stderr
    # the registry is back: the next run pushes that image, and does not
    # build it again (its label says it is built from these inputs)
    own.start()
    since = images.now()
    proc = images.run(f"build:{images.a}")
    until = images.now()
    assert f"build {images.a}: {repo}:2 is built from these inputs already" in proc.stdout
    assert "Step " not in proc.stdout and f"push {repo}:2\n" in proc.stdout, proc.stdout
    assert images.image_id(f"{repo}:2") == built
    assert own.tags(images.path(images.a)) == ["1", "2"]
    assert not [e for e in images.our_events(since, until) if e[:2] == ("container", "create")]
    assert images.run(f"build:{images.a}").stdout == ""


def test_import_from_archives(images, tmp_path):
    images.write_root()
    hexpart = images.unique.split("-", 1)[1]
    saved, rootfs, missing = f"imp-{hexpart}", f"fs-{hexpart}", f"miss-{hexpart}"
    for name in (saved, rootfs):
        images.extra_repos.append((images.registry, images.path(name)))
    save_tar = images.save_busybox(tmp_path / "busybox-save.tar")
    rootfs_tar = images.rootfs_tar(tmp_path / "rootfs.tar")
    absent = tmp_path / "no-such-archive.tar"
    images.set_env(**{
        f"{prefix(saved)}_ARCHIVE": save_tar, f"{prefix(saved)}_IMAGE": images.repo(saved),
        f"{prefix(saved)}_TAG": "7",
        f"{prefix(rootfs)}_ARCHIVE": rootfs_tar, f"{prefix(rootfs)}_IMAGE": images.repo(rootfs),
        f"{prefix(rootfs)}_TAG": "1",
        f"{prefix(missing)}_ARCHIVE": absent, f"{prefix(missing)}_IMAGE": images.repo(missing),
    })

    # a `docker save` tar: loaded, tagged, pushed
    proc = images.run(f"import:{saved}")
    assert images.ran(proc, f"import:{saved}")
    assert f"push {images.ref(saved, '7')}\n" in proc.stdout
    assert images.image_id(images.ref(saved, "7")) == images.image_id(images.busybox)
    assert images.registry.tags(images.path(saved)) == ["7"]
    # a second run does nothing
    since = images.now()
    proc = images.run(f"import:{saved}")
    until = images.now()
    assert (proc.stdout, proc.stderr) == ("", "")
    assert images.our_events(since, until) == []

    # a rootfs tarball: imported, pushed, and it runs
    proc = images.run(f"import:{rootfs}")
    assert images.ran(proc, f"import:{rootfs}")
    ref = images.ref(rootfs)
    assert images.image_id(ref)
    assert images.registry.tags(images.path(rootfs)) == ["1"]
    out = images.client.containers.run(ref, ["/bin/busybox", "echo", "rootfs-ok"], remove=True)
    assert out == b"rootfs-ok\n"
    assert images.run(f"import:{rootfs}").stdout == ""

    # a missing archive: one line naming it
    proc = images.run(f"import:{missing}", check=False)
    assert proc.returncode != 0
    assert _errors(proc) == [f"kargo: import:{missing}: {absent}: archive does not exist"]
    assert images.image_id(images.ref(missing, "latest")) is None


def test_rebuilt_image_redeploys_only_the_stack_running_it(images):
    images.write_root(stacks=True)
    sa, sb = images.stacks
    svc_a, svc_b = f"kargo-{sa}_{images.a}", f"kargo-{sb}_{images.b}-svc"
    proc = images.run("deploy")
    assert images.ran(proc, f"build:{images.a}")  # deploy builds what it runs
    assert f"build:{images.b}" not in proc.stdout  # and only that
    assert f"deploy {sa}: " in proc.stdout and f"deploy {sb}: " in proc.stdout
    before_a = images.services(sa)[svc_a]
    before_b = images.services(sb)[svc_b]
    spec_image = before_a["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    digest = images.registry.digest(images.path(images.a), "1")
    assert spec_image == f"{images.ref(images.a)}@{digest}"

    images.change_context(images.a)
    proc = images.run("deploy")
    assert images.ran(proc, f"build:{images.a}")
    assert f"deploy {sa}: {images.a} (image replaced)" in proc.stdout, proc.stdout
    assert f"deploy {sb}: " not in proc.stdout
    after_a = images.services(sa)[svc_a]
    after_b = images.services(sb)[svc_b]
    new_digest = images.registry.digest(images.path(images.a), "1")
    assert new_digest != digest
    assert after_a["Version"]["Index"] > before_a["Version"]["Index"]
    assert after_a["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == (
        f"{images.ref(images.a)}@{new_digest}")
    assert (after_b["ID"], after_b["Version"]["Index"], after_b["UpdatedAt"]) == (
        before_b["ID"], before_b["Version"]["Index"], before_b["UpdatedAt"])
    # converged, and nothing left to do
    assert images.run("deploy").stdout == ""


def test_parallel_build_of_two_stale_images(images):
    images.write_root()
    images.run("build")
    refs = [images.ref(images.a), images.ref(images.b)]
    old = [images.image_id(ref) for ref in refs]
    # stale through the engine (out-of-band removal): a changed context would
    # also run the configure tasks in parallel, which is not what this tests
    for ref in refs:
        images.client.images.remove(ref, force=True, noprune=True)
    proc = images.run("-n", "2", "build")
    assert images.ran(proc, f"build:{images.a}") and images.ran(proc, f"build:{images.b}")
    assert proc.stderr == ""
    for image, ref, old_id in zip((images.a, images.b), refs, old):
        assert images.image_id(ref) not in (None, old_id)
        digest = images.registry.digest(images.path(image), "1")
        assert f"{images.repo(image)}@{digest}" in (
            images.client.api.inspect_image(ref)["RepoDigests"])
    assert images.run("-n", "2", "build").stdout == ""


@pytest.mark.swarm  # its removals would race the builds of the tests running beside it
def test_a_build_whose_cache_lookup_met_a_removal_is_built_again(tmp_path, unique_name):
    """kargo's build (deploy/images.build) of several `FROM scratch` stages,
    cached, while parentless images are made and removed beside it (a
    prune's work): within a few builds the engine's cache lookup meets a
    removed image and fails the attempt; kargo says so and builds again. The
    removals stop at that line, so the attempts after it meet none (at most
    the one removal already under way): the build must then succeed."""
    import contextlib
    import io
    import tarfile
    import threading

    import docker

    from kargo_tasks.deploy import images as kargo_images

    client = docker.from_env()
    label = f"org.kargo.test.race={unique_name}"
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "".join(f"FROM scratch AS s{i}\nLABEL {label} stage={i}\n" for i in range(5)))
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as archive:
        info = tarfile.TarInfo("x")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    stop = threading.Event()

    def churn():  # a parentless image made, then removed, until the retry said so
        n = 0
        while not stop.is_set():
            n += 1
            repo = f"kargo-test-race-{unique_name}"
            client.api.import_image_from_data(layer.getvalue(), repository=repo, tag=str(n),
                                              changes=[f"LABEL {label}"])
            if not stop.is_set():
                client.api.remove_image(f"{repo}:{n}")

    class Said(io.StringIO):  # kargo's output; the retry's line stops the removals
        def write(self, text):
            if "building again" in text:
                stop.set()
            return super().write(text)

    ref = f"kargo-test-race-{unique_name}-built:1"

    def build():
        return kargo_images.build(context, ref, {}, "race", "inputs")
    build()  # cached from now on: each stage's lookup is the one raced
    said = Said()
    remover = threading.Thread(target=churn)
    remover.start()
    try:
        with contextlib.redirect_stdout(said):
            for _ in range(30):
                image_id = build()
                if stop.is_set():
                    break
    finally:
        stop.set()
        remover.join()
        for image in client.api.images(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_image(image["Id"], force=True)
        client.close()
    out = said.getvalue()
    assert "the engine's cache lookup met an image removed meanwhile" in out, (
        "30 builds beside the removals, and no cache lookup met one")
    assert out.count("building again") <= 2 and image_id.startswith("sha256:")
