"""One resolved stack: the compose files of its services, read as
`docker stack deploy` reads them, merged as it merges them, written as ONE
file it deploys to the same services.

The bash Kargo ran `docker stack deploy -c deploy/<service>.yml [-c
deploy/<extension>.yml] [-c <service>-deploy-constraints.yml] ...` for the
services of a stack, with its `.env` layers exported. kargo does each step
of the CLI's loader on the same files, in the same order, with kargo's
environment (all layers, the shell last):
- YAML as the CLI parses it (dockeryaml.py);
- keys the CLI forbids are errors, keys it ignores are warnings;
- every value interpolated (interpolate.py; an undefined variable is an
  error here, "" for Docker), and the values the CLI casts after
  interpolation (a `replicas: ${N}`) cast the same way;
- validated against the compose schema plus the stack loader's own rules;
- `environment` and `env_file` resolved: an entry with no value or "" takes
  the environment's value when the variable is set;
- relative paths resolved against the first file's folder (`deploy/`);
- short ports and volumes in their long forms (shortsyntax.py);
- the files merged by the CLI's rules (compose_merge.py).
Then kargo's own part: keys the engine never sees are dropped, configs and
secrets are named by a hash of their content (a changed file rolls the
service) unless the file names them (`name:` is kept, as the CLI keeps it),
each service gets a digest label of its definition (delta.py), every `$` is
written as `$$` so the CLI reads the values back as they are, and the file
declares the version its content needs (needed_version).

Pure: reads files of the merged configuration and the environment, touches
no engine.
"""
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.workspace import masking, sealed
from kargo_tasks.workspace.catalog import Stack, compose_file, extension_file
from kargo_tasks.workspace.environment import Environment, prefix

from . import merge as compose_merge
from . import shortsyntax
from .load import IGNORED, File

SPEC_LABEL = "org.kargo.spec"
CONSTRAINT = re.compile(
    r"^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9_.-]+)"
    r"|engine\.labels\.[A-Za-z0-9_.-]+)\s*(==|!=)\s*[^\s=!]+$")


@dataclass
class Resolved:
    text: str                                    # the stack file
    reads: set = field(default_factory=set)      # variables read
    inputs: list = field(default_factory=list)   # files read (besides the compose files)
    config_names: dict = field(default_factory=dict)  # kind -> {hashed names}
    warnings: list = field(default_factory=list)  # one line each, file named
    sealed: list = field(default_factory=list)  # sealed sources whose text went into it


def check_constraint(text, var, where):
    if not CONSTRAINT.match(text):
        raise ConfigError(f"{var}: bad placement constraint {text!r} "
                          "(expected e.g. node.labels.db==true)", where=where)


def resolve(stack: Stack, merged: str | Path, env: Environment,
            masks: Callable[[str], str] | None = None) -> Resolved:
    """Resolve `stack` (catalog.Stack) from the merged configuration folder.
    `masks(path)`: the masking label of a config file (masking.labeler)."""
    result = Resolved("")
    workdir = Path(merged) / "deploy"  # the first file's folder: the CLI's base for paths
    docs, version = [], None
    for service in stack.services:
        main = File(Path(merged) / compose_file(service), env, workdir, result)
        files = [main]
        var = f"{prefix(service)}_EXTENSION"
        result.reads.add(var)
        extension = env.get(var, "")
        if extension.strip():
            path = Path(merged) / extension_file(extension)
            if not path.is_file():
                raise ConfigError(f"{var} names {extension_file(extension)}, which does not exist",
                                  where=env.origins.get(var))
            files.append(File(path, env, workdir, result))
        for loaded in files:
            if version is not None and loaded.version != version[0]:
                raise ConfigError(f"version {loaded.version} differs from {version[0]} of "
                                  f"{version[1]}: the files of a stack must agree, as for "
                                  "docker stack deploy", where=str(loaded.path))
            version = version or (loaded.version, loaded.path, loaded.declared)
        docs += [loaded.doc for loaded in files] + [_constraints(main, env, result)]
    doc = functools.reduce(compose_merge.merge, docs)
    for name, spec in (doc.get("services") or {}).items():
        for key in [k for k in spec if k in IGNORED]:
            del spec[key]
        spec.pop("env_file", None)  # read into `environment` already
    _hash_names(doc, stack, result)
    for name, spec in (doc.get("services") or {}).items():
        if not isinstance(spec.get("deploy"), dict):
            spec["deploy"] = {}
        if not isinstance(spec["deploy"].get("labels"), dict):
            spec["deploy"]["labels"] = {}
        spec["deploy"]["labels"][SPEC_LABEL] = _digest([spec, _used(doc, spec, merged)])[:16]
        if isinstance(spec.get("extra_hosts"), list):
            spec["extra_hosts"] = [_host_for_the_cli(h) for h in spec["extra_hosts"]]
    if masks is not None:
        _mask_labels(doc, masks, result)
    doc = {k: v for k, v in doc.items() if k != "version"}
    if version and version[2] is not None:  # as the first file wrote it, or what kargo's file needs
        doc = {"version": needed_version(doc, version[2]), **doc}
    result.text = dump(doc)
    return result


