"""Is a compose file one `docker stack deploy` accepts?

Two layers, each checked against the real docker CLI by the tests:
1. The Compose Specification's JSON schema, as check-jsonschema ships it
   (pinned in pyproject.toml: its copy changes with every release).
2. Where the CLI's stack loader is stricter than that specification (its
   own schema, config_schema_v3.13.json, and its forbidden keys): the keys
   it refuses, the strings it wants as numbers, the x- keys it refuses under
   `deploy`. These rules were found by comparing the two schemas and are
   proven one by one against `docker stack config` (tests/compose/).
Errors come as (path, message), path as the CLI writes it
(`services.web.deploy.replicas`); compose.py adds the file and line.
"""
import functools
import importlib.util
import json
import os
import re

# Keys of the specification the stack loader has no place for.
NO_SUCH_KEY = {
    (): {"name", "include", "models", "jobs"},
    ("services", "*"): {
        "annotations", "attach", "blkio_config", "cgroup", "cpu_count", "cpu_percent",
        "cpu_period", "cpu_rt_period", "cpu_rt_runtime", "cpus", "develop",
        "device_cgroup_rules", "dns_opt", "gpus", "group_add", "label_file", "mem_reservation",
        "mem_swappiness", "models", "oom_kill_disable", "pids_limit", "platform", "post_start",
        "pre_start", "pre_stop", "profiles", "provider", "pull_policy", "pull_refresh_after",
        "runtime", "scale", "storage_opt", "umask", "use_api_socket", "uts"},
    ("services", "*", "deploy", "resources", "reservations"): {"devices"},
    ("services", "*", "ports", "*"): {"name", "app_protocol", "host_ip"},
    ("services", "*", "networks", "*"): {"gw_priority", "interface_name", "link_local_ips",
                                         "mac_address", "priority", "use_service_name_alias"},
    ("services", "*", "volumes", "*"): {"image"},
    ("services", "*", "volumes", "*", "bind"): {"recursive", "selinux"},
    ("services", "*", "volumes", "*", "tmpfs"): {"mode"},
    ("services", "*", "volumes", "*", "volume"): {"labels"},
    ("configs", "*"): {"content", "environment"},
    ("secrets", "*"): {"environment"},
    ("networks", "*"): {"enable_ipv4", "enable_ipv6"},
    ("networks", "*", "ipam"): {"options"},
    ("networks", "*", "ipam", "config", "*"): {"aux_addresses", "gateway", "ip_range"},
}
# Refused by the loader before its schema, with its reason
# (cli/compose/types: ForbiddenProperties).
FORBIDDEN = {
    "extends": "support for extends is not implemented",
    "volume_driver": "define a volume with the top-level volumes option and its driver there",
    "volumes_from": "share a volume by defining it in the top-level volumes option",
    "cpu_quota": "set resource limits using deploy.resources",
    "cpu_shares": "set resource limits using deploy.resources",
    "cpuset": "set resource limits using deploy.resources",
    "mem_limit": "set resource limits using deploy.resources",
    "memswap_limit": "set resource limits using deploy.resources",
}
# x- keys are allowed only where the stack schema has patternProperties ^x-.
X_ALLOWED = {(), ("services", "*"), ("services", "*", "build"), ("networks", "*"),
             ("volumes", "*"), ("configs", "*"), ("secrets", "*")}
INTEGER = [("services", "*", "deploy", "replicas"), ("services", "*", "ports", "*", "target"),
           ("services", "*", "ports", "*", "published")]
NUMBER = [("services", "*", "configs", "*", "mode"), ("services", "*", "secrets", "*", "mode")]
STRING = [("services", "*", "deploy", "resources", "limits", "cpus"),
          ("services", "*", "deploy", "resources", "reservations", "cpus"),
          ("services", "*", "env_file", "*")]
LIST = [("services", "*", "depends_on")]
# list_or_dict in the stack schema: a mapping's values are strings, numbers or null
SCALAR_MAPS = [("services", "*", "environment"), ("services", "*", "labels"),
               ("services", "*", "deploy", "labels"), ("services", "*", "build", "args"),
               ("services", "*", "build", "labels"), ("services", "*", "sysctls"),
               ("services", "*", "extra_hosts")]


