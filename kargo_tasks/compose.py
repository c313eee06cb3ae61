"""One resolved stack: the compose files of its services, merged, extended,
constrained, interpolated and validated, as ONE file `docker stack deploy` reads.

Pure: reads files of the merged configuration and the environment, touches no
engine. Swarm configs and secrets get names suffixed by a hash of their
content, so changing `mapproxy.yaml` rolls the service instead of failing
with "only updates to Labels are allowed".
"""
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import compose_file
from .environment import prefix
from .errors import ConfigError
from .interpolate import substitute

SPEC_LABEL = "org.kargo.spec"
TOP_KEYS = {"version", "services", "networks", "volumes", "configs", "secrets"}
SERVICE_KEYS = {
    "cap_add", "cap_drop", "command", "configs", "credential_spec", "deploy", "devices",
    "dns", "dns_search", "domainname", "entrypoint", "env_file", "environment", "expose",
    "external_links", "extra_hosts", "healthcheck", "hostname", "image", "init", "ipc",
    "isolation", "labels", "links", "logging", "mac_address", "network_mode", "networks",
    "pid", "ports", "privileged", "read_only", "restart", "secrets", "security_opt",
    "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "sysctls", "tmpfs", "tty",
    "ulimits", "user", "userns_mode", "volumes", "working_dir",
}
DEPLOY_KEYS = {"endpoint_mode", "labels", "mode", "placement", "replicas", "resources",
               "restart_policy", "rollback_config", "update_config", "max_replicas_per_node"}
# Fields docker's compose schema wants as integers: values interpolated into
# them are strings until cast here.
INT_FIELDS = {("deploy", "replicas"), ("deploy", "max_replicas_per_node"),
              ("deploy", "update_config", "parallelism"),
              ("deploy", "rollback_config", "parallelism"),
              ("deploy", "restart_policy", "max_attempts"),
              ("healthcheck", "retries"), ("ports", "*", "target"), ("ports", "*", "published")}
# Lists that add up when an extension is merged over a service (compose's
# multi-file rule); every other list is replaced.
UNION_LISTS = {"ports", "expose", "configs", "secrets", "volumes", "networks", "dns",
               "extra_hosts", "constraints", "cap_add", "cap_drop", "env_file"}
CONSTRAINT = re.compile(
    r"^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9_.-]+)"
    r"|engine\.labels\.[A-Za-z0-9_.-]+)\s*(==|!=)\s*[^\s=!]+$")


@dataclass
class Resolved:
    text: str                                 # the stack file
    reads: set = field(default_factory=set)   # variables read
    inputs: list = field(default_factory=list)  # files read (besides the compose files)
    config_names: dict = field(default_factory=dict)  # kind -> {hashed names}


def load_yaml(path):
    import yaml
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=str(path))
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", where=str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where=where)
    if not isinstance(data, dict):
        raise ConfigError("a compose file must be a mapping with `services:`", where=str(path))
    return data


def check_compose(data, where):
    """Structure of a compose or extension file (bytes), before interpolation."""
    import yaml
    try:
        doc = yaml.safe_load(data)
    except (yaml.YAMLError, ValueError) as exc:  # a tag, several documents, a bad date
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"not a compose file: {problem}", where=where)
    if not isinstance(doc, dict):
        raise ConfigError("a compose file must be a mapping with `services:`", where=where)
    _validate(doc, where)


def resolve(stack, merged, env):
    """Resolve `stack` (catalog.Stack) from the merged configuration folder."""
    result = Resolved("")
    doc = {"version": "3.8", "services": {}}
    for service in stack.services:
        path = merged / compose_file(service)
        part = _service_part(path, service, env, merged, result)
        _merge_top(doc, part, path)
    _hash_names(doc, stack, result)
    for name, spec in doc["services"].items():
        labels = spec.setdefault("deploy", {}).setdefault("labels", {})
        if isinstance(labels, list):
            labels = spec["deploy"]["labels"] = dict(item.split("=", 1) for item in labels)
        labels[SPEC_LABEL] = _digest([spec, _used(doc, spec)])[:16]
    result.text = dump(doc)
    return result


