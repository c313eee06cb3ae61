"""Swarm jobs (`deploy.mode: replicated-job`) on the real engine: a deploy
waits for a job's tasks to complete (not to run), names a job that fails
with its exit code, has nothing to wait for in a job of zero replicas, does
not run an unchanged job again; `run:<stack>:<service>` runs it again and
waits; `plan` says which jobs a deploy would run; a rollback leaves a job as
it is. Asserted on the engine's tasks and JobIteration, not on kargo's words
alone. (A global job on three nodes: test_multinode.py.)
"""
import json
import time

import pytest

from stack_fixtures import DEPLOY_TIMEOUT, sent, stackenv  # noqa: F401
from support import write

pytestmark = pytest.mark.slow

JOB_YML = """
version: "3.9"
services:
  {name}:
    image: ${{BUSYBOX}}
    command: ["sh", "-c", "{script}"]
    environment:
      KT_REVISION: ${{KT_REVISION:-1}}
    deploy:
      mode: replicated-job
      replicas: {replicas}
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${{DOCKER_BACK_NETWORK}}
"""


def job_stack(env, jobs, extra=""):
    """Stack c of the jobs {name: (script, replicas)}; its name."""
    c = f"{env.name}-c"
    env.extra_stacks.append(c)
    for name, (script, replicas) in jobs.items():
        write(env.kargo.workspace / f"deploy/{name}.yml",
              JOB_YML.format(name=name, script=script, replicas=replicas))
    env.set_env(f'STACKS="{env.a} {env.b} {c}"\n{env.prefix(c)}_STACK="{" ".join(jobs)}"\n'
                + extra)
    return c


def tasks(env, service):
    return env.client.api.tasks(filters={"service": service})


def completed(env, service):
    return sorted(t["ID"] for t in tasks(env, service) if t["Status"]["State"] == "complete")


def iteration(env, service):
    job = env.inspect(service).get("JobStatus") or {}
    return (job.get("JobIteration") or {}).get("Index", 0)


def status_rows(env, stack):
    """{service: row} of `stack` in `doit status --format json`."""
    proc = env.run("status", "--format", "json", check=False)
    assert proc.returncode in (0, 4), proc.stderr
    doc = json.loads(proc.stdout)
    return {row["service"]: row for found in doc["stacks"] if found["stack"] == stack
            for row in found["services"]}


def test_a_job_converges_when_completed_and_runs_again_only_when_changed_or_asked(stackenv):
    env = stackenv
    c = job_stack(env, {"migrate": ("sleep 1; echo migrated", 2), "never": ("true", 0)})
    migrate, never = env.service(c, "migrate"), env.service(c, "never")

    start = time.monotonic()
    proc = env.run(f"deploy:{c}")
    # converged on completion, far from the timeout (it was "0/2 running" until it)
    assert time.monotonic() - start < DEPLOY_TIMEOUT * 0.75
    assert sent(proc) == [c]
    assert len(completed(env, migrate)) == 2
    # replicas: 0: deployed, no task, nothing waited for
    assert env.inspect(never)["Spec"]["Mode"]["ReplicatedJob"]["TotalCompletions"] == 0
    assert tasks(env, never) == []
    runs = completed(env, migrate)
    # status: each job as the workspace says, and its last result
    rows = status_rows(env, c)
    assert (rows["migrate"]["mode"], rows["migrate"]["job"]["result"],
            rows["migrate"]["differs"]) == ("replicated-job", "completed", False), rows
    assert rows["never"]["differs"] is False, rows

    # only-changed: an unchanged job is not sent, so not run again
    since = env.now()
    again = env.run(f"deploy:{c}")
    assert again.stdout == "" and again.stderr == ""
    assert env.service_events(since) == []
    assert completed(env, migrate) == runs and iteration(env, migrate) == 0

    # plan names the job a deploy would run, and why
    env.set_env((env.kargo.workspace / ".env").read_text() + "KT_REVISION=2\n")
    plan = env.run("plan", f"deploy:{c}", check=False)
    assert "job migrate (changed): a deploy runs it" in plan.stdout, plan.stdout
    assert "never" in plan.stdout  # it reads KT_REVISION too
    env.run(f"deploy:{c}")
    assert iteration(env, migrate) == 1 and len(completed(env, migrate)) >= 2

    # run:<stack>:<service>: runs it again, waits, and the next deploy sees no change
    before = iteration(env, migrate)
    proc = env.run(f"run:{c}:migrate")
    assert f"run {c}:migrate: completed" in proc.stdout, proc.stdout
    assert iteration(env, migrate) == before + 1
    current = [t for t in tasks(env, migrate)
               if (t.get("JobIteration") or {}).get("Index", 0) == before + 1]
    assert len(current) == 2 and all(t["Status"]["State"] == "complete" for t in current)
    since = env.now()
    assert env.run(f"deploy:{c}").stdout == ""
    assert env.service_events(since) == [] and iteration(env, migrate) == before + 1

    # a rollback does not run the earlier version of a job: it keeps it as it is
    proc = env.run(f"rollback:{c}")
    assert "job migrate is kept as the last deploy left it" in proc.stdout, proc.stdout
    assert iteration(env, migrate) == before + 1
    assert "KT_REVISION=2" in env.inspect(migrate)["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]

    # a service that is not deployed is refused, naming the deploy that runs it
    refused = env.run(f"run:{env.a}:web", check=False)
    assert refused.returncode != 0
    assert (f"service {env.service(env.a, 'web')} is not deployed: `doit deploy:{env.a}` "
            "runs it") in refused.stderr, refused.stderr


def test_a_job_that_exits_3_fails_the_deploy_naming_it_and_its_exit_code(stackenv):
    env = stackenv
    c = job_stack(env, {"broken": ("echo trying; exit 3", 1)})
    start = time.monotonic()
    proc = env.run(f"deploy:{c}", check=False)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"kargo: deploy:{c}: service {env.service(c, 'broken')} failed: "
                     "0/1 completed, 3 failed: task: non-zero exit (3)"], proc.stderr
    # status names the failed job, and says the stack is not as the workspace says
    rows = status_rows(env, c)
    assert rows["broken"]["job"]["result"] == "failed" and rows["broken"]["differs"], rows
    assert "job failed" in rows["broken"]["state"], rows
    # failed tasks end the wait, as a crashing service's do
    assert time.monotonic() - start < DEPLOY_TIMEOUT * 0.75


