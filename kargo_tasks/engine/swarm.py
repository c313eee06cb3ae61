"""Stacks on the Swarm: deploy, wait for convergence, detect drift, remove.

Deploys go through `docker stack deploy` (the CLI's compose implementation);
everything else is one docker-py list call per question, so checking a stack
for drift costs one round trip.
"""
import functools
import os
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from kargo_tasks.base.errors import EngineError, KargoError
from kargo_tasks.workspace.environment import Environment
from kargo_tasks.workspace.namespace import LABEL as NAMESPACE
from kargo_tasks.workspace.namespace import Namespace

from . import client as engine
from . import convergence
from .progress import Progress

# Seconds the same tasks must stay up before a stack counts as converged
# (docker's own "verify" step); KARGO_STABLE_SECONDS chooses another window.
STABLE = 3.0
STABLE_VARIABLE = "KARGO_STABLE_SECONDS"
# Updates resumed per service and wait, when the engine paused them on its own
# race (convergence.ENGINE_RACE): it meets 1-2 starts in 200, so a third
# pause in one deploy is the engine failing, not racing.
RESUMES = 2
TIMEOUT_VARIABLE = "KARGO_DEPLOY_TIMEOUT"


def _services(namespace):
    return engine.get(f"list services of {namespace}", "/services",
                      filters=Namespace(namespace).filters())


def snapshot(namespace: str) -> dict[str, list]:
    """{service: [id, spec version]}: changes when anyone changes a service."""
    return observe(namespace)[0]


def versions(services: Iterable[dict]) -> dict[str, list]:
    """{service name: [id, spec version]} of engine services."""
    return {s["Spec"]["Name"]: [s["ID"], s["Version"]["Index"]] for s in services}


def all_services() -> list[dict]:
    """Every service of the swarm, with its task counts: one engine call for
    the questions about many stacks (a no-op run over 50 stacks asks once)."""
    return engine.get("list services", "/services", status=True)


def observe(namespace: str, services: list[dict] | None = None
            ) -> tuple[dict[str, list], dict[str, str]]:
    """(snapshot, {service: "running/desired"} of the services running fewer
    tasks than they should, e.g. after a node was lost): one engine call, or
    none given `services` (from `all_services`)."""
    if services is None:
        services = engine.get(f"list services of {namespace}", "/services",
                              filters=Namespace(namespace).filters(), status=True)
    else:
        services = [s for s in services
                    if (s["Spec"].get("Labels") or {}).get(NAMESPACE) == namespace]
    snap = versions(services)
    lost = _lost_running(services) if services and _down_nodes() else {}
    short = {}
    for service in services:
        status = service.get("ServiceStatus") or {}
        running = status.get("RunningTasks", 0) - lost.get(service["ID"], 0)
        desired = status.get("DesiredTasks", 0)
        # a job or a one-shot service runs no task once it completed
        if running < desired and not (convergence.one_shot(service["Spec"])
                                      or convergence.job_mode(service["Spec"])):
            short[service["Spec"]["Name"]] = f"{running}/{desired}"
    return snap, short


@functools.lru_cache(maxsize=None)
def _down_nodes():
    """IDs of the nodes the manager cannot reach (asked once per run)."""
    nodes = engine.get("list nodes", "/nodes")
    return frozenset(n["ID"] for n in nodes if n["Status"]["State"] != "ready")


def _lost_running(services):
    """{service id: tasks still counted running on a node that is down}: the
    engine counts them until it reschedules them."""
    down = _down_nodes()
    # whatever their desired state: the engine counts a task whose node went
    # down as running, and wants it shut down, until the node is back
    tasks = engine.get("list tasks", "/tasks", filters={"service": [s["ID"] for s in services]})
    lost = {}
    for task in tasks:
        if task.get("NodeID") in down and task["Status"]["State"] == "running":
            lost[task["ServiceID"]] = lost.get(task["ServiceID"], 0) + 1
    return lost


def node_labels(keys: Collection[str]) -> dict[str, dict[str, str]]:
    """{node id: {key: value}} of the node labels `keys`, for every node."""
    nodes = engine.get("list nodes", "/nodes")
    return {n["ID"]: {k: v for k, v in (n["Spec"].get("Labels") or {}).items() if k in keys}
            for n in nodes}


def _overlay_networks():
    return {n["Name"] for n in engine.get("list networks", "/networks",
                                          filters={"driver": "overlay"})}