@functools.lru_cache(maxsize=None)
def _validator():
    from jsonschema import validators
    # find_spec, not importlib.resources: importing check_jsonschema loads
    # its command line (click, requests, ruamel): 0.1 to 0.2 s for one file.
    spec = importlib.util.find_spec("check_jsonschema")
    folder = next(iter(spec.submodule_search_locations))
    with open(os.path.join(folder, "builtin_schemas", "vendor", "compose-spec.json"),
              encoding="utf-8") as f:
        schema = json.load(f)
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    return cls(schema)


def dotted(path):
    """A path as the docker CLI writes it: services.web.ports.0.target."""
    return ".".join(str(p) for p in path) or "(root)"


# The CLI's schema types these keys of `build` and allows any other
# (additionalProperties: true); the specification allows fewer.
BUILD_TYPED = {"context", "dockerfile", "args", "labels", "cache_from", "network", "target",
               "shm_size", "extra_hosts"}


def _build_as_the_cli_checks(doc):
    """`doc` with the `build` keys the CLI does not check left out."""
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict) or not any(
            isinstance(s, dict) and isinstance(s.get("build"), dict) for s in services.values()):
        return doc
    services = {name: ({**spec, "build": {k: v for k, v in spec["build"].items()
                                          if k in BUILD_TYPED or k.startswith("x-")}}
                       if isinstance(spec, dict) and isinstance(spec.get("build"), dict) else spec)
                for name, spec in services.items()}
    return {**doc, "services": services}


def errors(doc):
    """[(path, message)] of `doc`: the specification's first error, then the
    stack loader's own rules."""
    found = list(_stack_rules(doc))
    error = _schema_error(_build_as_the_cli_checks(doc))
    if error:
        found.insert(0, error)
    return found


def _schema_error(doc):
    from jsonschema.exceptions import best_match
    errs = list(_validator().iter_errors(doc))
    if not errs:
        return None

    def echo(err):
        # 2020-12's unevaluatedProperties repeats, one level up, an error
        # found deeper: the deeper one says what is wrong.
        base = list(err.absolute_path)
        return err.validator == "unevaluatedProperties" and any(
            len(o.absolute_path) > len(base) and list(o.absolute_path)[:len(base)] == base
            for o in errs)
    best = best_match([e for e in errs if not echo(e)] or errs)
    path = tuple(best.absolute_path)
    extra = []
    if best.validator == "unevaluatedProperties":  # the schema holds no list of them
        extra = re.findall(r"'([^']+)'", best.message.partition("(")[2])
    elif best.validator == "additionalProperties" and isinstance(best.instance, dict):
        known = set(best.schema.get("properties") or ())
        patterns = [re.compile(p) for p in best.schema.get("patternProperties") or ()]
        extra = [k for k in best.instance if k not in known and not any(p.search(k) for p in patterns)]
    if extra:
        return path + (extra[0],), f"{dotted(path)} Additional property {extra[0]} is not allowed"
    return path, f"{dotted(path)} {_what(best)}"


def _what(err):
    """What is wrong, in words that never quote the value: it may hold a
    secret the environment put there."""
    schema, kind = err.schema, err.validator
    if kind == "type":
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        names = {"object": "mapping", "array": "list"}
        return "must be a " + " or ".join(names.get(t, t) for t in types)
    if kind == "enum":
        return "must be one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if kind == "required":
        return f"needs {err.message.split(' ')[0]}"
    if kind == "pattern":
        return f"must match {schema['pattern']}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"is out of range ({kind} {schema[kind]})"
    if kind == "uniqueItems":
        return "has items that are not unique"
    if kind in ("minItems", "maxItems", "minLength", "maxLength", "minProperties"):
        return f"does not have the number of items it needs ({kind} {schema[kind]})"
    if kind == "propertyNames":
        return "has a name that is not allowed"
    # oneOf / anyOf: the types its choices want, when that is what failed
    wanted = [t for e in err.context or () if e.validator == "type" and not e.relative_path
              for t in (e.schema["type"] if isinstance(e.schema["type"], list) else [e.schema["type"]])]
    if wanted:
        names = {"object": "mapping", "array": "list"}
        return "must be a " + " or ".join(dict.fromkeys(names.get(t, t) for t in wanted))
    return "is not valid here (wrong type or shape)"


