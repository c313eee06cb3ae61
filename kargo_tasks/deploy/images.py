"""Actions of the image tasks: build, tag, push, import.

A build streams docker-py's build log (a line per step), tags the image only
when the build succeeded, and pushes it when its name has a registry; a push
error is only in the stream, so the stream is read to the end. What the build
read (build args, by name and keyed digest) and what it made (image id,
registry digest) are its doit values; the task is stale when one differs.
The image itself records a keyed digest of its inputs in a label, so a build
whose doit record is lost finds it built already and builds nothing.
"""
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from kargo_tasks.base.actions import Check
from kargo_tasks.base.errors import EngineError, KargoError
from kargo_tasks.base.files import changed_files, fingerprints
from kargo_tasks.engine import client as engine
from kargo_tasks.workspace.catalog import Image, image_reference
from kargo_tasks.workspace.environment import prefix
from kargo_tasks.workspace.project import Project

INPUTS_LABEL = "org.kargo.inputs"
ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE | re.MULTILINE)
LOG_TAIL = 15
# The classic builder's cache lookup (moby daemon GetCachedImage) lists the
# candidate images (every parentless one after `FROM scratch`, else the
# parent's children), then reads each: one removed in between, by a prune or
# another build's cleanup, fails the build with this message, though nothing
# was wrong with it. Such a build is built again: BUILD_ATTEMPTS attempts at most.
CACHE_RACE = re.compile(r'unable to find image "?sha256:[0-9a-f]{64}"?')
BUILD_ATTEMPTS = 3


def reference(env, image_prefix):
    """`<P>_IMAGE:<P>_TAG`, e.g. 127.0.0.1:5000/kargo/mapproxy:1.16.0 (catalog's rule)."""
    ref = image_reference(env, image_prefix)
    if ref is None:
        raise KargoError(f"{image_prefix}_IMAGE is not set")
    return ref


def has_registry(ref):
    first = ref.split("/", 1)[0]
    return "/" in ref and ("." in first or ":" in first or first == "localhost")


def build_args(image, dockerfile_text, env):
    """{ARG: value} for each ARG the Dockerfile declares: the catalog's own
    (MODEL for a loader), else `<IMAGE>_<ARG>`, else `<ARG>` from the
    environment; undeclared variables never reach the build."""
    fixed = dict(image.build_args)
    args, reads = {}, set()
    for name in dict.fromkeys(ARG.findall(dockerfile_text)):
        if name in fixed:
            args[name] = fixed[name]
            continue
        for var in (f"{image.prefix}_{name}", name):
            reads.add(var)
            if var in env:
                args[name] = env.get(var)
                break
    return args, reads


def state(ref):
    """(local image id or None, registry digest or None) of `ref`."""
    found = engine.get(f"inspect image {ref}", f"/images/{ref}/json", missing=True)
    local = found["Id"] if found else None
    return local, engine.registry_digest(ref) if has_registry(ref) else None


def build(context, ref, args, label, inputs):
    """Build `context`; on success tag it `ref`; returns the image id. The
    image's labels name the catalog image and the digest of its inputs."""
    tag = ref.rpartition(":")[2] if ":" in ref.rpartition("/")[2] else "latest"
    print(f"build {label} {tag} ({ref})", flush=True)

    def attempt(n):
        if n:
            print(f"build {label}: the engine's cache lookup met an image removed meanwhile "
                  f"(a prune, another build's cleanup); building again", flush=True)
        return _build_once(context, ref, args, label, inputs)
    return engine.retry(attempt, raced_an_image_removal, BUILD_ATTEMPTS)


def raced_an_image_removal(message: str) -> bool:
    """Whether a build error is the engine's cache lookup meeting an image
    removed while it read the candidates (CACHE_RACE), not a fault of the build."""
    return CACHE_RACE.search(message) is not None