def ensure_networks(names: Iterable[str]) -> None:
    have = _overlay_networks()
    for name in names:
        if name and name not in have:
            client = engine.client()
            try:
                engine.call(f"create network {name}", client.api.create_network, name,
                            driver="overlay", attachable=True, labels={"org.kargo": "true"},
                            check_duplicate=True)
            except EngineError:
                # Another deploy (a `doit -n` worker) made it since the list:
                # the engine says so in words that vary. It is there: fine.
                if name in _overlay_networks():
                    continue
                raise
            print(f"created overlay network {name}")


def deployed(namespace: str) -> dict[str, dict]:
    """{service name: engine service} of `namespace`: one engine call."""
    return {s["Spec"]["Name"]: s for s in _services(namespace)}


def tasks_of(service_ids: Collection[str]) -> list[dict]:
    """Every task the engine keeps of the services `service_ids` (the
    current ones and those they replaced): one engine call."""
    if not service_ids:
        return []
    return engine.get("list tasks", "/tasks", filters={"service": sorted(service_ids)})


def task(task_id: str) -> dict | None:
    """The task `task_id`, None when the engine no longer has it."""
    return engine.get("inspect task", f"/tasks/{task_id}", missing=True)


def node_names() -> dict[str, str]:
    """{node id: its hostname}: one engine call."""
    return {n["ID"]: (n.get("Description") or {}).get("Hostname") or n["ID"][:12]
            for n in engine.get("list nodes", "/nodes")}


def existing_configs(namespace: str) -> set[str]:
    """Names of the configs and secrets of `namespace` the engine has."""
    return {item["Spec"]["Name"] for kind in ("config", "secret")
            for item in engine.get(f"list {kind}s", f"/{kind}s",
                                   filters=Namespace(namespace).filters())}


def image_digests(refs: Iterable[str]) -> dict[str, str | None]:
    """{reference: the registry's digest for it, or None when the registry
    cannot say}: what `docker stack deploy` would pin each service to."""
    return {ref: engine.registry_digest(ref) for ref in refs}


def deploy(namespace: str, text: str) -> None:
    """`docker stack deploy` of the stack file `text`, given on its standard
    input (`-c -`: the CLI's base for relative paths is then its working
    folder; kargo's stack files have absolute paths only)."""
    # no --prune: kargo removes the services a stack no longer has itself
    # (remove_services), as it sends only the services that changed
    _retrying(["stack", "deploy", "--with-registry-auth", "--compose-file", "-", namespace],
              f"docker stack deploy {namespace}", text)


def _retrying(args, what, stdin=None):
    """A docker CLI command that updates services, again when another writer
    updated one since the CLI read it (engine.CONFLICT): the CLI reads them
    again, and a service it updated already is sent the same spec."""
    return engine.retry_on_conflict(
        lambda _n: engine.run_cli(args, what=what, stdin=stdin), pause=0.2)


def remove_services(names: Iterable[str]) -> None:
    client = engine.client()
    for name in names:
        engine.call(f"remove service {name}", client.api.remove_service, name)


def rerun(name: str) -> None:
    """Run the job `name` again: its task template's ForceUpdate bumped
    (`docker service update --force`), on which the engine starts a new
    JobIteration with the same spec."""
    _retrying(["service", "update", "--detach", "--force", "--with-registry-auth", name],
              f"docker service update --force {name}")


def wait(namespace: str, timeout: float, stable: float,
         expected: Iterable[str] | None = None,
         only: Collection[str] | None = None) -> None:
    """Block until every service of `namespace` (or only the full names
    `only`) converged (the same tasks up for `stable` seconds); raise one line per failing service otherwise."""
    waiting = Convergence(timeout, stable)
    waiting.add(namespace, expected, only)
    for _namespace, failures in waiting.settle([namespace]):
        if failures:
            raise KargoError("\n".join(failures))