def _used(doc, spec):
    """The top-level configs, secrets and networks a service names: a config
    whose content changed has a new name there, not in the service."""
    used = {}
    for kind in ("configs", "secrets", "networks"):
        refs = spec.get(kind) or ()
        names = refs if isinstance(refs, dict) else [
            ref.get("source") if isinstance(ref, dict) else ref for ref in refs]
        used[kind] = {name: (doc.get(kind) or {}).get(name) for name in names}
    return used


def _service_part(path, service, env, merged, result):
    data = load_yaml(path)
    _validate(data, path)
    if not data.get("services"):
        raise ConfigError("defines no service", where=str(path))
    raw = path.read_text(encoding="utf-8")
    data = _interpolate(data, env, path, raw, result.reads)
    p = prefix(service)
    extension = env.get(f"{p}_EXTENSION", "")
    result.reads.add(f"{p}_EXTENSION")
    if extension.strip():
        rel = extension if extension.endswith((".yml", ".yaml")) else f"deploy/{extension}.yml"
        ext_path = merged / rel
        if not ext_path.is_file():
            raise ConfigError(f"{p}_EXTENSION names {rel}, which does not exist",
                              where=env.origins.get(f"{p}_EXTENSION"))
        ext = load_yaml(ext_path)
        _validate(ext, ext_path)
        ext = _interpolate(ext, env, ext_path, ext_path.read_text(encoding="utf-8"), result.reads)
        result.inputs.append(str(ext_path))
        data = _deep_merge(data, ext)
        path = ext_path
    # As in bash Kargo, a file may hold several services (`deploy/weacast.yml`):
    # each gets the constraints of its own name.
    for name, spec in data["services"].items():
        _constrain(spec, name, env, result)
        _cast(spec, name, path)
    _rebase(data, path, result)
    return data


def _constrain(spec, name, env, result):
    """Add `<SERVICE>_CONSTRAINTS` (space-separated) to the service's placement."""
    var = f"{prefix(name)}_CONSTRAINTS"
    constraints = env.words(var)
    result.reads.add(var)
    for constraint in constraints:
        if not CONSTRAINT.match(constraint):
            raise ConfigError(f"{var}: bad placement constraint {constraint!r} "
                              "(expected e.g. node.labels.db==true)", where=env.origins.get(var))
    if constraints:
        placement = spec.setdefault("deploy", {}).setdefault("placement", {})
        existing = placement.setdefault("constraints", [])
        existing.extend(c for c in constraints if c not in existing)


def _validate(data, path):
    for key in data:
        if key not in TOP_KEYS and not str(key).startswith("x-"):
            raise ConfigError(f"unknown top-level key {key!r}", where=str(path))
    services = data.get("services")
    if not isinstance(services, dict):
        raise ConfigError("`services` must be a mapping of service names", where=str(path))
    for name, spec in services.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"service {name} must be a mapping", where=str(path))
        for key in spec:
            if key not in SERVICE_KEYS and not str(key).startswith("x-"):
                raise ConfigError(f"service {name}: unknown key {key!r}", where=str(path))
        deploy = spec.get("deploy", {})
        if not isinstance(deploy, dict):
            raise ConfigError(f"service {name}: `deploy` must be a mapping", where=str(path))
        for key in deploy:
            if key not in DEPLOY_KEYS:
                raise ConfigError(f"service {name}: unknown key deploy.{key}", where=str(path))
        for key in ("environment", "labels"):
            if key in spec and not isinstance(spec[key], (dict, list)):
                raise ConfigError(f"service {name}: `{key}` must be a mapping or a list",
                                  where=str(path))
    for kind in ("networks", "volumes", "configs", "secrets"):
        if kind in data and not isinstance(data[kind] or {}, dict):
            raise ConfigError(f"`{kind}` must be a mapping", where=str(path))


