"""One compose file, loaded as the docker CLI loads each `-c` file of
`docker stack deploy` (cli/compose/loader): YAML as the CLI parses it; keys
it ignores noted; every value interpolated and cast as it casts them;
validated; `env_file` and `environment` resolved with kargo's environment;
relative paths made absolute against the first file's folder; short ports
and volumes in their long forms. compose.py merges the files of a stack.
"""
import os
import re
from pathlib import Path

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace import sealed
from kargo_tasks.workspace.interpolate import substitute

from . import schema as compose_schema
from . import shortsyntax

# Keys `docker stack deploy` ignores with a warning (cli/compose/types:
# UnsupportedProperties, DeprecatedProperties); `depends_on` it ignores
# silently. None of them reaches the engine (tests/engine/test_compose_corpus.py).
# `restart` is on the CLI's list too, but it does reach the engine: the CLI
# makes it the restart policy when `deploy.restart_policy` is not set.
IGNORED = {
    **dict.fromkeys(("build", "cgroupns_mode", "cgroup_parent", "devices", "domainname",
                     "external_links", "ipc", "links", "mac_address", "network_mode", "pid",
                     "privileged", "security_opt", "shm_size", "userns_mode"),
                    "unsupported by docker stack deploy"),
    "container_name": "deprecated: setting the container name is not supported",
    "expose": "deprecated: services on the same network reach each other on any port",
    "depends_on": "ignored by docker stack deploy (kargo orders stacks with <STACK>_DEPENDS)",
}
# What the CLI casts after interpolation, when interpolation changed the text
# (cli/compose/loader/interpolate.go). "[]" is any list item, "*" any key.
_S = ("services", "*")
CASTS: dict[tuple[str, ...], str] = {
    **dict.fromkeys([_S + ("configs", "[]", "mode"), _S + ("secrets", "[]", "mode"),
                     _S + ("healthcheck", "retries"), _S + ("deploy", "replicas"),
                     _S + ("deploy", "update_config", "parallelism"),
                     _S + ("deploy", "rollback_config", "parallelism"),
                     _S + ("deploy", "restart_policy", "max_attempts"),
                     _S + ("deploy", "placement", "max_replicas_per_node"),
                     _S + ("ports", "[]", "target"), _S + ("ports", "[]", "published"),
                     _S + ("ulimits", "*"), _S + ("ulimits", "*", "hard"),
                     _S + ("ulimits", "*", "soft"), _S + ("oom_score_adj",)], "int"),
    **dict.fromkeys([_S + ("deploy", "update_config", "max_failure_ratio"),
                     _S + ("deploy", "rollback_config", "max_failure_ratio")], "float"),
    **dict.fromkeys([_S + ("healthcheck", "disable"), _S + ("privileged",), _S + ("read_only",),
                     _S + ("stdin_open",), _S + ("tty",), _S + ("volumes", "[]", "read_only"),
                     _S + ("volumes", "[]", "volume", "nocopy"),
                     ("networks", "*", "external"), ("networks", "*", "internal"),
                     ("networks", "*", "attachable"), ("volumes", "*", "external"),
                     ("secrets", "*", "external"), ("configs", "*", "external")], "bool"),
}
TRUE, FALSE = {"y", "yes", "true", "on"}, {"n", "no", "false", "off"}
GO_INT = re.compile(r"[+-]?[0-9]+")
# `$NAME` followed by -, :-, ? or :? : the CLI reads it as ${NAME-...}
UNBRACED_TAIL = re.compile(r"\$(\$|[A-Za-z_][A-Za-z0-9_]*(:?[-?])?)")
DEFAULT_VERSION = "3.13"


