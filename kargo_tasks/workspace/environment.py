"""The environment: defaults env file, the `.env` of each workspace the
workspace extends (the farthest first, chain.py), its own `.env`, then the shell.

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
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from kargo_tasks.base.errors import ConfigError

from . import dotenv, sealed
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
        raw = sealed.read_source(path)  # `.env.age`: decrypted in memory
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

    def __init__(self, values, origins, made_from=None):
        self._values = values
        self.origins = origins
        # name -> the files whose lines its value was made from (its own and
        # those of the variables it refers to): a value of `.env.age` carried
        # into a `.env` one is still the encrypted file's (sealed.py)
        self.made_from = made_from or {}

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


def load(files: Iterable[str | os.PathLike], shell: Mapping[str, str] | None = None,
         only: Collection[str] | None = None) -> Environment:
    """Merge the env files (earliest first) and the shell into an Environment.

    A reference sees the final value of a variable, except a variable's
    reference to itself (`TAG=${TAG:-x}-dev`): that one sees the layer below
    (an earlier file), or unset, as bash's `set -a; . lower; . upper` does.
    `only`: resolve just these names (and what they refer to), a name set
    twice in a file taking its last line: a few variables read from files
    that may be broken elsewhere."""
    shell = os.environ if shell is None else shell
    layers: dict[str, list] = {}  # name -> its entries, earliest file first
    for path in files:
        for entry in parse_env_file(path, last_wins=only is not None):
            layers.setdefault(entry.name, []).append(entry)
    values, origins = dict(shell), dict.fromkeys(shell, "shell")
    done: dict[tuple, str] = {}
    resolving: list[tuple] = []  # (name, layer) -> value; the (name, layer)s in progress
    feeds: dict[tuple, frozenset] = {}  # (name, layer) -> the files its value was made from

    def value_at(name, layer):
        if layer < 0:
            return None
        key = (name, layer)
        if key in done:
            return done[key]
        entry = layers[name][layer]
        if key in resolving:
            cycle = " -> ".join([n for n, _ in resolving[resolving.index(key):]] + [name])
            raise ConfigError(f"circular reference {cycle}", where=entry.where)
        resolving.append(key)
        file, line = entry.where.rsplit(":", 1)
        files = {file}
        if entry.literal:
            value = entry.raw
        else:
            def lookup(other):
                if other in shell:
                    return shell[other]
                if other not in layers:
                    return None
                at = (other, layer - 1 if other == name else len(layers[other]) - 1)
                found = value_at(*at)
                files.update(feeds.get(at, ()))
                return found
            value = substitute(entry.raw, lookup, where=file, first_line=int(line))
        resolving.pop()
        done[key], feeds[key] = value, frozenset(files)
        return value

    made_from = {}
    for name, entries in layers.items():
        if name not in values and (only is None or name in only):
            values[name] = value_at(name, len(entries) - 1)
            origins[name] = entries[-1].where
            made_from[name] = feeds[(name, len(entries) - 1)]
    return Environment(values, origins, made_from)


def prefix(name: str) -> str:
    """Variable prefix of a stack, service or node name: `arome-france` -> `AROME_FRANCE`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()
