"""The only place that talks to the Docker engine: the one chosen, as the
docker CLI chooses it, by endpoint.py.

Questions (`get`: list services, inspect an image, ...) go over the standard
library's http.client: a no-op run asks a few dozen of them, and docker-py
would cost more to import (0.1 s) than that run's own work. The connection
(and the one of its own each `stream` opens, for an answer read as it
comes: a service's logs) is the endpoint's: the engine's unix socket, TCP (with TLS when the endpoint
has it), or ssh, which runs `ssh ... docker system dial-stdio` as the CLI
does. Changes go through docker-py's public client (imported lazily, only by
the actions that make them), made for the same endpoint, and the docker CLI
(`docker stack deploy`, the CLI's own compose implementation), run with the
same endpoint pinned in its environment. Every failure becomes an
EngineError carrying the command, the exit code and the engine's message.
"""
import atexit
import functools
import http.client
import json
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kargo_tasks.base.errors import EngineError

from . import endpoint as endpoint_mod

T = TypeVar("T")

NOT_RUNNING = "the Docker engine is not answering"
TIMEOUT = 120
# An update names the version of the object it read; when anyone else updated
# it meanwhile, the engine refuses it with these words. The writer reads the
# object again and retries, this many times in all.
CONFLICT = "update out of sequence"
RETRIES = 5
# errors of a kept-alive connection the engine closed meanwhile: the request
# was not taken, sending it again is safe (a timeout is not one of them)
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


# What chooses the engine of this run: a function giving (environ, sources)
# for endpoint.resolve, set by the run's project (its shell and env files,
# project.engine_settings); unset, the process's own environment.
_settings = None


def retry(attempt: Callable[[int], T], transient: Callable[[str], bool], attempts: int,
          pause: float = 0.0) -> T:
    """`attempt(n)`, n = 0, 1, ..., while it raises an EngineError whose
    message `transient` says a later attempt may not meet: `attempts` at most,
    the last error raised; `pause` seconds times n come before attempt n."""
    for n in range(attempts - 1):
        try:
            return attempt(n)
        except EngineError as err:
            if not transient(str(err)):
                raise
            time.sleep(pause * (n + 1))
    return attempt(attempts - 1)


def retry_on_conflict(attempt: Callable[[int], T], pause: float = 0.0) -> T:
    """`attempt(n)` (retry) until the engine no longer refuses it because
    another writer updated the object since it was read (CONFLICT): RETRIES
    attempts at most. An attempt after the first reads the object again."""
    return retry(attempt, lambda message: CONFLICT in message, RETRIES, pause)


def choose(settings: Callable[[], tuple] | None) -> None:
    """Make `settings()` what chooses this run's engine (from now on)."""
    global _settings
    _settings = settings
    for cached in (current, _connection, client, _has_credentials):
        cached.cache_clear()


@functools.lru_cache(maxsize=None)
def current() -> endpoint_mod.Endpoint:
    """The endpoint of this run (resolved once)."""
    return endpoint_mod.resolve(*(_settings() if _settings else ()))


def describe() -> str:
    return current().describe()


def _unreachable(what, exc):
    return EngineError(f"{NOT_RUNNING} on {describe()}", command=what, stderr=str(exc),
                       hint="start dockerd, e.g. bash scripts/engine-up, or choose another "
                            "engine with DOCKER_HOST or DOCKER_CONTEXT")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=TIMEOUT)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _dial_stdio(url, conn):
    """`ssh ... docker [--host=unix://<path>] system dial-stdio` on `conn`
    (its stdin and stdout), as the docker CLI runs it for `url` (ssh://):
    the remote command quoted for the remote shell."""
    remote = ["docker"]
    if url.path.strip("/"):
        remote.append(f"--host=unix://{url.path}")
    command = ["ssh", "-o", "ConnectTimeout=30", "-T"]
    command += ["-l", url.username] if url.username else []
    command += ["-p", str(url.port)] if url.port else []
    command += ["--", url.hostname, shlex.join([*remote, "system", "dial-stdio"])]
    return subprocess.Popen(command, stdin=conn, stdout=conn, stderr=subprocess.DEVNULL)