# What kargo writes that an older compose version's schema (docker/cli
# cli/compose/schema/data/config_schema_v3.N.json) does not allow: the long
# syntax of volumes and ports (3.2), a `name` on a config or secret (3.5).
def needed_version(doc, declared):
    """The version kargo's stack file declares: the file's own, or the first
    one whose schema allows what kargo wrote (long syntaxes, names)."""
    needs = (3, 0)
    for spec in (doc.get("services") or {}).values():
        if any(isinstance(v, dict) for key in ("volumes", "ports") for v in spec.get(key) or ()):
            needs = max(needs, (3, 2))
    if any(isinstance(item, dict) and "name" in item
           for kind in ("configs", "secrets") for item in (doc.get(kind) or {}).values()):
        needs = max(needs, (3, 5))
    try:
        have = tuple(int(part) for part in declared.split("."))
    except ValueError:
        return declared  # the CLI's to refuse, as for docker stack deploy
    if declared == "3" or have[0] != 3 or have >= needs:  # "3": the latest; not a 3.x: the CLI's to refuse, as it would
        return declared
    return f"{needs[0]}.{needs[1]}"


def _constraints(loaded, env, result):
    """The constraints file the bash Kargo made for a compose file: each of its
    services gets `<SERVICE>_CONSTRAINTS`, merged as one more -c file."""
    services = {}
    for name in (loaded.doc.get("services") or {}):
        var = f"{prefix(name)}_CONSTRAINTS"
        result.reads.add(var)
        words = env.words(var)
        for word in words:
            check_constraint(word, var, env.origins.get(var))
        if words:
            services[name] = {"deploy": {"placement": {"constraints": words}}}
    return {"services": services}


def _used(doc, spec, merged):
    """The top-level configs, secrets and networks a service names: a config
    whose content changed has a new name there, not in the service. A file is
    named by its place in the merged configuration, not on this disk: where
    `.kargo/` lies (a checkout moved, `doit plan`'s scratch folder) changes
    nothing a service runs."""
    used = {}
    for kind in ("configs", "secrets", "networks"):
        refs = spec.get(kind) or ()
        names = refs if isinstance(refs, dict) else [
            shortsyntax.reference(ref).get("source") for ref in refs]
        used[kind] = {name: _placed((doc.get(kind) or {}).get(name), merged) for name in names}
    return used


def _placed(item, merged):
    """A config or secret with its `file` relative to the merged folder."""
    if not (isinstance(item, dict) and isinstance(item.get("file"), str)):
        return item
    return {**item, "file": os.path.relpath(item["file"], merged)}


def _hash_names(doc, stack, result):
    for kind in ("configs", "secrets"):
        names = result.config_names.setdefault(kind, set())
        for key, item in (doc.get(kind) or {}).items():
            if isinstance(item, dict) and "file" in item and item.get("name"):
                continue  # named by the operator: kept as written, as the CLI keeps it
            if isinstance(item, dict) and "file" in item:
                content = sealed.read_merged(item["file"])  # the plaintext of a sealed one
                # Swarm names are at most 64 characters: the hash must survive
                base = stack.namespace.scope(key)[:51]
                item["name"] = f"{base}_{hashlib.sha256(content).hexdigest()[:12]}"
                names.add(item["name"])


def _mask_labels(doc, masks, result):
    """Each config made from a file carries which spans of it to hide
    (masking.py). Labelled after the services' digests: the label is for
    showing a version, not part of what a service runs."""
    result.reads.add(masking.PUBLIC)
    for item in (doc.get("configs") or {}).values():
        if isinstance(item, dict) and "file" in item:
            item["labels"] = {**shortsyntax.labels(item.get("labels")),
                              masking.LABEL: masks(item["file"])}


def _host_for_the_cli(entry):
    """An extra_hosts entry ("host:ip", as the CLI made it) written so the
    CLI reads it back the same: it turns the first `=` of an entry into `:`,
    so an entry that still holds a `=` is written with `=` after the host."""
    entry = str(entry)
    return entry.replace(":", "=", 1) if "=" in entry else entry


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


def dump(doc: dict, escape: bool = True) -> str:
    """YAML text for `docker stack deploy`; `escape=False` for a document
    loaded back from a resolved file (its `$` are escaped already)."""
    from . import dockeryaml
    return dockeryaml.dump(_escape(doc) if escape else doc)


def check_file(data: bytes, where: str) -> str | None:
    """What is wrong with a compose file's bytes read alone, before any
    variable is known (its YAML, its shape); None when nothing is."""
    from . import dockeryaml
    try:
        doc, _ = dockeryaml.load(dockeryaml.decode(data), where)
    except UnicodeDecodeError:
        return f"{where}: not UTF-8 text"
    except ConfigError as err:
        return str(err)
    if not isinstance(doc, dict) or not isinstance(doc.get("services", {}), dict):
        return f"{where}: a compose file must be a mapping with `services:`"
    return None


def load_stack(text: str, where: str) -> dict:
    """A resolved stack file read back (its `$` still escaped)."""
    from . import dockeryaml
    return dockeryaml.load(text, where)[0]
