"""Which Docker engine: the endpoint, chosen as the docker CLI chooses it.

1. `DOCKER_HOST` (not empty): that host, in the "default" context, with TLS
   when `DOCKER_TLS_VERIFY` (verify the server) or `DOCKER_TLS` (do not) is
   set, the files `ca.pem`, `cert.pem`, `key.pem` of `DOCKER_CERT_PATH` (or
   of the docker config folder);
2. else `DOCKER_CONTEXT`, else the `currentContext` of the docker config
   file (`$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`), as made
   by `docker context use`: that context's host and its TLS files;
3. else the "default" context: the local socket (tcp://localhost:2376 when
   TLS is asked in the environment).
A context that does not exist is an error, as it is for the CLI. Pure: reads
the environment and the docker config folder, asks no engine. Both the API
calls (engine.py) and every docker CLI kargo runs use the one endpoint.
"""
import hashlib
import json
import os
import urllib.parse
from dataclasses import dataclass

from .errors import EngineError

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class TLS:
    ca: str       # file, or None: the system's authorities
    cert: str     # client certificate and key, or None
    key: str
    verify: bool  # check the server's certificate (and name)


@dataclass(frozen=True)
class Endpoint:
    host: str          # unix:///..., tcp://host:port, ssh://user@host:port[/socket]
    context: str       # "default" or the context's name
    chosen_by: str     # how: "DOCKER_HOST", "DOCKER_CONTEXT", the config file, "default"
    tls: TLS = None    # None: plain (a socket, ssh, or tcp without TLS)

    def describe(self):
        """One line for an operator: no secret (a password in a URL is cut)."""
        url = urllib.parse.urlsplit(self.host)
        shown = self.host
        if url.password:
            shown = self.host.replace(f":{url.password}@", ":…@", 1)
        kind = "" if self.tls is None else (", TLS" if self.tls.verify else ", TLS not verified")
        name = "" if self.context == "default" else f"context {self.context}, "
        return f"{shown} ({name}chosen by {self.chosen_by}{kind})"


def config_dir(environ):
    return environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def resolve(environ=None):
    """The endpoint the docker CLI would use with `environ` (os.environ)."""
    environ = os.environ if environ is None else environ
    folder = config_dir(environ)
    if environ.get("DOCKER_HOST"):
        return _default(environ, folder, environ["DOCKER_HOST"], "DOCKER_HOST")
    name, chosen_by = environ.get("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
    if not name:
        name, chosen_by = _current_context(folder), f"the current context of {folder}/config.json"
    if not name or name == "default":
        return _default(environ, folder, None, chosen_by if name else "default")
    return _named(name, folder, chosen_by)


def _current_context(folder):
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            return (json.load(f) or {}).get("currentContext") or None
    except (OSError, ValueError):
        return None


def _default(environ, folder, host, chosen_by):
    verify = bool(environ.get("DOCKER_TLS_VERIFY"))  # any value, "0" too, as the CLI
    tls = verify or bool(environ.get("DOCKER_TLS"))
    if host is None:
        host = "tcp://localhost:2376" if tls else DEFAULT_SOCKET
    host = _with_port(host)
    if not tls or not host.startswith("tcp://"):
        return Endpoint(host, "default", chosen_by)
    certs = environ.get("DOCKER_CERT_PATH") or folder
    ca = os.path.join(certs, "ca.pem")
    if not os.path.isfile(ca):  # the CLI needs it once TLS is on
        raise EngineError(f"TLS is on (DOCKER_TLS_VERIFY or DOCKER_TLS) but {ca} does not exist",
                          command="choose the Docker engine")
    cert, key = _pair(certs)
    return Endpoint(host, "default", chosen_by, TLS(ca, cert, key, verify))


def _named(name, folder, chosen_by):
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(folder, "contexts", "meta", digest, "meta.json")
    try:
        with open(meta, encoding="utf-8") as f:
            docker = json.load(f)["Endpoints"]["docker"]
    except OSError:
        raise EngineError(f'docker context "{name}" does not exist (chosen by {chosen_by}; '
                          "see docker context ls)", command="choose the Docker engine") from None
    except (ValueError, KeyError, TypeError):
        raise EngineError(f'docker context "{name}" has no docker endpoint in {meta}',
                          command="choose the Docker engine") from None
    host = _with_port(docker.get("Host") or DEFAULT_SOCKET)
    tls_dir = os.path.join(folder, "contexts", "tls", digest, "docker")
    ca = os.path.join(tls_dir, "ca.pem")
    ca = ca if os.path.isfile(ca) else None
    cert, key = _pair(tls_dir)
    skip = bool(docker.get("SkipTLSVerify"))
    tls = None
    if host.startswith("tcp://") and (skip or ca or cert):
        tls = TLS(ca, cert, key, not skip)
    return Endpoint(host, name, chosen_by, tls)


def _pair(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    if os.path.isfile(cert) and os.path.isfile(key):
        return cert, key
    return None, None  # the CLI goes on without a client certificate


def _with_port(host):
    """A tcp host without a port gets 2375, as the CLI gives it (TLS or not)."""
    url = urllib.parse.urlsplit(host)
    if url.scheme == "tcp" and url.port is None:
        return f"tcp://{url.hostname}:2375{url.path}"
    return host


def cli_env(endpoint, environ=None):
    """The environment for a docker CLI kargo runs: the same endpoint, pinned
    (a `docker context use` meanwhile changes nothing for this run)."""
    env = dict(os.environ if environ is None else environ)
    if endpoint.context == "default":
        env["DOCKER_HOST"] = endpoint.host
        env.pop("DOCKER_CONTEXT", None)
    else:
        env.pop("DOCKER_HOST", None)
        env["DOCKER_CONTEXT"] = endpoint.context
    return env
