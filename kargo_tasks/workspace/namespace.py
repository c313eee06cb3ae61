"""A stack's Swarm namespace and the names of what it puts in the engine, in
one place (as docker/cli's convert.Namespace, with its Scope)."""
from __future__ import annotations

# the label docker stack deploy puts on all it makes for a namespace
LABEL = "com.docker.stack.namespace"
PREFIX = "kargo-"


class Namespace(str):
    """`kargo-<stack>`: the name kargo gives `docker stack deploy` for a stack.

    A str, as the engine's label values and the CLI's argument are; what is
    named in it (its services, configs, networks) is `scope`d."""

    @classmethod
    def of(cls, stack: str) -> Namespace:
        """The namespace of the stack named `stack`."""
        return cls(PREFIX + stack)

    def scope(self, name: str) -> str:
        """`<namespace>_<name>`: a service's name in the engine."""
        return f"{self}_{name}"

    def descope(self, name: str) -> str:
        """The name `scope` made `name` from."""
        return name[len(self) + 1:]

    def filters(self) -> dict[str, str]:
        """The engine's list filter for what the namespace holds."""
        return {"label": f"{LABEL}={self}"}
