"""A stack's Swarm namespace and the names of what it puts in the engine, in
one place (as docker/cli's convert.Namespace, with its Scope).

The namespace is `<KARGO_PREFIX>-<stack>`: the prefix is the platform's, a
variable of the workspace (default `kargo`), so two platforms share one
Swarm as `staging-web` and `production-web`. Everything kargo finds in the
engine, it finds by the namespace's label, so each platform sees only its
own services, configs, secrets and stack networks.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from kargo_tasks.base.errors import ConfigError

# the label docker stack deploy puts on all it makes for a namespace
LABEL = "com.docker.stack.namespace"
VARIABLE = "KARGO_PREFIX"
DEFAULT = "kargo"
# What the prefix may be: a name every object it leads is valid with. A
# Swarm service name is a DNS label (letters, digits, `-`; swarmkit), an
# image repository path component is lower case (the defaults put the
# prefix in the repositories of the images kargo builds): lower-case
# letters and digits, `-` inside, at most 32 characters (service names
# stay under the engine's 63).
RULE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")


def check_prefix(value: str, where: str | None = None) -> str:
    """`value` as a platform prefix, or one ConfigError line naming `where`."""
    if not RULE.fullmatch(value):
        raise ConfigError(f"{VARIABLE} must be 1 to 32 lower-case letters, digits or `-` "
                          f"(not first or last), not {value!r}", where=where or VARIABLE)
    return value


class HasVariables(Protocol):
    """What `platform` reads of an environment (environment.Environment)."""
    origins: Mapping[str, str]

    def get(self, name: str, default: str | None = None) -> str | None: ...


def platform(env: HasVariables) -> str:
    """The platform prefix of the environment `env` (KARGO_PREFIX, `kargo`
    when unset or empty), checked."""
    value = env.get(VARIABLE)
    if not value:
        return DEFAULT
    return check_prefix(value, env.origins.get(VARIABLE))


class Namespace(str):
    """`<prefix>-<stack>`: the name kargo gives `docker stack deploy` for a stack.

    A str, as the engine's label values and the CLI's argument are; what is
    named in it (its services, configs, networks) is `scope`d."""

    @classmethod
    def of(cls, stack: str, prefix: str = DEFAULT) -> Namespace:
        """The namespace of the stack named `stack` on the platform `prefix`."""
        return cls(f"{prefix}-{stack}")

    def scope(self, name: str) -> str:
        """`<namespace>_<name>`: a service's name in the engine."""
        return f"{self}_{name}"

    def descope(self, name: str) -> str:
        """The name `scope` made `name` from."""
        return name[len(self) + 1:]

    def filters(self) -> dict[str, str]:
        """The engine's list filter for what the namespace holds."""
        return {"label": f"{LABEL}={self}"}
