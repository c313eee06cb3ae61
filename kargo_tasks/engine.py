"""The only place that talks to the Docker engine.

Questions (`get`: list services, inspect an image, ...) go over a plain HTTP
connection to the engine's socket: a no-op run asks a few dozen of them, and
docker-py would cost more to import (0.1 s) and per request than the run's
own work. Changes go through docker-py (imported lazily, only by the actions
that make them) or the docker CLI for `docker stack deploy`, the CLI's own
compose implementation. Every failure becomes an EngineError carrying the
command, the exit code and the engine's message.
"""
import functools
import json
import os
import subprocess
import urllib.parse

from . import wire
from .errors import EngineError

NOT_RUNNING = "the Docker engine is not answering"


def _where():
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


@functools.lru_cache(maxsize=None)
def _connection():
    """The connection to the engine, or None when only docker-py knows how to
    reach it (TLS, ssh://)."""
    url = urllib.parse.urlsplit(_where())
    if url.scheme == "unix":
        return wire.unix(url.path, 120)
    if url.scheme == "tcp" and not os.environ.get("DOCKER_TLS_VERIFY"):
        return wire.tcp(url.hostname, url.port or 2375, 120)
    return None


def _query(params):
    """docker-py's encoding: filters as JSON lists, booleans as words."""
    out = {}
    for key, value in params.items():
        if key == "filters":
            value = json.dumps({k: v if isinstance(v, list) else [v] for k, v in value.items()})
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[key] = value
    return urllib.parse.urlencode(out)


def get(what, path, *, missing=False, **params):
    """GET `path` (e.g. "/services") from the engine; its JSON. With
    `missing=True`, None when the engine answers 404."""
    query = _query(params)
    conn = _connection()
    if conn is None:  # TLS or ssh: docker-py knows how
        api = client().api
        try:
            return call(what, lambda: api._result(api._get(api._url(path), params=query), True))
        except EngineError as err:
            if missing and err.exit_code == 404:
                return None
            raise
    try:
        response = conn.request("GET", path + (f"?{query}" if query else ""))
        body = response.body
    except OSError as exc:
        conn.close()
        raise EngineError(f"{NOT_RUNNING} on {_where()}", command=what, stderr=str(exc),
                          hint="start dockerd, e.g. bash scripts/engine-up")
    if response.status == 404 and missing:
        return None
    if response.status >= 400:
        try:
            message = json.loads(body).get("message") or ""
        except ValueError:
            message = body.decode(errors="replace").strip()
        raise EngineError(f"{what}: {message}", command=what, exit_code=response.status,
                          stderr=message)
    return json.loads(body)


# What the engine accepts when it resolves a tag: the registry then answers
# with the manifest it stores, whose digest is the one the engine reports.
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
])
LOOPBACK = {"localhost", "127.0.0.1", "[::1]"}


def _loopback_manifest(ref):
    """(host:port, repository, tag) when `ref`'s registry is on this machine's
    loopback, which the engine always reaches over plain HTTP; else None."""
    if "@" in ref or "/" not in ref:
        return None
    host, rest = ref.split("/", 1)
    if host.rsplit(":", 1)[0] not in LOOPBACK:
        return None
    repo, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    return host, repo, tag


def registry_digest(ref):
    """The digest the registry of image `ref` has for it (what `docker stack
    deploy` pins a service to), None when the registry cannot say.

    A registry on the loopback (the default, KARGO_REGISTRY=127.0.0.1:5000) is
    asked directly: one HEAD costs ~1 ms, the engine's distribution endpoint
    ~6 ms per image, and a no-op run asks it for every image."""
    direct = _loopback_manifest(ref)
    if direct:
        found = _head_manifest(*direct)
        if found is not False:
            return found
    what = f"inspect {ref} in its registry"
    try:
        if _has_credentials():  # docker-py sends them (X-Registry-Auth)
            found = call(what, client().api.inspect_distribution, ref)
        else:
            found = get(what, f"/distribution/{ref}/json")
    except EngineError as err:
        if err.exit_code is None:  # no engine at all: not the registry's answer
            raise
        return None
    return found["Descriptor"]["digest"]


@functools.lru_cache(maxsize=None)
def _registry_connection(host):
    url = urllib.parse.urlsplit(f"//{host}")
    return wire.tcp(url.hostname, url.port or 80, 10)


def _head_manifest(host, repo, tag):
    """The Docker-Content-Digest of the manifest, None when the registry has
    none, False when it cannot say so plainly (down, auth): ask the engine."""
    try:
        response = _registry_connection(host).request(
            "HEAD", f"/v2/{repo}/manifests/{tag}", {"Accept": MANIFEST_TYPES})
    except OSError:
        return False
    if response.status == 404:
        return None
    return (response.status == 200 and response.headers.get("docker-content-digest")) or False


@functools.lru_cache(maxsize=None)
def _has_credentials():
    folder = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return False
    return bool(config.get("auths") or config.get("credsStore") or config.get("credHelpers"))


@functools.lru_cache(maxsize=None)
def client():
    import docker
    try:
        return docker.from_env(timeout=120)
    except docker.errors.DockerException as exc:
        raise EngineError(f"{NOT_RUNNING} on {_where()}", command="docker version",
                          stderr=str(exc), hint="start dockerd, e.g. bash scripts/engine-up")


def call(what, func, *args, **kwargs):
    """Run one docker-py call; `what` names it in the error ("list services")."""
    import docker
    import requests
    try:
        return func(*args, **kwargs)
    except docker.errors.APIError as exc:
        message = exc.explanation or str(exc)
        raise EngineError(f"{what}: {message}", command=what,
                          exit_code=exc.status_code, stderr=message)
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        raise EngineError(f"{what}: {NOT_RUNNING} on {_where()}", command=what, stderr=str(exc))


def run_cli(args, *, what=None, timeout=600):
    """Run `docker <args>`; returns stdout, raises EngineError with stderr."""
    command = ["docker", *args]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise EngineError("the docker command is not installed", command=" ".join(command))
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what or ' '.join(command)}: no answer after {timeout}s",
                          command=" ".join(command))
    if proc.returncode != 0:
        stderr = proc.stderr.strip()
        last = stderr.splitlines()[-1] if stderr else f"exit code {proc.returncode}"
        if "Cannot connect to the Docker daemon" in stderr:
            last = f"{NOT_RUNNING} on {_where()}"
        raise EngineError(f"{what or ' '.join(command[:3])}: {last}", command=" ".join(command),
                          exit_code=proc.returncode, stderr=stderr)
    return proc.stdout
