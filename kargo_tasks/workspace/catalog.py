"""Stacks, their services, and the images kargo builds, from the environment.

Names map to variable prefixes by upper-casing and `-` -> `_`:
`STACKS` lists stacks, `<STACK>_STACK` a stack's services, `<STACK>_DEPENDS`
the stacks to deploy before it, `<STACK>_ATOMIC` whether a deploy of it that
does not converge rolls it back; a service's compose file is
`deploy/<service>.yml` in the merged configuration. Buildable images are the
folders of `images/` with a Dockerfile; the `weacast-loader` context makes one
image per model of `WEACAST_MODELS`.
"""
from collections.abc import Collection
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from kargo_tasks.base.errors import ConfigError
from kargo_tasks.base.graphs import dependencies_first

from .environment import Environment, prefix
from .namespace import DEFAULT as DEFAULT_PREFIX
from .namespace import Namespace, platform

LOADER_CONTEXT = "weacast-loader"
# the words Go's strconv.ParseBool takes, as the docker CLI's boolean flags do
BOOLEANS = {**dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
            **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False", ""), False)}


def compose_file(service: str) -> str:
    """A service's compose file in the merged configuration."""
    return f"deploy/{service}.yml"


def extension_file(value: str) -> str:
    """The file a `<SERVICE>_EXTENSION` names: a name in deploy/, as the bash
    Kargo has it, or a path ending in .yml/.yaml in the merged configuration."""
    value = value.strip()
    return value if value.endswith((".yml", ".yaml")) else f"deploy/{value}.yml"


def files_of(stack: "Stack", env: Environment) -> list[tuple[str, str]]:
    """[(merged-relative file, service)] a stack's compose files, in the order
    the bash Kargo passed them to `docker stack deploy` (its constraints
    files aside)."""
    files = []
    for service in stack.services:
        files.append((compose_file(service), service))
        extension = env.get(f"{prefix(service)}_EXTENSION", "")
        if extension.strip():
            files.append((extension_file(extension), service))
    return files


# a service's hooks: run before the stack is sent, after it converged
HOOKS = ("before", "after")


def hook_file(service: str, when: str) -> str:
    """A service's hook (`when`: one of HOOKS) in the merged configuration."""
    return f"deploy/{service}_{when}.sh"


def is_hook(out: str) -> bool:
    """Whether an output of the merged configuration is a service's hook."""
    return out.startswith("deploy/") and out.endswith(tuple(f"_{when}.sh" for when in HOOKS))


@dataclass(frozen=True)
class Stack:
    name: str
    services: tuple
    depends: tuple
    atomic: bool = False
    prefix: str = DEFAULT_PREFIX  # the platform's, KARGO_PREFIX (namespace.py)

    @property
    def namespace(self) -> Namespace:
        """The stack's Swarm namespace (`<KARGO_PREFIX>-<stack>`)."""
        return Namespace.of(self.name, self.prefix)


@dataclass(frozen=True)
class Image:
    name: str
    context: str        # folder of .kargo/ holding the Dockerfile
    build_args: tuple   # ((name, value), ...) fixed by the catalog

    @property
    def prefix(self):
        return prefix(self.name)


@dataclass(frozen=True)
class Catalog:
    stacks: dict   # name -> Stack, in STACKS order
    images: dict   # name -> Image

    def order(self, names):
        """`names` with the stacks they depend on first, each once, in STACKS order
        (a stack's dependencies right before it when STACKS lists them after)."""
        wanted, todo = set(), list(names)
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(self.stacks[name].depends)
        rank = {name: i for i, name in enumerate(self.stacks)}
        return dependencies_first([name for name in self.stacks if name in wanted],
                                  lambda name: sorted(self.stacks[name].depends, key=rank.get))


def image_reference(env: Environment, var_prefix: str) -> str | None:
    """`<P>_IMAGE:<P>_TAG` (`latest` when no tag is set) of the service or
    image whose variables start with `var_prefix`, or None when <P>_IMAGE is
    not set: the one rule for the image a service runs and an image is."""
    image = env.get(f"{var_prefix}_IMAGE")
    return f"{image}:{env.get(f'{var_prefix}_TAG') or 'latest'}" if image else None


def images_of(stack: Stack, catalog: Catalog, env: Environment) -> list[str]:
    """Names of the images kargo builds that the services of `stack` run: a
    service runs image X when its `<SERVICE>_IMAGE:<SERVICE>_TAG` is X's
    `<X>_IMAGE:<X>_TAG` (the seeder runs MapProxy's image)."""
    built = {image_reference(env, prefix(name)): name for name in catalog.images}
    built.pop(None, None)  # an image without <X>_IMAGE is run by no service
    runs = {image_reference(env, prefix(service)) for service in stack.services}
    return sorted(built[ref] for ref in runs if ref in built)


def used_images(catalog: Catalog, env: Environment) -> list[str]:
    """Names of the images kargo builds that a stack of STACKS runs: what
    `doit build` builds (any other is built only when named)."""
    return sorted({name for stack in catalog.stacks.values()
                   for name in images_of(stack, catalog, env)})


def build(env: Environment, overlay: Collection[str]) -> Catalog:
    stacks = {}
    platform_prefix = platform(env)
    where = env.origins.get("STACKS", "STACKS")
    for name in env.words("STACKS"):
        var = f"{prefix(name)}_STACK"
        if var not in env:
            raise ConfigError(f"stack {name} is listed in STACKS but {var} is not set", where=where)
        services = tuple(env.words(var))
        for service in services:
            if compose_file(service) not in overlay:
                raise ConfigError(f"stack {name}: service {service} has no compose file "
                                  f"{compose_file(service)}", where=env.origins.get(var, var))
        depends = tuple(env.words(f"{prefix(name)}_DEPENDS"))
        stacks[name] = Stack(name, services, depends, _boolean(env, f"{prefix(name)}_ATOMIC"),
                             platform_prefix)
    for stack in stacks.values():
        for dep in stack.depends:
            if dep not in stacks:
                raise ConfigError(f"stack {stack.name} depends on {dep}, which is not in STACKS",
                                  where=env.origins.get(f"{prefix(stack.name)}_DEPENDS"))
    _check_acyclic(stacks, env)
    return Catalog(stacks, _images(env, overlay))


def _boolean(env, var):
    value = env.get(var, "").strip()
    if value not in BOOLEANS:
        raise ConfigError(f"{var} must be true or false, not {value!r}",
                          where=env.origins.get(var, var))
    return BOOLEANS[value]


def _check_acyclic(stacks, env):
    """A cycle of <STACK>_DEPENDS, said from the stack of it STACKS lists first."""
    try:
        TopologicalSorter({name: stack.depends for name, stack in stacks.items()}).prepare()
    except CycleError as err:
        cycle = err.args[1][:-1][::-1]  # graphlib's runs from a dependency to its dependent
        rank = list(stacks)
        first = min(range(len(cycle)), key=lambda i: rank.index(cycle[i]))
        cycle = cycle[first:] + cycle[:first]
        raise ConfigError(f"stacks depend on each other: {' -> '.join(cycle + cycle[:1])}",
                          where=env.origins.get(f"{prefix(cycle[0])}_DEPENDS")) from None


def _images(env, overlay):
    images = {}
    for out in overlay:
        parts = out.split("/")
        if len(parts) != 3 or parts[0] != "images" or parts[2] != "Dockerfile":
            continue
        context = f"images/{parts[1]}"
        if parts[1] == LOADER_CONTEXT:
            for model in env.words("WEACAST_MODELS"):
                images[f"{model}-loader"] = Image(f"{model}-loader", context, (("MODEL", model),))
        else:
            images[parts[1]] = Image(parts[1], context, ())
    return dict(sorted(images.items()))