def _matches(doc, pattern, path=()):
    """(path, value) of every place of `doc` that `pattern` ("*" = any key
    or index) names."""
    if not pattern:
        yield path, doc
        return
    head, rest = pattern[0], pattern[1:]
    if isinstance(doc, dict):
        keys = list(doc) if head == "*" else [head] if head in doc else []
        for key in keys:
            yield from _matches(doc[key], rest, path + (key,))
    elif isinstance(doc, list) and head == "*":
        for i, item in enumerate(doc):
            yield from _matches(item, rest, path + (i,))


JOB_MODES = ("replicated-job", "global-job")


def is_job(service: object) -> bool:
    """A service definition that runs as a Swarm job (`deploy.mode`
    replicated-job or global-job): it runs to completion, once per deploy
    that sends it."""
    deploy = service.get("deploy") if isinstance(service, dict) else None
    return isinstance(deploy, dict) and deploy.get("mode") in JOB_MODES


def _stack_rules(doc):
    for path, service in _matches(doc, ("services", "*")):
        if is_job(service) and "update_config" in service["deploy"]:
            # the CLI takes it; the engine refuses the service (swarmkit's
            # controlapi: "Jobs may not have an update config")
            yield (path + ("deploy", "update_config"),
                   f"{dotted(path)}.deploy.update_config is not allowed: a job "
                   f"(mode {service['deploy']['mode']}) runs once, the engine refuses an "
                   "update config on it")
    for pattern, keys in NO_SUCH_KEY.items():
        for path, node in _matches(doc, pattern):
            for key in sorted(k for k in (node if isinstance(node, dict) else ()) if k in keys):
                yield path + (key,), f"{dotted(path)} Additional property {key} is not allowed"
    for path, service in _matches(doc, ("services", "*")):
        for key in sorted(k for k in (service if isinstance(service, dict) else ()) if k in FORBIDDEN):
            yield path + (key,), f"{key} is not supported: {FORBIDDEN[key]}"
    yield from _x_keys(doc, ())
    for patterns, check, kind in ((INTEGER, lambda v: isinstance(v, int) and not isinstance(v, bool)
                                   or (isinstance(v, float) and v.is_integer()), "integer"),
                                  (NUMBER, lambda v: isinstance(v, (int, float))
                                   and not isinstance(v, bool), "number"),
                                  (STRING, lambda v: isinstance(v, str), "string"),
                                  (LIST, lambda v: isinstance(v, list), "list")):
        for pattern in patterns:
            for path, value in _matches(doc, pattern):
                if value is not None and not check(value):
                    yield path, f"{dotted(path)} must be a {kind}"
    for pattern in SCALAR_MAPS:
        for path, node in _matches(doc, pattern):
            for key, value in (node.items() if isinstance(node, dict) else ()):
                if isinstance(value, (bool, dict, list)):
                    yield path + (key,), f"{dotted(path + (key,))} must be a string, number or null"


NAMED = ("services", "networks", "volumes", "configs", "secrets")
# mappings whose keys are names or values, not keys of the schema
FREE_FORM = {"labels", "environment", "args", "sysctls", "extra_hosts", "options",
             "driver_opts", "ulimits"}


def _x_keys(node, path):
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _x_keys(item, path + (i,))
    if not isinstance(node, dict):
        return
    general = tuple("*" if i == 1 and path[0] in NAMED else p for i, p in enumerate(path))
    for key, value in node.items():
        if isinstance(key, str) and key.startswith("x-"):
            if general not in X_ALLOWED:
                yield path + (key,), f"{dotted(path)} Additional property {key} is not allowed"
        elif key not in FREE_FORM:
            yield from _x_keys(value, path + (key,))