class File:
    """One compose file, loaded as the CLI loads each -c file."""

    def __init__(self, path, env, workdir, result):
        self.path, self.env, self.workdir, self.result = path, env, workdir, result
        from . import dockeryaml
        try:
            text = dockeryaml.decode(sealed.read_merged(path, result.sealed))
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", where=str(path))
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text (nor UTF-16 with a byte order mark)", where=str(path))
        doc, self.lines = dockeryaml.load(text, str(path))
        if not isinstance(doc, dict) or not all(isinstance(k, str) for k in doc):
            raise ConfigError("a compose file must be a mapping with `services:`", where=str(path))
        self.version = self._version(doc)
        self._ignored(doc)
        doc = self._interpolate(doc, ())
        for found, message in compose_schema.errors(doc):
            self.fail(message, found)
        self.doc = self._load(doc)

    def fail(self, message, path=()):
        line = _line_of(self.lines, path)
        raise ConfigError(message, where=f"{self.path}:{line}" if line else str(self.path))

    def warn(self, message, path):
        line = _line_of(self.lines, path)
        self.result.warnings.append(f"{self.path}:{line}: {message}" if line else
                                    f"{self.path}: {message}")

    def _version(self, doc):
        """The CLI's version of the file: none, "" and "3" are its latest."""
        self.declared = doc.get("version")
        if self.declared is not None and not isinstance(self.declared, str):
            self.fail("version must be a string (quote it: version: \"3.8\")", ("version",))
        return DEFAULT_VERSION if self.declared in (None, "", "3") else self.declared

    def _ignored(self, doc):
        for name, spec in (doc.get("services") or {}).items():
            for key in (spec if isinstance(spec, dict) else ()):
                if key in IGNORED:
                    self.warn(f"services.{name}.{key} is {IGNORED[key]}", ("services", name, key))
            if isinstance(spec, dict) and "restart" in spec and (
                    (spec.get("deploy") or {}).get("restart_policy")):
                self.warn(f"services.{name}.restart is ignored: deploy.restart_policy is set",
                          ("services", name, "restart"))

    # --- interpolation, and the CLI's casts of what it changed -------------

    def _interpolate(self, node, path):
        if isinstance(node, dict):
            return {k: self._interpolate(v, path + (k,)) for k, v in node.items()}
        if isinstance(node, list):
            return [self._interpolate(v, path + (i,)) for i, v in enumerate(node)]
        if not isinstance(node, str) or "$" not in node:
            return node
        line = _line_of(self.lines, path) or 1
        self._diverging(node, path)
        reads = set()
        value = substitute(node, self.env.get, where=str(self.path), first_line=line,
                           lone="error", reads=reads, args="literal")
        self.result.reads |= reads
        kind = _cast_kind(path)
        if kind is None or value == node:
            return value
        cast = _cast(value, kind)
        if cast is None:  # the value is not shown: it comes from the environment
            words = {"int": "a whole number", "float": "a number", "bool": "true or false"}[kind]
            self.fail(f"{compose_schema.dotted(path)} must be {words}, and "
                      f"{' '.join(sorted(reads)) or 'its text'} does not make one", path)
        return cast

    def _diverging(self, text, path):
        for match in UNBRACED_TAIL.finditer(text):
            if match.group(2):
                name, tail = match.group(1)[:-len(match.group(2))], match.group(2)
                self.warn(f"${name}{tail}…: docker stack deploy reads it as ${{{name}{tail}…}}; "
                          f"kargo as ${{{name}}}{tail}…, as the compose specification does "
                          f"(write ${{{name}}}{tail}… or ${{{name}{tail}…}} to mean one)", path)

    # --- what the loader does after validation -----------------------------

    def _load(self, doc):
        for kind in ("configs", "secrets"):
            for name, item in (doc.get(kind) or {}).items():
                if isinstance(item, dict) and isinstance(item.get("file"), str):
                    written, item["file"] = item["file"], self._path(item["file"])
                    if not os.path.isfile(item["file"]):
                        self.fail(f"{kind} file {written} does not exist", (kind, name, "file"))
                    self.result.inputs.append(item["file"])
        for name, spec in (doc.get("services") or {}).items():
            if isinstance(spec, dict):
                self._service(name, spec)
        return doc

    def _path(self, text, as_written=False):
        """An absolute path; `as_written`: one that is absolute already stays
        as written (the CLI's bind mount sources keep `/var/lib/docker/`)."""
        if text.startswith("~"):
            self.result.reads.add("HOME")
            text = (self.env.get("HOME") or "") + text[1:]
        if as_written and os.path.isabs(text):
            return text
        return os.path.normpath(os.path.join(self.workdir, text))

    def _service(self, name, spec):
        here = ("services", name)
        if isinstance(spec.get("ports"), list):
            spec["ports"] = self._ports(spec["ports"], here + ("ports",))
        if isinstance(spec.get("volumes"), list):
            spec["volumes"] = [self._volume(v, here + ("volumes", i))
                               for i, v in enumerate(spec["volumes"])]
        for kind in ("configs", "secrets"):
            if isinstance(spec.get(kind), list):
                spec[kind] = [shortsyntax.reference(ref) for ref in spec[kind]]
        test = (spec.get("healthcheck") or {}).get("test")
        if isinstance(test, str):
            spec["healthcheck"]["test"] = ["CMD-SHELL", test]
        for key in ("dns", "dns_search", "tmpfs", "env_file"):
            if isinstance(spec.get(key), str):
                spec[key] = [spec[key]]
        for key in ("labels", "sysctls"):
            if isinstance(spec.get(key), list):
                spec[key] = _as_map(spec[key], "")
        hosts = spec.get("extra_hosts")
        if isinstance(hosts, dict):  # the CLI makes a sorted host:ip list of it
            spec["extra_hosts"] = [f"{host}:{ip}" for host, ip in sorted(hosts.items())]
        elif isinstance(hosts, list):
            spec["extra_hosts"] = [str(h).replace("=", ":", 1) if "=" in str(h) else h
                                   for h in hosts]
        deploy = spec.get("deploy")
        if isinstance(deploy, dict) and isinstance(deploy.get("labels"), list):
            deploy["labels"] = _as_map(deploy["labels"], "")
        if isinstance(spec.get("networks"), list):
            spec["networks"] = dict.fromkeys(spec["networks"])
        self._environment(spec, here)

    def _ports(self, ports, path):
        out = []
        for i, port in enumerate(ports):
            if isinstance(port, dict):
                out.append(port)
                continue
            try:
                expanded = shortsyntax.ports(port)
            except shortsyntax.SyntaxProblem as exc:
                self.fail(f"{compose_schema.dotted(path + (i,))}: {exc}", path + (i,))
            for one in expanded:
                if one in out:  # the stack file would hold it twice: the CLI's schema refuses that
                    self.fail(f"{compose_schema.dotted(path + (i,))}: the port "
                              f"{one.get('published', '')}:{one['target']}/{one['protocol']} is "
                              "given twice (a host IP is dropped, as the CLI drops it)",
                              path + (i,))
                out.append(one)
        return out

    def _volume(self, volume, path):
        if isinstance(volume, str):
            try:
                volume = shortsyntax.volume(volume)
            except shortsyntax.SyntaxProblem as exc:
                self.fail(f"{compose_schema.dotted(path)}: {exc}", path)
        if volume.get("type") == "bind" and volume.get("source"):
            volume["source"] = self._path(volume["source"], as_written=True)
        return volume

    def _environment(self, spec, path):
        """`env_file` then `environment`, as the CLI's resolveEnvironment."""
        environment = {}
        for i, name in enumerate(spec.get("env_file") or ()):
            file = self._path(name)
            self.result.inputs.append(file)
            self._update(environment, _read_env_file(file, self, path + ("env_file", i)))
        given = spec.get("environment")
        self._update(environment, _as_map(given, None) if isinstance(given, list) else given or {})
        if environment or "environment" in spec:
            spec["environment"] = environment

    def _update(self, environment, values):
        for name, value in values.items():
            if value in (None, "") and isinstance(name, str):
                self.result.reads.add(name)
                found = self.env.get(name)
                if found is not None:
                    value = found
            environment[name] = value


