"""`logs:<stack>` and `logs:<stack>:<service>`: the log lines of a stack's
services, interleaved by time, each after its service's name (and the task
slot, or the node of a global service, when the service runs several tasks),
as `docker service logs` shows one service (docker/cli
cli/command/service/logs.go: `service.slot.task@node | line`).

Read-only, and fast: it reads the environment (which stacks, which engine,
which values to mask) and asks the engine; it needs no merged configuration
(no `_configure` first) and writes nothing. Every value of the environment
that is not public (`KARGO_PUBLIC`, masking.py) and the text of every file of
`secrets/` is `***` in every line, as in a config's diff."""
import datetime
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TypeVar

from kargo_tasks.base.errors import ConfigError, KargoError
from kargo_tasks.engine import endpoint
from kargo_tasks.engine import logs as engine_logs
from kargo_tasks.engine import swarm
from kargo_tasks.workspace import masking, sealed, templates
from kargo_tasks.workspace.catalog import Catalog, Stack
from kargo_tasks.workspace.environment import Environment
from kargo_tasks.workspace.environment import prefix as env_prefix
from kargo_tasks.workspace.project import Project

T = TypeVar("T")
SEPARATOR = " | "
# Lines of a followed stack are held this long after they arrive, then
# written in the order of their times: the lines each service had already
# logged (they come in a burst) interleave as the others do.
HOLD = 0.25
GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
GO_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


# --- what the operator typed ------------------------------------------------------------

def since_value(text: str, now: float) -> str:
    """The engine's `since` (seconds since the epoch) for `--since`, read as
    the docker CLI reads it: a Go duration back from now (`10m`, `1h30m`,
    `90s`), a date and time (`2026-12-02T15:04:05Z`, `2026-12-02`; local
    time without a zone), or seconds since the epoch."""
    text = text.strip()
    if GO_DURATION.match(text):
        seconds = sum(float(n) * GO_UNIT[unit]
                      for n, unit in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text))
        return f"{now - seconds:.9f}"
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return text
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since {text!r}: give a duration (10m, 1h30m), a date and time "
                          "(2026-12-02T15:04:05Z) or seconds since the epoch") from None
    return f"{when.timestamp():.9f}"


def tail_value(text: str) -> str:
    """`--tail`: `all` or a number of lines (of each service)."""
    text = (text or "all").strip()
    if text != "all" and not text.isdigit():
        raise ConfigError(f"--tail {text!r}: give a number of lines or all")
    return text


# --- what a line shows ------------------------------------------------------------------

def several(spec: Mapping) -> str | None:
    """How the tasks of a service are told apart: "slot" (several replicas),
    "node" (global), None (one task)."""
    mode = spec.get("Mode") or {}
    if "Global" in mode or "GlobalJob" in mode:
        return "node"
    if "Replicated" in mode:
        return "slot" if (mode["Replicated"].get("Replicas", 1) or 0) > 1 else None
    if "ReplicatedJob" in mode:
        job = mode["ReplicatedJob"]
        return "slot" if max(job.get("MaxConcurrent", 1) or 1,
                             job.get("TotalCompletions", 1) or 1) > 1 else None
    return None


def prefix(service: str, how: str | None, slot: int | None, node: str) -> str:
    """`service`, `service.slot` or `service@node`."""
    if how == "slot" and slot:
        return f"{service}.{slot}"
    if how == "node" and node:
        return f"{service}@{node}"
    return service


# kargo's own settings (README "Variables"), whose values it shows itself
SETTINGS = ("STACKS", "DOCKER_FRONT_NETWORK", "DOCKER_BACK_NETWORK", "DOCKER_ENDPOINT_MODE",
            "DOCKER_PORT_MODE", "KARGO_DEPLOY_TIMEOUT", "KARGO_PUBLIC", "KARGO_WORKSPACE")


def printed_anyway(catalog: Catalog) -> set[str]:
    """The variables whose values kargo prints itself (`doit list`, `show`,
    `plan`, `status`) or that are its own settings: the stacks and their
    services (`STACKS`, `<STACK>_STACK`, `_DEPENDS`, `_ATOMIC`), what `plan`
    shows of a service (`<SERVICE>_IMAGE`, `_TAG`, `_REPLICAS`,
    `_CONSTRAINTS`), the networks, modes and timeout, and the engine
    (`DOCKER_HOST`, ...). Masking them would hide nothing, and blank every
    line naming a service, or every `host` and `300` of a line."""
    names = {*SETTINGS, *endpoint.VARIABLES}
    for stack in catalog.stacks.values():
        names |= {f"{env_prefix(stack.name)}_{kind}" for kind in ("STACK", "DEPENDS", "ATOMIC")}
        names |= {f"{env_prefix(service)}_{kind}" for service in stack.services
                  for kind in ("IMAGE", "TAG", "REPLICAS", "CONSTRAINTS")}
    names |= {f"{image.prefix}_{kind}" for image in catalog.images.values()
              for kind in ("IMAGE", "TAG")}
    return names


def hidden(env: Environment, specs: Iterable[Mapping], secrets: Iterable[str],
           printed: Collection[str] = ()) -> list[str]:
    """What no line may show: the values of the environment that are not
    public (nor `printed` anyway), set by an env file or reaching a container
    (`specs`: the services' specs; a variable only the shell sets reaches a
    log only through one), each line of a value on its own; and each line of
    the texts of `secrets/`."""
    shown = masking.public(env)
    secret = sealed.secret_names(env)  # never shown, whatever else says
    reaching = {entry.partition("=")[2] for spec in specs
                for entry in ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {})
                .get("Env") or ()}
    values = {env.get(name) for name in env.names()
              if (name in secret or not (shown(name) or name in printed))
              and (env.origins.get(name) != "shell" or env.get(name) in reaching)}
    return sorted({line.strip() for text in [*values, *secrets] if text
                   for line in text.splitlines() if line.strip()})