class Convergence:
    """Waits on several stacks at once: every service of each runs its
    desired replicas of its current spec, and the same tasks stayed up for
    `stable` seconds (docker's own "verify" step: a command that exits at
    once shows as running for an instant). Each poll asks the engine twice,
    whatever the number of stacks: the services, then their current tasks."""

    # 0.5 s between polls: a stack counts as converged within half a second
    # of its window's end (1 s polls took up to a second more); a poll costs
    # well under a millisecond of CPU here and in dockerd on an idle swarm
    def __init__(self, timeout: float, stable: float, interval: float = 0.5,
                 progress: Progress | None = None,
                 transient: Callable[[str], bool] | None = None,
                 resend: Callable[[str, list[str]], None] | None = None):
        self.timeout, self.stable, self.interval = timeout, stable, interval
        self.progress = progress or Progress()
        self.stacks: dict[str, dict] = {}  # namespace -> state
        # which task errors a stopped update is taken up again on (None: the
        # engine's race); `resend(namespace, [service])` sends a service the
        # engine rolled back on one again (the deploy's own send), else the
        # rollback fails the wait
        self.transient, self.resend = transient, resend
        self.resumed: dict[str, int] = {}  # service name -> updates taken up again

    def add(self, namespace, expected=None, only=None):
        """Wait for `namespace` too (just sent; `expected`: its service names;
        `only`: the full names of the services to wait for, when not all)."""
        self.stacks[namespace] = {"expected": set(expected or ()), "ids": None, "since": None,
                                "deadline": time.monotonic() + self.timeout,
                                "only": None if only is None else set(only)}

    def settle(self, namespaces):
        """Poll every stack being waited on until each of `namespaces` settled;
        yield (namespace, failure lines, empty when it converged) as each one
        (of `namespaces` or not) settles."""
        wanted = set(namespaces)
        try:
            while wanted & set(self.stacks):
                for namespace, failures in self._polled():
                    del self.stacks[namespace]
                    yield namespace, failures
                if wanted & set(self.stacks):
                    time.sleep(self.interval)
        finally:
            self.progress.done()

    def _polled(self):
        try:
            return self._poll()
        except KargoError as err:
            # the engine went away (a restart) or its swarm is not back yet:
            # what was sent stays sent, the stacks are not recorded
            raise KargoError(f"the wait was cut off: {err} (the next deploy completes what "
                             "did not converge)") from None

    def _poll(self):
        services = [s for s in all_services()
                    if (s["Spec"].get("Labels") or {}).get(NAMESPACE) in self.stacks]
        tasks = _current_tasks(services)
        now = time.monotonic()
        settled = []
        for namespace, state in list(self.stacks.items()):
            mine = [s for s in services if s["Spec"]["Labels"][NAMESPACE] == namespace
                    and (state["only"] is None or s["Spec"]["Name"] in state["only"])]
            pending, failed, running = {}, [], set()
            for service in mine:
                name = service["Spec"]["Name"]
                own_tasks = _with_stopping_task(service, tasks.get(service["ID"], []))
                status, detail, ids = convergence.progress(service, own_tasks)
                running |= ids
                self.progress.update({name: detail})
                if status == "failed" and self._taken_up(namespace, service, own_tasks):
                    pending[name] = detail
                elif status == "failed":
                    failed.append(f"service {name} failed: {detail}")
                elif status != "done":
                    pending[name] = detail
            for name in {Namespace(namespace).scope(n) for n in state["expected"]} - {
                    s["Spec"]["Name"] for s in mine}:
                pending[name] = "not created"
            if failed:
                settled.append((namespace, sorted(failed)))
            elif not pending:
                if running != state["ids"]:
                    state["ids"], state["since"] = running, now
                elif now - state["since"] >= self.stable:
                    settled.append((namespace, []))
            else:
                state["ids"] = None
                if now > state["deadline"]:
                    settled.append((namespace, sorted(
                        f"service {n} did not converge in {self.timeout:g}s: {d}"
                        for n, d in pending.items())))
        return settled

    def _taken_up(self, namespace, service, tasks):
        """Take the service's update up again when the engine stopped it on
        its own race (convergence.raced), RESUMES times at most: a paused one
        is resumed, as an operator's `docker service update` would; one it
        rolled back had the spec before put back, so only sending the
        deploy's spec again (`resend`) takes it up."""
        name = service["Spec"]["Name"]
        if self.resumed.get(name, 0) >= RESUMES:
            return False
        error = convergence.resumable(service, tasks, self.transient)
        if error is not None:
            self.progress.note(f"  {name}  the engine failed to start a task ({error}): "
                               "resuming the update")
            resume(name)
        elif self.resend is not None and \
                (error := convergence.rolled_back_on_race(service, tasks, self.transient)):
            self.progress.note(f"  {name}  the engine failed to start a task ({error}) and "
                               "rolled the update back: sending it again")
            self.resend(namespace, [name])
        else:
            return False
        self.resumed[name] = self.resumed.get(name, 0) + 1
        return True