class _SSHBridge:
    """A unix socket of this process, in a folder only its user can open,
    that carries each connection made to it over `ssh ... dial-stdio` to
    the engine of an ssh:// endpoint: docker-py's client is made for it.
    (docker-py's own ssh transport reads ssh://me@host:2222/run/x.sock as
    port "2222/run/x.sock" and cannot name a remote socket.)"""

    def __init__(self, url):
        self.url = url
        self.dir = tempfile.mkdtemp(prefix="kargo-ssh-")  # 0700
        self.path = os.path.join(self.dir, "engine.sock")
        self.processes = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.path)
        self._server.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()
        atexit.register(self.close)

    def _serve(self):
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            with conn:  # ssh holds its own copy of it
                try:
                    self.processes.append(_dial_stdio(self.url, conn))
                except OSError:
                    pass  # docker-py sees the connection closed: one error line

    def close(self):
        self._server.close()
        for process in self.processes:
            process.terminate()
            process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class _SSHConnection(http.client.HTTPConnection):
    """HTTP over `ssh ... docker system dial-stdio`, the command the docker
    CLI runs for an ssh:// host (OpenSSH's own configuration applies)."""

    def __init__(self, url):
        super().__init__("localhost", timeout=TIMEOUT)
        self.url = url
        self.process = None

    def connect(self):
        mine, theirs = socket.socketpair()
        try:
            self.process = _dial_stdio(self.url, theirs)
        except OSError:
            mine.close()
            raise
        finally:
            theirs.close()
        mine.settimeout(self.timeout)
        self.sock = mine

    def close(self):
        super().close()
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None


def _ssl_context(tls):
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls.verify:
        if tls.ca:
            context.load_verify_locations(tls.ca)
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert:
        context.load_cert_chain(tls.cert, tls.key)
    return context


@functools.lru_cache(maxsize=None)
def _connection():
    """The kept-alive connection to the engine of this run."""
    return _open(TIMEOUT)


def _open(timeout: float | None) -> http.client.HTTPConnection:
    """A new connection to the engine of this run (`timeout`: of each read,
    None for none)."""
    point = current()
    url = urllib.parse.urlsplit(point.host)
    conn: http.client.HTTPConnection
    if url.scheme == "unix":
        conn = _UnixConnection(url.path)
    elif url.scheme == "ssh":
        conn = _SSHConnection(url)
    elif url.scheme == "tcp" and point.tls:
        conn = http.client.HTTPSConnection(url.hostname or "", url.port, timeout=timeout,
                                           context=_ssl_context(point.tls))
    elif url.scheme == "tcp":
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout)
    else:
        raise EngineError(f"cannot reach an engine at {point.describe()}: unknown scheme "
                          f"{url.scheme!r}", command="choose the Docker engine")
    conn.timeout = timeout
    return conn


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


def _target(path, params):
    query = _query(params)
    return urllib.parse.quote(path, safe="/:@") + (f"?{query}" if query else "")


def get(what: str, path: str, *, missing: bool = False, **params: Any) -> Any:
    """GET `path` (e.g. "/services") from the engine; its JSON. With
    `missing=True`, None when the engine answers 404."""
    target = _target(path, params)
    conn = _connection()
    for attempt in (1, 2):
        try:
            conn.request("GET", target)
            response = conn.getresponse()
            body = response.read()
            break
        except STALE as exc:
            conn.close()
            if attempt == 2:
                raise _unreachable(what, exc) from None
        except OSError as exc:  # no engine, refused, TLS, a timeout: not sent again
            conn.close()
            raise _unreachable(what, exc) from None
    if response.status == 404 and missing:
        return None
    if response.status >= 400:
        raise _refused(what, response.status, body)
    return json.loads(body)


def _refused(what, status, body):
    """The EngineError of an answer >= 400 (`body`: its bytes)."""
    try:
        message = json.loads(body).get("message") or ""
    except ValueError:
        message = body.decode(errors="replace").strip()
    return EngineError(f"{what}: {message}", command=what, exit_code=status, stderr=message)