def _line_of(lines, path):
    """The line of `path` in a loaded file, or of its nearest parent."""
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path)


def _read_env_file(path, loaded, where):
    """{name: value} of an env_file, as the CLI reads it: no quotes, no
    escapes, no interpolation; `NAME` alone is taken from the environment,
    and left out when the environment does not have it."""
    try:
        text = sealed.read_merged(path, loaded.result.sealed).decode("utf-8")
    except OSError as exc:
        loaded.fail(f"env_file {path}: {exc.strerror}", where)
    except UnicodeDecodeError:
        loaded.fail(f"env_file {path} is not UTF-8 text", where)
    values = {}
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not name or any(ch.isspace() for ch in name):
            raise ConfigError("env_file line is not NAME=value (no spaces in a name)",
                              where=f"{path}:{number}")
        if sep:
            values[name] = value
        else:
            loaded.result.reads.add(name)
            if loaded.env.get(name) is not None:
                values[name] = loaded.env.get(name)
    return values


def _as_map(items, bare):
    out = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        out[name] = value if sep else bare
    return out


def _cast_kind(path):
    for pattern, kind in CASTS.items():
        if len(pattern) == len(path) and all(
                p == "*" and not isinstance(k, int) or p == "[]" and isinstance(k, int) or p == k
                for p, k in zip(pattern, path)):
            return kind
    return None


def _cast(text, kind):
    """The CLI's toInt (strconv.Atoi), toFloat (ParseFloat), toBoolean; None
    when it would refuse the text."""
    if kind == "int":
        return int(text) if GO_INT.fullmatch(text) else None
    if kind == "bool":
        low = text.lower()
        return True if low in TRUE else False if low in FALSE else None
    if text != text.strip():
        return None
    try:
        number = float.fromhex(text) if text.lower().lstrip("+-").startswith("0x") else float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