def test_a_job_still_running_at_the_timeout_is_named(stackenv):
    env = stackenv
    c = job_stack(env, {"slow": ("sleep 600", 1)}, extra="KARGO_DEPLOY_TIMEOUT=8\n")
    proc = env.run(f"deploy:{c}", check=False)
    assert proc.returncode != 0
    assert (f"service {env.service(c, 'slow')} did not converge in 8s: 0/1 completed, "
            "1 running") in proc.stderr, proc.stderr


ONCE_YML = """
version: "3.9"
services:
  once:
    image: ${BUSYBOX}
    command: ["sh", "-c", "echo seeded"]
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      restart_policy:
        condition: none
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""


def test_a_one_shot_service_whose_task_completed_converged_and_stays_up_to_date(stackenv):
    """`restart_policy: condition: none` on a replicated service: its task
    completed is converged (not "0/1 running"), and stays up to date."""
    env = stackenv
    c = f"{env.name}-c"
    env.extra_stacks.append(c)
    write(env.kargo.workspace / "deploy/once.yml", ONCE_YML)
    write(env.kargo.workspace / "deploy/sleeper.yml",
          ONCE_YML.replace("once:", "sleeper:").replace('"echo seeded"', '"sleep 3600"')
          .replace("      restart_policy:\n        condition: none\n", ""))
    env.set_env(f'STACKS="{env.a} {env.b} {c}"\n{env.prefix(c)}_STACK="once sleeper"\n')
    once, sleeper = env.service(c, "once"), env.service(c, "sleeper")
    env.run(f"deploy:{c}")
    assert len(completed(env, once)) == 1
    # 0/1 running is what a one-shot service that completed runs: not stale
    again = env.run(f"deploy:{c}")
    assert again.stdout == "" and again.stderr == ""

    # run: is for jobs: the engine pauses a forced update of a one-shot
    # service when its task ends, so it is refused, naming the way; run:<stack>
    # leaves the services that are not jobs alone
    before = env.versions(c)
    refused = env.run(f"run:{c}:once", check=False)
    assert refused.returncode != 0
    assert (f"service {once} is a one-shot service (restart_policy condition none), not a job"
            in refused.stderr), refused.stderr
    proc = env.run(f"run:{c}")
    assert "run " not in proc.stdout.replace(".  run:", ""), proc.stdout
    assert env.versions(c) == before and len(completed(env, once)) == 1
    assert env.run(f"deploy:{c}").stdout == ""
