"""Which Docker engine: the endpoint, chosen as the docker CLI chooses it.

1. `DOCKER_HOST` (not blank): that host, in the "default" context, with TLS
   when `DOCKER_TLS_VERIFY` (verify the server) or `DOCKER_TLS` (do not) is
   set, the files `ca.pem`, `cert.pem`, `key.pem` of `DOCKER_CERT_PATH` (or
   of the docker config folder);
2. else `DOCKER_CONTEXT`, else the `currentContext` of the docker config
   file (`$DOCKER_CONFIG/config.json`, or `~/.docker/config.json`), as made
   by `docker context use`: that context's host and its TLS files;
3. else the "default" context: the local socket (tcp://localhost:2376 when
   TLS is asked in the environment).
A context that does not exist is an error, as it is for the CLI. A host is
read as the CLI reads it (`parse_host`). The variables (`VARIABLES`) come
from the run's environment: the shell, else the workspace `.env`, else the
defaults env file (project.py), and a relative path a file sets is relative
to that file's folder. Pure: reads the variables and the docker config
folder, asks no engine. Both the API calls (engine.py) and every docker CLI
and hook kargo runs use the one endpoint.
"""
import hashlib
import json
import os
import re
import urllib.parse
from dataclasses import dataclass

from kargo_tasks.base.errors import EngineError

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# what chooses the engine, for the docker CLI and so for kargo
VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_TLS",
             "DOCKER_CERT_PATH", "DOCKER_CONFIG")
CHOOSE = "choose the Docker engine"


@dataclass(frozen=True)
class TLS:
    ca: str       # file, or None: the system's authorities
    cert: str     # client certificate and key, or None
    key: str
    verify: bool  # check the server's certificate (and name)


@dataclass(frozen=True)
class Source:
    """Where an env file set one of the VARIABLES."""
    shown: str    # for the operator: "the workspace .env /ws/.env:3"
    folder: str   # where a relative path it gives starts


@dataclass(frozen=True)
class Endpoint:
    host: str          # unix:///abs.sock, tcp://host:port, ssh://user@host:port[/socket]
    context: str       # "default" or the context's name
    chosen_by: str     # how: "DOCKER_HOST", "DOCKER_CONTEXT", the config file, "default"
    tls: TLS | None = None    # None: plain (a socket, ssh, or tcp without TLS)
    config: str | None = None  # the docker config folder (contexts, registry credentials)

    def describe(self):
        """One line for an operator: no secret (a password in a URL is cut)."""
        url = urllib.parse.urlsplit(self.host)
        shown = self.host
        if url.password:
            shown = self.host.replace(f":{url.password}@", ":…@", 1)
        kind = "" if self.tls is None else (", TLS" if self.tls.verify else ", TLS not verified")
        name = "" if self.context == "default" else f"context {self.context}, "
        return f"{shown} ({name}chosen by {self.chosen_by}{kind})"


def _refused(message, how):
    return EngineError(f"{message} (chosen by {how})", command=CHOOSE)


