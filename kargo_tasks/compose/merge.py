"""Several compose files merged into one, by the docker CLI's rules
(`cli/compose/loader/merge.go`: mergo with WithOverride and WithAppendSlice,
plus its special cases). This is what `docker stack deploy -c a.yml -c b.yml`
does, so it is what a `<SERVICE>_EXTENSION` and `<SERVICE>_CONSTRAINTS` mean
in the bash Kargo, which passed them as more `-c` files.

The documents are the loaded files of compose.py: interpolated, environment
resolved, ports, volumes and config references in their long forms.

- A service only in the later file is added; in both, fields merge:
  a later scalar wins unless it is empty ("", 0, false); the counters Docker
  keeps as pointers (replicas, retries, parallelism, max_attempts) win even
  at 0; `command` and `entrypoint` are replaced when the later one is not
  empty; maps merge key by key (an environment value only when it is not
  empty or the earlier one is); lists are appended, duplicates kept,
  `healthcheck.test` included; ports merge by published port, volumes by
  target, configs and secrets by source, each replaced whole and sorted by
  that key; `logging` is replaced when the driver changes; a service network
  gets the later aliases.
- Top-level networks, volumes, configs and secrets are replaced whole by
  name; top-level `x-` keys come from the first file only.
"""
import copy

POINTERS = {("deploy", "replicas"), ("healthcheck", "retries"),
            ("deploy", "update_config", "parallelism"), ("deploy", "rollback_config", "parallelism"),
            ("deploy", "restart_policy", "max_attempts")}
# Lists Docker merges by a key, replacing whole entries; sorted by that key.
KEYED = {"ports": "published", "volumes": "target", "configs": "source", "secrets": "source"}
REPLACED = {"command", "entrypoint"}
TOP_LEVEL = ("networks", "volumes", "configs", "secrets")


def merge(base, over):
    """`base` with the compose document `over` merged into it (new objects)."""
    out = copy.deepcopy(base)
    if over.get("services"):
        services = out["services"] = out.get("services") or {}
        for name, spec in over["services"].items():
            if isinstance(services.get(name), dict) and isinstance(spec, dict):
                services[name] = _service(services[name], spec)
            else:
                services[name] = copy.deepcopy(spec)
    for kind in TOP_LEVEL:
        if over.get(kind):
            out[kind] = {**(out.get(kind) or {}), **copy.deepcopy(over[kind])}
    return out


def _service(base, over):
    merged = _fields(base, over, ())
    for key, by in KEYED.items():
        if base.get(key) is not None:
            # Docker rewrites the list (deduplicated by key, sorted) whenever
            # the later file names the service, even when it does not set it.
            merged[key] = _keyed(base[key], over.get(key) or [], by)
        elif key in over:
            merged[key] = copy.deepcopy(over[key])
    return merged


def _keyed(first, later, by):
    entries = {}
    for entry in list(first) + list(later):
        entries[entry.get(by, 0 if by == "published" else "")] = copy.deepcopy(entry)
    return [entries[key] for key in sorted(entries)]


def _empty(value):
    return value in (None, "", 0, False) or value == [] or value == {}


def _fields(base, over, path):
    out = copy.deepcopy(base)
    for key, value in over.items():
        here = path + (key,)
        if key in KEYED and not path:
            continue  # _service merges them
        have = out.get(key)
        if key in REPLACED and not path:
            if not _empty(value):
                out[key] = copy.deepcopy(value)
        elif here in POINTERS:
            if value is not None:
                out[key] = value
        elif key == "environment" and not path:
            out[key] = _environment(have or {}, value or {})
        elif key == "logging" and not path and isinstance(have, dict) and isinstance(value, dict):
            out[key] = _logging(have, value)
        elif key == "networks" and not path and isinstance(have, dict) and isinstance(value, dict):
            out[key] = _networks(have, value)
        elif key == "ulimits" and not path and isinstance(have, dict) and isinstance(value, dict):
            out[key] = {**have, **copy.deepcopy(value)}
        elif isinstance(value, dict) and isinstance(have, dict):
            out[key] = _fields(have, value, here)
        elif isinstance(value, list) and isinstance(have, list):
            out[key] = have + copy.deepcopy(value)
        elif key not in out or not _empty(value):
            out[key] = copy.deepcopy(value)
    return out


def _environment(base, over):
    out = dict(base)
    for name, value in over.items():
        if value not in (None, "") or out.get(name) in (None, ""):
            out[name] = value
    return out


def _logging(base, over):
    if over.get("driver") and over.get("driver") != base.get("driver"):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    out["options"] = {**(base.get("options") or {}), **(over.get("options") or {})}
    return out


def _networks(base, over):
    out = copy.deepcopy(base)
    for name, conf in over.items():
        have = out.get(name)
        if not isinstance(conf, dict) or not isinstance(have, dict):
            out[name] = copy.deepcopy(conf) if conf is not None or name not in out else have
            continue
        merged = dict(have)
        merged["aliases"] = conf.get("aliases")  # Docker always takes the later aliases
        if merged["aliases"] is None:
            del merged["aliases"]
        for key, value in conf.items():
            if key != "aliases" and not _empty(value):
                merged[key] = value
        out[name] = merged
    return out