def _interpolate(node, env, path, raw, reads):
    """Substitute `${...}` in every string value; an error names the line
    of the reference in the compose file."""
    if isinstance(node, dict):
        return {k: _interpolate(v, env, path, raw, reads) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, path, raw, reads) for v in node]
    if isinstance(node, str) and "$" in node:
        try:
            return substitute(node, env.get, where=str(path), dollar_escape=True, reads=reads)
        except ConfigError as err:
            name = re.search(r"variable (\w+)", str(err))
            at = raw.find("${" + name.group(1)) if name else -1
            line = raw.count("\n", 0, at) + 1 if at >= 0 else "?"
            raise ConfigError(str(err).split(": ", 1)[1], where=f"{path}:{line}")
    return node


def _cast(spec, service, path):
    for fields in INT_FIELDS:
        for parent, key in _find(spec, fields):
            value = parent[key]
            if isinstance(value, str):
                if not re.fullmatch(r"\s*\d+\s*", value):
                    raise ConfigError(f"service {service}: {'.'.join(fields)} must be an "
                                      "integer", where=str(path))
                parent[key] = int(value)


def _find(node, fields):
    """(parent, key) pairs at the path `fields` ("*" = every list item)."""
    head, rest = fields[0], fields[1:]
    if head == "*":
        children = list(enumerate(node)) if isinstance(node, list) else []
    else:
        children = [(head, node[head])] if isinstance(node, dict) and head in node else []
    for key, child in children:
        if rest:
            yield from _find(child, rest)
        else:
            yield node, key


def _rebase(data, path, result):
    """Make relative file paths absolute (they were relative to the compose file)."""
    base = path.parent
    for kind in ("configs", "secrets"):
        for item in (data.get(kind) or {}).values():
            if isinstance(item, dict) and "file" in item:
                file = (base / item["file"]).resolve()
                if not file.is_file():
                    # the compose file, not its folder: that is what to edit
                    raise ConfigError(f"{kind} file {item['file']} does not exist",
                                      where=str(path))
                item["file"] = str(file)
                result.inputs.append(str(file))
    for spec in data["services"].values():
        files = spec.get("env_file")
        if files:
            files = [files] if isinstance(files, str) else files
            spec["env_file"] = [str((base / f).resolve()) for f in files]
            result.inputs.extend(spec["env_file"])


def _deep_merge(base, over):
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            if key in merged:
                if key in ("environment", "labels"):
                    merged[key] = {**_as_map(merged[key]), **_as_map(value)}
                elif key in UNION_LISTS and isinstance(value, list) and isinstance(merged[key], list):
                    merged[key] = merged[key] + [v for v in value if v not in merged[key]]
                else:
                    merged[key] = _deep_merge(merged[key], value)
            else:
                merged[key] = value
        return merged
    return over


def _as_map(value):
    if isinstance(value, dict):
        return value
    pairs = (item.split("=", 1) if "=" in item else (item, None) for item in value or [])
    return {k: v for k, v in pairs}


def _merge_top(doc, part, path):
    for kind in ("services", "networks", "volumes", "configs", "secrets"):
        for name, value in (part.get(kind) or {}).items():
            have = doc.setdefault(kind, {})
            if name in have and have[name] != value:
                raise ConfigError(f"{kind[:-1]} {name} is defined differently in another "
                                  "service of the same stack", where=str(path))
            have[name] = value


def _hash_names(doc, stack, result):
    for kind in ("configs", "secrets"):
        names = result.config_names.setdefault(kind, set())
        for key, item in (doc.get(kind) or {}).items():
            if isinstance(item, dict) and "file" in item:
                content = Path(item["file"]).read_bytes()
                # Swarm names are at most 64 characters: the hash must survive
                base = f"{stack.project}_{key}"[:51]
                item["name"] = f"{base}_{hashlib.sha256(content).hexdigest()[:12]}"
                names.add(item["name"])


def _digest(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _escape(node):
    """`docker stack deploy` interpolates `$` again: escape every one."""
    if isinstance(node, dict):
        return {k: _escape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_escape(v) for v in node]
    if isinstance(node, str):
        return node.replace("$", "$$")
    return node


def dump(doc, escape=True):
    """YAML text for `docker stack deploy`; `escape=False` for a document
    loaded back from a resolved file (its `$` are escaped already)."""
    import yaml
    return yaml.safe_dump(_escape(doc) if escape else doc, sort_keys=False, default_flow_style=False,
                          allow_unicode=True, width=1000)