def _shown(value):
    """`value` quoted for a message, a password in it cut."""
    return repr(re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1…@", value))


# --- a host, as the docker CLI reads it (docker/cli opts/hosts.go ParseHost) ---------

# what Go's url.Parse accepts unescaped in a host name (net/url shouldEscape):
# A-Z a-z 0-9 -_.~!$&'()*+,;=:[]<>" and every character from U+0080 on,
# written as the ASCII it refuses (a class up to U+10FFFF costs 4 ms to
# compile, in every kargo run)
_HOST_CHARS = re.compile(r"[^\x00-\x20#%/?@\\^`{|}\x7f]*")


def _split_host_port(hostport):
    """(host, port) as Go's net.SplitHostPort splits; None when it refuses."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or hostport[end + 1:end + 2] != ":":
            return None
        host, port = hostport[1:end], hostport[end + 2:]
        if "[" in host or "]" in host or "[" in port or "]" in port:
            return None
        return host, port
    if ":" not in hostport:
        return None
    host, port = hostport.rsplit(":", 1)
    if ":" in host or any(c in hostport for c in "[]"):
        return None
    return host, port


def _join(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tcp(value, address, how, what):
    """ParseTCPAddr: tcp://host:port, "localhost" and 2375 filling the gaps.
    The CLI keeps a path after the port (and sends every request under it);
    kargo refuses one, and so a scheme-less socket path (see parse_host)."""
    def bad(why=""):
        return _refused(f"{what} {_shown(value)} is not a valid engine address"
                        f"{why}", how)
    if address in ("", "tcp://"):
        return "tcp://localhost:2375"
    if "://" in address:
        raise bad(": expected tcp")
    if address.endswith("]:"):
        address += "2375"
    # url.Parse: the fragment, then the query, then the path are cut off;
    # the host is what follows the last @ of the authority
    rest = address.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    hostport = authority.rpartition("@")[2]
    if not _HOST_CHARS.fullmatch(hostport):
        raise bad(": a character a host name cannot hold")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or not re.fullmatch(r"(:[0-9]*)?", hostport[end + 1:]):
            raise bad()
    elif ":" in hostport and not re.fullmatch(r":[0-9]*", hostport[hostport.rfind(":"):]):
        raise bad(": the port is not a number")
    parts = _split_host_port(hostport) or _split_host_port(_join(hostport, "2375"))
    if parts is None:
        raise bad()
    host, port = parts[0] or "localhost", parts[1] or "2375"
    if slash and path:
        hint = (f"; for a socket write unix://{value.strip()}"
                if value.strip().startswith(("/", "./")) else "")
        raise bad(f": kargo does not send requests under a path (the CLI reads it as "
                  f"tcp://{_join(host, port)}/{path}){hint}")
    if not 0 < int(port) < 65536:
        raise bad(": the port is not between 1 and 65535")
    return f"tcp://{_join(host, port)}"


def _ssh(value, how, what):
    """ssh://[user@]host[:port][/socket], as the CLI's connhelper accepts it."""
    try:
        url = urllib.parse.urlsplit(value)
        port = url.port
    except ValueError:
        raise _refused(f"{what} {_shown(value)} is not a valid ssh address", how) from None
    for wrong, why in ((url.password is not None, "a password in an ssh address (use a key "
                                                  "or the ssh agent, as the docker CLI asks)"),
                       (not url.hostname, "no host in the ssh address"),
                       (url.query, "a query after the ssh host"),
                       (url.fragment, "a fragment after the ssh host"),
                       (port == 0, "port 0")):
        if wrong:
            raise _refused(f"{what}: {why}", how)
    return value


def parse_host(value, *, tls=False, how="DOCKER_HOST", folder=None, what="DOCKER_HOST"):
    """`value` (DOCKER_HOST, or a context's host) as the docker CLI reads it:
    blanks around it trimmed; nothing is the local socket (tcp://localhost:2376
    with `tls`); no scheme is tcp (`myhost:2375`); tcp gets "localhost" and
    2375 where they are missing. A relative unix socket path starts in
    `folder` (the env file's; else the current folder). EngineError naming
    the value and `how` it was chosen for what the CLI refuses, and for what
    kargo refuses: a path after a tcp host, fd:// and npipe://, a port 0 or
    over 65535."""
    text = value.strip()
    if not text:
        return "tcp://localhost:2376" if tls else DEFAULT_SOCKET
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme == "tcp":
        return _tcp(value, rest, how, what)
    if scheme == "unix":
        path = rest[len("unix://"):] if rest.startswith("unix://") else rest
        if "://" in path:
            raise _refused(f"{what} {_shown(value)}: expected a unix socket path", how)
        path = path or DEFAULT_SOCKET[len("unix://"):]
        if not os.path.isabs(path):  # the CLI's is in the current folder
            path = os.path.abspath(os.path.join(folder or os.getcwd(), path))
        return f"unix://{path}"
    if scheme == "ssh":
        return _ssh(text, how, what)
    if scheme in ("fd", "npipe"):
        raise _refused(f"{what} {_shown(value)}: {scheme}:// is not an engine a client on "
                       "Linux reaches (the docker CLI stops on it too)", how)
    raise _refused(f"{what} {_shown(value)}: invalid bind address format (the schemes are "
                   "unix://, tcp:// and ssh://)", how)


# --- the endpoint ------------------------------------------------------------------------

def config_dir(environ, sources=None):
    """The docker config folder `environ` names (DOCKER_CONFIG), absolute."""
    return _path(environ, sources, "DOCKER_CONFIG") or os.path.join(
        os.path.expanduser("~"), ".docker")


def _path(environ, sources, name):
    """The folder variable `name`, absolute: a relative one an env file sets
    starts in that file's folder (as for the CLI, the shell's in the current)."""
    value = environ.get(name)
    if not value:
        return None
    source = (sources or {}).get(name)
    return os.path.abspath(os.path.join(source.folder if source else os.getcwd(), value))


def _how(name, sources):
    source = (sources or {}).get(name)
    return f"{name} in {source.shown}" if source else name


def resolve(environ=None, sources=None):
    """The endpoint the docker CLI would use with `environ` (os.environ).
    `sources`: {variable: Source} for those an env file set (the others
    came from the shell)."""
    environ = os.environ if environ is None else environ
    folder = config_dir(environ, sources)
    if environ.get("DOCKER_HOST"):  # blanks too: the CLI's default context, its socket
        return _default(environ, sources, folder, _how("DOCKER_HOST", sources))
    name, chosen_by = environ.get("DOCKER_CONTEXT"), _how("DOCKER_CONTEXT", sources)
    if not name:
        name, chosen_by = _current_context(folder), f"the current context of {folder}/config.json"
    if not name or name == "default":
        return _default(environ, sources, folder, chosen_by if name else "default")
    return _named(name, folder, chosen_by)


def _current_context(folder):
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            return (json.load(f) or {}).get("currentContext") or None
    except (OSError, ValueError):
        return None


def _default(environ, sources, folder, chosen_by):
    verify = bool(environ.get("DOCKER_TLS_VERIFY"))  # any value, "0" too, as the CLI
    tls = verify or bool(environ.get("DOCKER_TLS"))
    source = (sources or {}).get("DOCKER_HOST")
    host = parse_host(environ.get("DOCKER_HOST", ""), tls=tls, how=chosen_by,
                      folder=source.folder if source else None)
    if not tls:
        return Endpoint(host, "default", chosen_by, config=folder)
    certs = _path(environ, sources, "DOCKER_CERT_PATH") or folder
    ca = os.path.join(certs, "ca.pem")
    if not os.path.isfile(ca):  # the CLI reads it once TLS is on, verifying or not
        on = "DOCKER_TLS_VERIFY" if verify else "DOCKER_TLS"
        raise _refused(f"TLS is on ({_how(on, sources)}) but {ca} does not exist (the docker "
                       "CLI needs it too, with or without verifying)", chosen_by)
    if not host.startswith("tcp://"):  # the CLI uses TLS for tcp only
        return Endpoint(host, "default", chosen_by, config=folder)
    cert, key = _pair(certs)
    return Endpoint(host, "default", chosen_by, TLS(ca, cert, key, verify), folder)


def _named(name, folder, chosen_by):
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(folder, "contexts", "meta", digest, "meta.json")
    try:
        with open(meta, encoding="utf-8") as f:
            docker = json.load(f)["Endpoints"]["docker"]
    except OSError:
        raise EngineError(f'docker context "{name}" does not exist (chosen by {chosen_by}; '
                          "see docker context ls)", command=CHOOSE) from None
    except (ValueError, KeyError, TypeError):
        raise EngineError(f'docker context "{name}" has no docker endpoint in {meta}',
                          command=CHOOSE) from None
    host = parse_host(docker.get("Host") or "", how=chosen_by,
                      what=f'the host of docker context "{name}"')
    tls_dir = os.path.join(folder, "contexts", "tls", digest, "docker")
    ca = os.path.join(tls_dir, "ca.pem")
    ca = ca if os.path.isfile(ca) else None
    cert, key = _pair(tls_dir)
    skip = bool(docker.get("SkipTLSVerify"))
    tls = None
    if host.startswith("tcp://") and (skip or ca or cert):
        tls = TLS(ca, cert, key, not skip)
    return Endpoint(host, name, chosen_by, tls, folder)


def _pair(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    if os.path.isfile(cert) and os.path.isfile(key):
        return cert, key
    return None, None  # the CLI goes on without a client certificate


def cli_env(endpoint, environ=None):
    """The environment for a docker CLI (or a hook) kargo runs: the same
    endpoint, pinned, whatever chose it (the shell, the workspace `.env`):
    a `docker context use` meanwhile, a relative path, a TLS variable that
    does not apply change nothing for this run."""
    env = dict(os.environ if environ is None else environ)
    for name in VARIABLES:
        env.pop(name, None)
    if endpoint.config:
        env["DOCKER_CONFIG"] = endpoint.config
    if endpoint.context != "default":
        env["DOCKER_CONTEXT"] = endpoint.context
        return env
    env["DOCKER_HOST"] = endpoint.host
    if endpoint.tls:
        env["DOCKER_CERT_PATH"] = os.path.dirname(endpoint.tls.ca)
        env["DOCKER_TLS_VERIFY" if endpoint.tls.verify else "DOCKER_TLS"] = "1"
    return env
