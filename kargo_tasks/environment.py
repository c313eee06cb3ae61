"""The environment: defaults env file, workspace `.env`, then the shell.

Later layers win (the compose convention: the shell beats `.env`). Values
from files are interpolated after all layers are merged, so a default may
refer to a variable the workspace sets; single-quoted values and shell values
are taken literally. Nothing here prints a value: errors name the file, line
and variable, and `digests()` turns the values a consumer read into keyed
hashes that can be stored in the doit database without revealing them.
"""
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass

from . import dotenv
from .errors import ConfigError
from .interpolate import substitute


@dataclass(frozen=True)
class Entry:
    name: str
    raw: str
    literal: bool  # single-quoted: no interpolation
    where: str     # "file:line"


def parse_env_file(path, last_wins=False):
    """The entries of one dotenv file, in order; syntax errors name the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                          where=f"{path}:{line}")
    return [Entry(e.name, e.raw, e.quote == "'", f"{path}:{e.line}")
            for e in dotenv.parse(text, str(path), last_wins=last_wins)]


class Environment:
    """Resolved variables with where each came from ("file:line" or "shell")."""

    def __init__(self, values, origins):
        self._values = values
        self.origins = origins

    def get(self, name, default=None):
        return self._values.get(name, default)

    def __contains__(self, name):
        return name in self._values

    def names(self):
        return self._values.keys()

    def as_dict(self):
        return dict(self._values)

    def words(self, name):
        """A space-separated list variable (STACKS, <STACK>_STACK, ...)."""
        return self._values.get(name, "").split()

    def digests(self, names, key):
        """{name: keyed hash of its current value} (unset counts too): what a
        consumer read, storable where values must never be."""
        return {n: hmac.new(key, json.dumps([n, self._values.get(n)]).encode(),
                            hashlib.sha256).hexdigest()[:32]
                for n in sorted(set(names))}

    def changed(self, saved, key):
        """The names of `saved` (from `digests`) whose value changed since."""
        if saved and not isinstance(saved, dict):
            return sorted(saved)  # recorded by an older kargo: stale once
        now = self.digests(saved or {}, key)
        return [n for n in now if now[n] != saved[n]]


def load(files, shell=None, only=None):
    """Merge the env files (earliest first) and the shell into an Environment.
    `only`: resolve just these names (and what they refer to), a name set
    twice in a file taking its last line: a few variables read from files
    that may be broken elsewhere."""
    shell = os.environ if shell is None else shell
    entries = {}
    for path in files:
        for entry in parse_env_file(path, last_wins=only is not None):
            entries[entry.name] = entry
    values, origins = {}, {}
    for name, value in shell.items():
        values[name] = value
        origins[name] = "shell"
    pending = {n: e for n, e in entries.items() if n not in values}
    resolving = []

    def lookup(name):
        if name in values:
            return values[name]
        entry = pending.get(name)
        if entry is None:
            return None
        if name in resolving:
            cycle = " -> ".join(resolving[resolving.index(name):] + [name])
            raise ConfigError(f"circular reference {cycle}", where=entry.where)
        resolving.append(name)
        resolve(entry)
        resolving.pop()
        return values[name]

    def resolve(entry):
        if entry.literal:
            value = entry.raw
        else:
            file, line = entry.where.rsplit(":", 1)
            value = substitute(entry.raw, lookup, where=file, first_line=int(line))
        values[entry.name] = value
        origins[entry.name] = entry.where

    for name, entry in pending.items():
        if name not in values and (only is None or name in only):
            resolving.append(name)
            resolve(entry)
            resolving.pop()
    return Environment(values, origins)


def prefix(name):
    """Variable prefix of a stack, service or node name: `arome-france` -> `AROME_FRANCE`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()