def _build_once(context, ref, args, label, inputs):
    client = engine.client()
    log, image_id = [], None
    stream = engine.call(f"build {ref}", client.api.build, path=str(context), buildargs=args,
                         decode=True, rm=True, forcerm=True, pull=False,
                         labels={"org.kargo.image": label, INPUTS_LABEL: inputs})
    for chunk in engine.call(f"build {ref}", list, _lines(stream, log)):
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        if "error" in chunk:
            tail = "\n".join(log[-LOG_TAIL:])
            # Only the step lines were printed, and the reporter shows the
            # error's one line, not its `stderr`: without this the operator
            # never sees what the failing RUN said.
            _print_tail(log)
            raise EngineError(f"build of {ref} failed: {chunk['error'].strip()}",
                              command=f"docker build {context}", stderr=tail)
    if image_id is None:
        match = re.search(r"Successfully built ([0-9a-f]+)", "\n".join(log))
        if not match:
            raise EngineError(f"build of {ref} gave no image id", stderr="\n".join(log[-LOG_TAIL:]))
        image_id = match.group(1)
    repo, tag = ref.rsplit(":", 1)
    engine.call(f"tag {ref}", client.api.tag, image_id, repo, tag)
    return client.api.inspect_image(image_id)["Id"]


def _print_tail(log):
    """Print what the failing step said: the log lines after the last step
    line (the step lines were printed already, the error is the task's one
    line), without the builder's own ` ---> ` / `Removing ...` lines."""
    steps = [i for i, line in enumerate(log) if line.startswith("Step ")]
    said = [line for line in log[(steps[-1] + 1 if steps else 0):-1]
            if not line.lstrip().startswith(("--->", "Removing intermediate container"))]
    for line in said[-LOG_TAIL:]:
        print(f"  | {line}", flush=True)


def _lines(stream, log):
    """Yield build chunks, printing one line per build step as it goes."""
    for chunk in stream:
        text = chunk.get("stream", "")
        for line in text.splitlines():
            line = line.rstrip()
            if line:
                log.append(line)
                if line.startswith("Step ") or line.startswith("Successfully"):
                    print(f"  {line}", flush=True)
        if "error" in chunk:
            log.append(chunk["error"].strip())
        yield chunk


def push(ref):
    """Push `ref`; returns the registry digest. docker-py does not raise on a
    failed push: the error is a chunk of the stream."""
    client = engine.client()
    repo, tag = ref.rsplit(":", 1)
    print(f"push {ref}", flush=True)
    digest = None
    for chunk in engine.call(f"push {ref}", list,
                             client.api.push(repo, tag=tag, stream=True, decode=True)):
        if "error" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            raise EngineError(f"push of {ref} failed: {detail.strip()}",
                              command=f"docker push {ref}", stderr=detail)
        digest = (chunk.get("aux") or {}).get("Digest", digest)
    return digest


def import_archive(source, ref):
    """Load a `docker save` tar, or import a rootfs tarball, as `ref`."""
    import tarfile
    local = _fetch(source)
    try:
        with tarfile.open(local) as tar:
            names = set(tar.getnames())
    except (tarfile.TarError, OSError) as exc:
        raise KargoError(f"not a tar archive: {exc}", where=source)
    # only now: a missing or broken archive must not reach the engine
    client = engine.client()
    repo, tag = ref.rsplit(":", 1)
    print(f"import {source} as {ref}", flush=True)
    if "manifest.json" in names or "./manifest.json" in names:
        with open(local, "rb") as data:
            loaded = engine.call(f"load {source}", client.api.load_image, data)
        ids = [m["stream"].split("Loaded image: ")[-1].split("Loaded image ID: ")[-1].strip()
               for m in loaded if "stream" in m and "Loaded image" in m["stream"]]
        if not ids:
            raise EngineError(f"load of {source} reported no image")
        engine.call(f"tag {ref}", client.api.tag, ids[0], repo, tag)
    else:
        engine.call(f"import {source}", client.api.import_image_from_file, str(local),
                    repository=repo, tag=tag)
    return client.api.inspect_image(ref)["Id"]


def _fetch(source):
    """A local path for `source` (downloading an http(s) URL once)."""
    from pathlib import Path
    if not re.match(r"https?://", source):
        path = Path(source).expanduser()
        if not path.is_file():
            raise KargoError("archive does not exist", where=source)
        return path
    import tempfile
    import urllib.request
    target = Path(tempfile.gettempdir()) / f"kargo-{hashlib.sha256(source.encode()).hexdigest()[:16]}.tar"
    try:
        urllib.request.urlretrieve(source, target)
    except OSError as exc:
        raise KargoError(f"cannot download: {exc}", where=source)
    return target