def render(line: engine_logs.Line, label: str, width: int, hide: Sequence[str],
           timestamps: bool = False) -> str:
    """One line as it is written: `[time ]label | text`, values masked."""
    head = f"{line.time} " if timestamps else ""
    return f"{head}{label:<{width}}{SEPARATOR}{masking.hide(line.text, hide)}"


def interleave(lines: Iterable[tuple[engine_logs.Line, T]]) -> list[tuple[engine_logs.Line, T]]:
    """(line, what it goes with) of several services in the order of the
    lines' times (a service's own lines keep their order when two have the
    same time)."""
    return sorted(lines, key=lambda pair: pair[0].time)


# --- reading ----------------------------------------------------------------------------

class Labels:
    """The label of each line of a stack's services (tasks and nodes asked
    once, a task that starts later when its first line comes)."""

    def __init__(self, namespace: str, services: Mapping[str, dict]) -> None:
        self.namespace = namespace
        self.by_id = {s["ID"]: s for s in services.values()}
        self.tasks = {t["ID"]: t for t in swarm.tasks_of(list(self.by_id))}
        self.nodes = swarm.node_names() if any(
            several(s["Spec"]) == "node" for s in self.by_id.values()) else {}

    def short(self, service: dict) -> str:
        return service["Spec"]["Name"][len(self.namespace) + 1:]

    def width(self) -> int:
        """The width the labels are padded to: the longest one expected."""
        found = [1]
        for service in self.by_id.values():
            how = several(service["Spec"])
            if how == "slot":
                replicas = (service["Spec"]["Mode"].get("Replicated") or {}).get("Replicas", 1)
                found.append(len(prefix(self.short(service), how, replicas, "")))
            elif how == "node":
                found += [len(prefix(self.short(service), how, None, n))
                          for n in self.nodes.values()]
            else:
                found.append(len(self.short(service)))
        return max(found)

    def of(self, service: dict, line: engine_logs.Line) -> str:
        task = self.tasks.get(line.task)
        if task is None:
            task = swarm.task(line.task) or {}
            self.tasks[line.task] = task
        return prefix(self.short(service), several(service["Spec"]), task.get("Slot"),
                      self.nodes.get(line.node, line.node[:12]))


def secret_texts(project: Project) -> list[str]:
    """The texts of the files of `secrets/` (rendered as configure renders
    them, decrypted in memory), read from the workspace and the defaults."""
    found = []
    for out, source in project.overlay.items():
        if out.startswith("secrets/"):
            data, _reads = templates.render(source, out, project.env)
            found.append(data.decode("utf-8", "replace"))
    return found


def show(project: Project, stack: Stack, service: str = "", follow: bool = False,
         since: str = "", tail: str = "all", timestamps: bool = False,
         out: Callable[[str], object] | None = None) -> None:
    """The action of `logs:<stack>[:<service>]`: the lines, then (`follow`)
    the lines as they come until Ctrl-C."""
    since_arg = since_value(since, time.time()) if since else ""
    tail = tail_value(tail)
    namespace = stack.namespace
    services = swarm.deployed(namespace)
    if service:
        full = namespace.scope(service)
        if full not in services:
            raise KargoError(f"service {service} of stack {stack.name} is not deployed "
                             f"({full})")
        services = {full: services[full]}
    if not services:
        raise KargoError(f"stack {stack.name} is not deployed ({namespace})")
    hide = hidden(project.env, [s["Spec"] for s in services.values()], secret_texts(project),
                  printed_anyway(project.catalog))
    labels = Labels(namespace, services)
    width = labels.width()
    write = out or _write
    streams = [(s, engine_logs.ServiceLogs(s, follow=follow, since=since_arg, tail=tail))
               for s in services.values()]
    try:
        if not follow:
            for line, s in interleave((line, s) for s, logs in streams for line in logs):
                write(render(line, labels.of(s, line), width, hide, timestamps))
            return
        _follow(streams, lambda line, s: write(render(line, labels.of(s, line), width, hide,
                                                      timestamps)))
    except (BrokenPipeError, KeyboardInterrupt):  # `doit logs:web | head`, Ctrl-C
        pass
    finally:
        for _s, logs in streams:
            logs.close()


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _follow(streams: list, emit: Callable[[engine_logs.Line, dict], object]) -> None:
    """Read every stream in a thread of its own; write what came, in the order
    of its times, HOLD seconds after it came; until each stream ends or
    Ctrl-C (which ends it quietly)."""
    arrived: queue.Queue = queue.Queue()
    done = object()

    def read(service, logs):
        try:
            for line in logs:
                arrived.put((time.monotonic(), line, service))
        finally:
            arrived.put(done)

    for service, logs in streams:
        threading.Thread(target=read, args=(service, logs), daemon=True).start()
    running, held = len(streams), []  # type: int, list
    try:
        while running or held:
            try:
                item = arrived.get(timeout=HOLD / 2)
                if item is done:
                    running -= 1
                else:
                    held.append(item)
            except queue.Empty:
                pass
            ripe = time.monotonic() - HOLD if running else float("inf")
            ready = interleave((line, service) for at, line, service in held if at <= ripe)
            held = [h for h in held if h[0] > ripe]
            for line, service in ready:
                emit(line, service)
    except KeyboardInterrupt:
        return  # Ctrl-C is how a follow ends: no traceback, no error