class Stream:
    """The body of one answer of the engine, read as it comes (a service's
    logs, `follow`ed): a connection of its own, never the kept-alive one,
    whose reads wait as long as the engine says nothing. Close it when done
    (another thread may, to stop a read that waits)."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self._conn, self._response = conn, response

    def read(self, size: int) -> bytes:
        """Exactly `size` bytes, fewer only at the end of the answer."""
        try:
            return self._response.read(size)
        # the engine went away, or `close` from another thread came in the
        # middle of http.client's read (which then fails in its own ways)
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            return b""

    def read1(self, size: int) -> bytes:
        """What has come, up to `size` bytes (b"" at the end)."""
        try:
            return self._response.read1(size)
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            return b""

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a read that waits
            except OSError:
                pass
        self._conn.close()


def stream(what: str, path: str, **params: Any) -> Stream:
    """GET `path` on a connection of its own with no read timeout; the body
    as a Stream (an answer >= 400 is an EngineError, as for `get`)."""
    target = _target(path, params)
    conn = _open(None)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
    except OSError as exc:
        conn.close()
        raise _unreachable(what, exc) from None
    if response.status >= 400:
        body = response.read()
        conn.close()
        raise _refused(what, response.status, body)
    return Stream(conn, response)


# What the engine accepts when it resolves a tag: the registry then answers
# with the manifest it stores, whose digest is the one the engine reports.
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
])
LOOPBACK = {"localhost", "127.0.0.1", "[::1]"}


def _loopback_manifest(ref, engine_host):
    """(host:port, repository, tag) when `ref`'s registry is on this machine's
    loopback and so is the engine (`engine_host`); else None."""
    if "@" in ref or "/" not in ref:
        return None
    if not engine_host.startswith("unix://"):
        return None  # a remote engine's loopback is not this machine's
    host, rest = ref.split("/", 1)
    if host.rsplit(":", 1)[0] not in LOOPBACK:
        return None
    repo, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    return host, repo, tag


def registry_digest(ref: str) -> str | None:
    """The digest the registry of image `ref` has for it (what `docker stack
    deploy` pins a service to), None when the registry cannot say.

    A registry on the loopback of a local engine (the default,
    KARGO_REGISTRY=127.0.0.1:5000) is asked directly: one HEAD costs ~1 ms,
    the engine's distribution endpoint ~6 ms per image, and a no-op run asks
    it for every image."""
    direct = _loopback_manifest(ref, current().host)
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
    return http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)


def _head_manifest(host, repo, tag):
    """The Docker-Content-Digest of the manifest, None when the registry has
    none, False when it cannot say so plainly (down, auth): ask the engine."""
    conn = _registry_connection(host)
    try:
        conn.request("HEAD", f"/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        return False
    if response.status == 404:
        return None
    return (response.status == 200 and response.getheader("Docker-Content-Digest")) or False


@functools.lru_cache(maxsize=None)
def _has_credentials():
    folder = current().config or endpoint_mod.config_dir(os.environ)
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return False
    return bool(config.get("auths") or config.get("credsStore") or config.get("credHelpers"))


@functools.lru_cache(maxsize=None)
def client() -> Any:
    """docker-py's client for the endpoint of this run."""
    import docker
    point = current()
    tls = False
    if point.tls:
        verify = point.tls.verify
        tls = docker.tls.TLSConfig(
            client_cert=(point.tls.cert, point.tls.key) if point.tls.cert else None,
            ca_cert=point.tls.ca if verify else None, verify=(point.tls.ca or True) if verify else False)
    base_url = point.host.replace("tcp://", "https://", 1) if point.tls else point.host
    # The API version is asked here, not by docker-py's constructor: its
    # request would let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the
    # endpoint's authority (docker/docker-py#2433). The endpoint decides.
    version = get("docker version", "/version")["ApiVersion"]
    if base_url.startswith("ssh://"):
        base_url = f"unix://{_SSHBridge(urllib.parse.urlsplit(point.host)).path}"
    try:
        made = docker.DockerClient(base_url=base_url, tls=tls, timeout=TIMEOUT, version=version)
    except docker.errors.DockerException as exc:
        raise _unreachable("docker version", exc) from None
    made.api.trust_env = False
    # docker-py reads the credentials of the process's DOCKER_CONFIG: the
    # run's may be another (set by the workspace .env)
    config = os.path.join(point.config, "config.json") if point.config else None
    if config and os.path.isfile(config):
        made.api.reload_config(config)
    return made


def call(what: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one docker-py call; `what` names it in the error ("list services")."""
    import docker
    import requests
    try:
        return func(*args, **kwargs)
    except docker.errors.APIError as exc:
        message = exc.explanation or str(exc)
        raise EngineError(f"{what}: {message}", command=what,
                          exit_code=exc.status_code, stderr=message)
    except (requests.exceptions.ConnectionError, docker.errors.DockerException,
            # a stream (a build's log) cut by the engine going away
            requests.exceptions.ChunkedEncodingError) as exc:
        raise _unreachable(what, exc) from None


def cli_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a docker CLI (or a hook running one): this run's
    engine, pinned."""
    return endpoint_mod.cli_env(current(), environ)


def run_cli(args, *, what=None, timeout=600, stdin=None):
    """Run `docker <args>` (`stdin`: the text given on its standard input);
    returns stdout, raises EngineError with stderr."""
    command = ["docker", *args]
    given = {"stdin": subprocess.DEVNULL} if stdin is None else {"input": stdin}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=cli_env(), **given)
    except FileNotFoundError:
        raise EngineError("the docker command is not installed", command=" ".join(command))
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what or ' '.join(command)}: no answer after {timeout}s",
                          command=" ".join(command))
    if proc.returncode != 0:
        stderr = proc.stderr.strip()
        last = stderr.splitlines()[-1] if stderr else f"exit code {proc.returncode}"
        if "Cannot connect to the Docker daemon" in stderr or "error during connect" in stderr:
            last = f"{NOT_RUNNING} on {describe()}"
        raise EngineError(f"{what or ' '.join(command[:3])}: {last}", command=" ".join(command),
                          exit_code=proc.returncode, stderr=stderr)
    return proc.stdout