def build_image(project: Project, image: Image, key_of: Callable[[], bytes]) -> dict:
    env = project.env
    context = project.layout.merged / image.context
    dockerfile = context / "Dockerfile"
    if not dockerfile.is_file():
        raise KargoError(f"image {image.name} has no Dockerfile", where=str(context))
    args, reads = build_args(image, dockerfile.read_text(encoding="utf-8"), env)
    ref = reference(env, image.prefix)
    reads |= {f"{image.prefix}_IMAGE", f"{image.prefix}_TAG"}
    inputs = inputs_digest(context, ref, args, key_of())
    image_id = built_from(ref, inputs)
    if image_id:
        # doit lost its record (or a build failed at the push): the image is
        # there, made from these very inputs, as its label says
        print(f"build {image.name}: {ref} is built from these inputs already", flush=True)
    else:
        image_id = build(context, ref, args, image.name, inputs)
    digest = _pushed(ref, image_id) if has_registry(ref) else None
    return {"image": image_id, "digest": digest, "env": env.digests(reads, key_of())}


def inputs_digest(context, ref, args, key):
    """What a build reads, as one keyed digest: the reference, the build
    args (values too: keyed, since the label is readable by anyone who can
    inspect the image) and every file of the context (path, mode, content)."""
    import hmac
    import os
    mac = hmac.new(key, digestmod="sha256")
    mac.update(json.dumps([ref, sorted(args.items())]).encode())
    for top, dirs, files in os.walk(context):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(top, name)
            mac.update(json.dumps([os.path.relpath(path, context),
                                   os.stat(path).st_mode & 0o111]).encode())
            with open(path, "rb") as f:
                mac.update(hashlib.sha256(f.read()).digest())
    return mac.hexdigest()


def built_from(ref, inputs):
    """The id of the local image `ref` when its label says it was built from
    `inputs`, else None."""
    found = engine.get(f"inspect image {ref}", f"/images/{ref}/json", missing=True)
    labels = ((found or {}).get("Config") or {}).get("Labels") or {}
    return found["Id"] if labels.get(INPUTS_LABEL) == inputs else None


def _pushed(ref, image_id):
    """The registry digest of `ref`, pushing the local image unless the
    registry holds it already."""
    remote = engine.registry_digest(ref)
    repo = ref.rsplit(":", 1)[0]
    found = engine.get(f"inspect image {ref}", f"/images/{image_id}/json")
    if remote and f"{repo}@{remote}" in (found.get("RepoDigests") or ()):
        return remote
    return push(ref)


def import_image(project: Project, name: str, key_of: Callable[[], bytes]) -> dict:
    env = project.env
    var = f"{prefix(name)}_ARCHIVE"
    source = env.get(var, "")
    if not source:
        raise KargoError(f"set {var} to a docker save tar or a rootfs tarball (path or URL)")
    ref = reference(env, prefix(name))
    image_id = import_archive(source, ref)
    digest = push(ref) if has_registry(ref) else None
    names = [var, f"{prefix(name)}_IMAGE", f"{prefix(name)}_TAG"]
    return {"image": image_id, "digest": digest, "env": env.digests(names, key_of()),
            "archive": fingerprints([source]) if not re.match(r"https?://", source) else {}}


def current(project: Project, image_prefix: str,
            key_of: Callable[[], bytes]) -> Callable[..., Any]:
    """doit `uptodate` callable: same inputs, and the image it made is still
    there, locally and in its registry."""
    def why(values):
        if not values.get("env"):
            return ["never built"]
        changed = [project.variable_changed(name)
                   for name in project.env.changed(values["env"], key_of())]
        changed += [f"{path} changed" for path in changed_files(values.get("archive"))]
        if changed:
            return changed
        try:
            ref = reference(project.env, image_prefix)
            local, remote = state(ref)
        except KargoError as err:
            return [f"cannot check the image: {err}"]
        if local != values.get("image"):
            return [f"image {ref} is missing or was replaced"]
        if remote != values.get("digest"):
            return [f"image {ref} is missing from its registry or differs there"]
        return []
    return Check("image_current", why)
