"""Swarm jobs in kargo's deploys (`deploy.mode: replicated-job` /
`global-job`): re-running one on request, and what a rollback does with them.

A job runs when the engine is sent its service: when it is new or its
definition changed (delta.py sends only those, so a deploy that changes
nothing re-runs nothing), or on request with `run:<stack>:<service>`, which
bumps the job's ForceUpdate (the engine then starts a new JobIteration of the
same spec), waits for it as a deploy waits, and records the version it left,
so the next deploy does not take the run for a change made outside kargo.

A rollback never sends a job: a job that ran cannot be undone, and sending
the earlier version would run that version again (a migration backwards, a
load of old data). The job stays as the last deploy left it; the rollback
says so, one line per job.
"""
from kargo_tasks.base.errors import KargoError
from kargo_tasks.compose.schema import is_job
from kargo_tasks.engine import convergence, swarm
from kargo_tasks.workspace.catalog import Stack
from kargo_tasks.workspace.project import Project

from . import outcome
from .stacks import record_services


def run(project: Project, stack: Stack, service: str, named: bool = True) -> None:
    """`run:<stack>:<service>`: run the job `service` again and wait for it.
    Not `named` (`run:<stack>` runs each service of the stack): a service
    that is not a job is left alone."""
    # before the engine is asked anything
    timeout, stable = swarm.deploy_timeout(project.env), swarm.stable_seconds(project.env)
    name = stack.namespace.scope(service)
    found = swarm.deployed(stack.namespace).get(name)
    if found is None:
        raise KargoError(f"service {name} is not deployed: `doit deploy:{stack.name}` runs it")
    spec = found["Spec"]
    if convergence.job_mode(spec) is None:
        if not named:
            return
        if convergence.one_shot(spec):
            # the engine's rolling update takes the task's end (within its
            # monitor window) for a failure, and pauses the update
            raise KargoError(f"service {name} is a one-shot service (restart_policy condition "
                             "none), not a job: the engine's update of it pauses when its task "
                             "ends; make it deploy.mode replicated-job to run it again")
        raise KargoError(f"service {name} is not a job (deploy.mode replicated-job or "
                         f"global-job): `doit update:{stack.name} --force` restarts a service")
    before = swarm.versions([found])[name]
    print(f"run {stack.name}:{service}", flush=True)
    try:
        swarm.rerun(name)
        swarm.wait(stack.namespace, timeout, stable, only=[name])
    except KargoError as err:
        outcome.keep("run", stack.name, {service: "run again"}, failures=str(err).splitlines())
        raise
    outcome.keep("run", stack.name, {service: "run again"})
    after = swarm.deployed(stack.namespace).get(name)
    record_services(project, stack, {name: before}, [after] if after else [])
    print(f"run {stack.name}:{service}: completed", flush=True)


def kept(doc: dict, send: dict[str, str], remove: list[str], namespace, deployed: dict
         ) -> tuple[dict[str, str], list[str], list[str]]:
    """What a rollback to `doc` sends and removes, jobs left out: (send,
    remove, a line per job kept as it is). `deployed`: {full name: engine
    service} now."""
    lines = [f"job {name} is kept as the last deploy left it: a job that ran is not run "
             "again by a rollback" for name in sorted(send) if is_job(doc["services"][name])]
    jobs_now = [full for full in remove
                if convergence.job_mode(deployed[full]["Spec"]) is not None]
    lines += [f"job {namespace.descope(full)} is kept: a rollback removes no job"
              for full in jobs_now]
    return ({name: why for name, why in send.items() if not is_job(doc["services"][name])},
            [full for full in remove if full not in jobs_now], lines)
