"""When one service counts as converged: a pure rule over its engine service
and its tasks (no engine call here; swarm.Convergence asks and polls).

A long-running service converged when it runs its desired replicas of its
current spec. A Swarm job (`deploy.mode: replicated-job` / `global-job`)
converged when its tasks of the current run completed: the engine never
keeps a job's task running, so "0/1 running" is no failure (docker/cli's
`service/progress` counts a job's completed tasks of its current
`JobIteration` likewise). A service with `restart_policy: condition: none`
is one-shot: a task that completed (exit 0) counts as done, as a running
one does. A job that fails names its error (the exit code among it).

An update the engine paused (`update_config.failure_action: pause`, the
default) failed, naming the error of the task it paused on; when that error is
the engine's own race (ENGINE_RACE), not the service's, the update can be
resumed (`resumable`; swarm.Convergence does it).
"""
import re
from collections.abc import Callable, Iterable, Mapping

FAILED = {"failed", "rejected"}
# Failed tasks of the new spec tolerated while a service restarts, before the
# deploy is declared failed (a command that exits 1 fails fast).
MAX_FAILURES = 3
JOB_MODES = {"ReplicatedJob": "replicated-job", "GlobalJob": "global-job"}
PAUSED = "paused"
# update states in which the engine stopped an update on a task's failure
STOPPED = (PAUSED, "rollback_started", "rollback_paused", "rollback_completed")
# moby/moby#48783 (open since 2024-10): starting a task's container fails when
# the engine cannot remount the tmpfs that holds its secrets and configs
# read-only ("device or resource busy"): 1-2 starts in 200 on a busy node
# there; dockerd 20.10 logged it 4 times in two days of our test runs. A
# fault of the engine, not of the service: the next start of the same spec
# succeeds.
ENGINE_RACE = re.compile(r"unable to remount (?:\w+ )?dir as readonly: .*device or resource busy")
# "update paused due to failure or early termination of task <id>"
STOPPED_ON = re.compile(r"\btask (\w+)")


def job_mode(spec: Mapping) -> str | None:
    """"replicated-job" or "global-job" of an engine service spec, else None."""
    return next((name for key, name in JOB_MODES.items() if key in (spec.get("Mode") or {})),
                None)


def one_shot(spec: Mapping) -> bool:
    """A service the engine never restarts: a task that ended is final."""
    return ((spec.get("TaskTemplate") or {}).get("RestartPolicy") or {}).get("Condition") == "none"


def iteration(service: dict) -> int:
    """The job's current run (JobStatus.JobIteration; 0 for the first, which
    the engine sends as `{}`)."""
    return int((((service.get("JobStatus") or {}).get("JobIteration")) or {}).get("Index", 0))


def current_run(service: dict, tasks: Iterable[dict]) -> list[dict]:
    """The tasks of the job's current run (all of `tasks` for a service):
    the engine keeps the tasks of earlier runs a while."""
    if job_mode(service["Spec"]) is None:
        return list(tasks)
    run = iteration(service)
    return [t for t in tasks if int((t.get("JobIteration") or {}).get("Index", 0)) == run]


def progress(service: dict, tasks: list[dict]) -> tuple[str, str, set[str]]:
    """('done' | 'waiting' | 'failed', what to show, running task ids) of a
    service from its tasks of the current spec (of the current run, for a
    job)."""
    spec = service["Spec"]
    update = service.get("UpdateStatus") or {}
    if update.get("State") in STOPPED:
        detail = f"update {update['State']}: {update.get('Message', '')}".strip()
        task = stopping_task(service, tasks)
        if task is not None:
            detail += f" ({_error([task])})"
        return "failed", detail, set()
    if job_mode(spec) is not None:
        return _job(service, current_run(service, tasks))
    mode = spec.get("Mode", {})
    once = one_shot(spec)
    live = [t for t in tasks if t.get("DesiredState") in ("running", "complete")]
    running_ids = {t["ID"] for t in live if t["Status"]["State"] == "running"}
    running = len(running_ids)
    complete = sum(1 for t in tasks if t["Status"]["State"] == "complete")
    failed = [t for t in tasks if t["Status"]["State"] in FAILED]
    desired = mode["Replicated"].get("Replicas", 1) if "Replicated" in mode else len(live)
    detail = f"{running}/{desired} running"
    if once and complete:
        detail += f", {complete} completed"
    if failed:
        detail += f", {len(failed)} failed: {_error(failed)}"
        if once or len(failed) >= MAX_FAILURES:
            return "failed", detail, running_ids
    detail += _pending(live)
    if update.get("State") == "updating":
        return "waiting", detail + " (updating)", running_ids
    done = running + complete if once else running
    return ("done" if done >= desired else "waiting"), detail, running_ids