def _with_stopping_task(service, tasks):
    """`tasks`, or, when the engine stopped the service's update and the task
    it stopped on is not among them (a rollback put the service back on the
    spec before, so that task is of a spec no longer current), every task of
    the service: one engine call, only then, so the failure can be named."""
    if (service.get("UpdateStatus") or {}).get("State") not in convergence.STOPPED or \
            convergence.stopping_task(service, tasks) is not None:
        return tasks
    return tasks_of([service["ID"]])


def _current_tasks(services):
    """{service id: its tasks of the current spec}: one engine call."""
    if not services:
        return {}
    found = {}
    for task in engine.get("list tasks", "/tasks", filters={
            "service": [s["ID"] for s in services], "_up-to-date": "true"}):
        found.setdefault(task["ServiceID"], []).append(task)
    return found


def prune_configs(namespace: str, keep: Collection[str]) -> None:
    """Remove configs and secrets of `namespace` that no current spec uses."""
    client = engine.client()
    for kind, remover in (("config", client.api.remove_config),
                          ("secret", client.api.remove_secret)):
        for item in engine.get(f"list {kind}s", f"/{kind}s",
                               filters=Namespace(namespace).filters()):
            name = item["Spec"]["Name"]
            if name not in keep:
                try:
                    engine.call(f"remove {kind} {name}", remover, item["ID"])
                except EngineError:
                    pass  # still used by a task shutting down: next deploy removes it


def remove(namespace: str, timeout: float) -> None:
    if not _services(namespace):
        return
    engine.run_cli(["stack", "rm", namespace], what=f"docker stack rm {namespace}")
    deadline = time.monotonic() + timeout
    while _services(namespace) or engine.get("list networks", "/networks",
                                           filters=Namespace(namespace).filters()):
        if time.monotonic() > deadline:
            raise KargoError(f"stack {namespace} still has services or networks after {timeout:g}s")
        time.sleep(0.5)


def resume(name: str) -> None:
    """Resume the paused update of service `name`: every task not of its
    current spec is replaced. Docker's rolling-update tutorial resumes with
    `docker service update <name>` and no change; on dockerd 20.10 that reset
    the paused state yet left a task of the old spec running in 4 of 7 tries
    here. `--force` (the task template's ForceUpdate bumped) makes every task
    one to update, so the update reaches all replicas; the image is not
    resolved again, and a later `docker stack deploy` keeps ForceUpdate as it
    is, so the spec stays the one the deploy sent."""
    _retrying(["service", "update", "--detach", "--force", "--no-resolve-image", name],
              f"docker service update --force {name}")


def update(namespace: str, force: bool) -> None:
    for service in _services(namespace):
        name = service["Spec"]["Name"]
        args = ["service", "update", "--detach", "--with-registry-auth"]
        _retrying(args + (["--force"] if force else []) + [name], f"docker service update {name}")


def deploy_timeout(env: Environment) -> float:
    """KARGO_DEPLOY_TIMEOUT: how long a deploy waits for a stack to converge."""
    return _seconds(env, TIMEOUT_VARIABLE, 300.0)


def stable_seconds(env: Environment) -> float:
    """KARGO_STABLE_SECONDS: how long the same tasks must stay up before a
    stack counts as converged (STABLE when unset)."""
    return _seconds(env, STABLE_VARIABLE, STABLE)


def _seconds(env, name, default):
    value = env.get(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    # float() also takes "nan", "inf" and "-5": none of them is a duration
    if seconds is None or not 0 < seconds < float("inf"):
        raise KargoError(f"{name} must be a number of seconds", where=env.origins.get(name))
    return seconds


def run_hook(path: Path, env: Environment) -> None:
    """Run a `<service>_before.sh` / `_after.sh` hook with the environment."""
    import subprocess
    if not os.access(path, os.X_OK):
        raise KargoError("hook is not executable (chmod +x it)", where=str(path))
    try:
        proc = subprocess.run([str(path)], env=engine.cli_env(env.as_dict()), capture_output=True,
                              text=True,
                              stdin=subprocess.DEVNULL, cwd=path.parent)
    except OSError as exc:
        # No `#!` line (ENOEXEC) or a missing interpreter (`#!/bin/sh\r` saved
        # with CRLF): one line naming the hook, not a traceback.
        raise KargoError(f"hook cannot be started: {exc.strerror} (check its #! line)",
                         where=str(path))
    print(proc.stdout, end="")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise KargoError(f"hook exited {proc.returncode}: {tail[0]}", where=str(path))