def _job(service, tasks):
    """A job: done when the tasks of its current run completed (a global
    job: one per node that took one); failed at its first failed task when
    the engine does not restart it (restart condition none), else at
    MAX_FAILURES failed tasks, as a service."""
    spec = service["Spec"]
    mode = spec["Mode"]
    complete = sum(1 for t in tasks if t["Status"]["State"] == "complete")
    running_ids = {t["ID"] for t in tasks if t["Status"]["State"] == "running"
                   and t.get("DesiredState") != "shutdown"}
    failed = [t for t in tasks if t["Status"]["State"] in FAILED]
    if "ReplicatedJob" in mode:
        desired = int(mode["ReplicatedJob"].get("TotalCompletions", 1))
    else:
        # one task per node that takes it; before the engine made them, what
        # it says it wants (the service's task counts)
        nodes = {t.get("NodeID") for t in tasks}
        desired = len(nodes) or int((service.get("ServiceStatus") or {}).get("DesiredTasks", 0))
    detail = f"{complete}/{desired} completed"
    if running_ids:
        detail += f", {len(running_ids)} running"
    if failed and complete < desired:
        detail += f", {len(failed)} failed: {_error(failed)}"
        # a job whose attempts are spent is named when the wait times out:
        # between a failed task and its replacement there is no telling
        if one_shot(spec) or len(failed) >= MAX_FAILURES:
            return "failed", detail, running_ids
    detail += _pending([t for t in tasks if t.get("DesiredState") != "shutdown"])
    return ("done" if complete >= desired else "waiting"), detail, running_ids


def stopped_on(service: dict) -> str | None:
    """The id of the task whose failure stopped the service's update (its
    UpdateStatus message names it: "update paused due to failure or early
    termination of task <id>", "update rolled back due to ..."), else None."""
    update = service.get("UpdateStatus") or {}
    found = STOPPED_ON.search(update.get("Message", "")) if update.get("State") in STOPPED else None
    return found.group(1) if found else None


def stopping_task(service: dict, tasks: Iterable[dict]) -> dict | None:
    """The task whose failure stopped the service's update, when it is among
    `tasks`: the one its message names, else (a rollback that completed says
    only "rollback completed") the latest that failed since the update began."""
    update = service.get("UpdateStatus") or {}
    if update.get("State") not in STOPPED:
        return None
    named = stopped_on(service)
    if named:
        return next((t for t in tasks if t["ID"] == named), None)
    began = _instant(update.get("StartedAt", ""))
    failed = [t for t in tasks if t["Status"]["State"] in FAILED
              and _instant(t["Status"].get("Timestamp", "")) >= began]
    return max(failed, key=lambda t: _instant(t["Status"].get("Timestamp", "")), default=None)


def _instant(stamp: str) -> str:
    """An engine timestamp ("2026-12-03T13:02:21.1767162Z": Go drops the
    fraction's trailing zeros) as a string that sorts as the instant does."""
    whole, _dot, fraction = stamp.rstrip("Z").partition(".")
    return f"{whole}.{fraction.ljust(9, '0')}"


def raced(service: dict, tasks: Iterable[dict],
          transient: Callable[[str], bool] | None = None) -> str | None:
    """The error of the task the engine stopped the service's update on
    (paused it, or rolled it back), when that error is `transient` (default:
    the engine's own race, ENGINE_RACE); else None."""
    task = stopping_task(service, tasks)
    error = _error([task]) if task is not None else ""
    engine_race = transient or (lambda text: ENGINE_RACE.search(text) is not None)
    return error if task is not None and engine_race(error) else None


def resumable(service: dict, tasks: Iterable[dict],
              transient: Callable[[str], bool] | None = None) -> str | None:
    """`raced`, for an update the engine paused: resuming it is what to do
    (one it rolled back has the spec before again: it is sent again)."""
    if (service.get("UpdateStatus") or {}).get("State") != PAUSED:
        return None
    return raced(service, tasks, transient)


def rolled_back_on_race(service: dict, tasks: Iterable[dict],
                        transient: Callable[[str], bool] | None = None) -> str | None:
    """`raced`, for an update the engine rolled back (or is rolling back)."""
    if not (service.get("UpdateStatus") or {}).get("State", "").startswith("rollback_"):
        return None
    return raced(service, tasks, transient)


def _error(failed):
    """The latest failed task's error (the engine's `task: non-zero exit (3)`)."""
    latest = max(failed, key=lambda t: t["Status"].get("Timestamp", ""))
    return latest["Status"].get("Err") or latest["Status"].get("Message") or "task failed"


def _pending(live):
    waiting = [t["Status"].get("Err") for t in live if t["Status"]["State"] == "pending"]
    # the scheduler's reason, e.g. "no suitable node (...)"
    return f", pending: {next(err for err in waiting if err)}" if any(waiting) else ""
