"""The convergence rule as a pure function of a service and its task states
(engine/convergence.py): jobs converge when their tasks completed, one-shot
services when their task completed, long-running services when they run;
an update the engine paused names its task's error, and is resumable when
that error is the engine's own race."""
from kargo_tasks.engine.convergence import (current_run, job_mode, progress, resumable,
                                            rolled_back_on_race)

# The engine's words for its race (moby/moby#48783), as dockerd 20.10 logged
# them here ("fatal task error", 2026-12-02) and as the issue quotes them.
RACE = ("starting container failed: unable to remount dir as readonly: mount tmpfs:"
        "/var/lib/docker/containers/70b82fed93b91b47b2cf87f921b14be3dca3804a897f48c2183fbddf81513b7e"
        "/mounts/secrets, flags: 0x21, data: uid=0,gid=0: device or resource busy")


def service(mode, restart=None, iteration=None, status=None):
    spec = {"Name": "kargo-s_j", "Mode": mode, "TaskTemplate": {}}
    if restart:
        spec["TaskTemplate"]["RestartPolicy"] = {"Condition": restart}
    found = {"ID": "svc", "Spec": spec}
    if iteration is not None:
        found["JobStatus"] = {"JobIteration": {"Index": iteration} if iteration else {}}
    if status:
        found["ServiceStatus"] = status
    return found


def task(state, desired="complete", node="n1", iteration=0, err=None, stamp="2026-01-01T00:00:0"):
    status = {"State": state, "Timestamp": stamp}
    if err:
        status["Err"] = err
    return {"ID": f"t-{state}-{node}-{stamp}", "NodeID": node, "DesiredState": desired,
            "Status": status, "JobIteration": {"Index": iteration} if iteration else {}}


def job(replicas=1, **kw):
    return service({"ReplicatedJob": {"MaxConcurrent": replicas, "TotalCompletions": replicas}},
                   iteration=0, **kw)


def test_a_replicated_job_whose_tasks_completed_converged():
    assert progress(job(2), [task("complete"), task("complete", node="n2")])[:2] == (
        "done", "2/2 completed")


def test_a_replicated_job_still_running_is_waited_for():
    status, detail, running = progress(job(), [task("running")])
    assert (status, detail) == ("waiting", "0/1 completed, 1 running")
    assert running == {"t-running-n1-2026-01-01T00:00:0"}


def test_a_job_that_exits_3_fails_at_its_third_failed_task_naming_the_exit_code():
    failing = [task("failed", desired="shutdown", err="task: non-zero exit (3)", stamp=f"s{i}")
               for i in range(2)]
    assert progress(job(), failing + [task("ready")])[0] == "waiting"
    failing.append(task("failed", desired="shutdown", err="task: non-zero exit (3)", stamp="s3"))
    status, detail, _ = progress(job(), failing)
    assert status == "failed"
    assert detail == "0/1 completed, 3 failed: task: non-zero exit (3)"


def test_a_job_the_engine_does_not_restart_fails_at_its_first_failed_task():
    once = job(restart="none")
    status, detail, _ = progress(once, [task("failed", err="task: non-zero exit (3)")])
    assert (status, detail) == ("failed", "0/1 completed, 1 failed: task: non-zero exit (3)")


def test_a_job_of_zero_replicas_has_nothing_to_wait_for():
    assert progress(job(0), [])[:2] == ("done", "0/0 completed")


def test_a_global_job_is_done_when_each_node_that_took_it_completed():
    glob = service({"GlobalJob": {}}, iteration=0)
    tasks = [task("complete", node=n) for n in ("a", "b")] + [task("running", node="c")]
    assert progress(glob, tasks)[:2] == ("waiting", "2/3 completed, 1 running")
    tasks[-1] = task("complete", node="c")
    assert progress(glob, tasks)[:2] == ("done", "3/3 completed")


def test_a_global_job_before_the_engine_made_its_tasks_waits():
    glob = service({"GlobalJob": {}}, iteration=0, status={"DesiredTasks": 3})
    assert progress(glob, [])[:2] == ("waiting", "0/3 completed")


def test_the_tasks_of_an_earlier_run_do_not_count():
    rerun = service({"ReplicatedJob": {"TotalCompletions": 1}}, iteration=1)
    tasks = [task("complete"), task("running", desired="complete", iteration=1)]
    assert current_run(rerun, tasks) == [tasks[1]]
    assert progress(rerun, tasks)[0] == "waiting"
    assert progress(rerun, [tasks[0], task("complete", iteration=1)])[0] == "done"


def test_a_one_shot_service_whose_task_completed_converged():
    once = service({"Replicated": {"Replicas": 1}}, restart="none")
    assert progress(once, [task("complete", desired="running")])[:2] == (
        "done", "0/1 running, 1 completed")
    assert progress(once, [task("failed", desired="running", err="task: non-zero exit (1)")]
                    )[0] == "failed"


def test_a_long_running_service_that_completed_did_not_converge():
    plain = service({"Replicated": {"Replicas": 1}})
    assert progress(plain, [task("complete", desired="running")])[:2] == (
        "waiting", "0/1 running")


def test_job_mode_names_the_compose_mode():
    assert job_mode(job()["Spec"]) == "replicated-job"
    assert job_mode(service({"GlobalJob": {}})["Spec"]) == "global-job"
    assert job_mode(service({"Global": {}})["Spec"]) is None


def paused(state="paused", named="k2y2h5nkmkag0bfsmipe2j7p5"):
    found = service({"Replicated": {"Replicas": 3}})
    found["UpdateStatus"] = {"State": state, "Message":
                             f"update paused due to failure or early termination of task {named}"}
    return found


def named(found, task_id="k2y2h5nkmkag0bfsmipe2j7p5"):
    """`found` with an engine task id (the engine's message names one)."""
    return dict(found, ID=task_id)


def test_a_paused_update_fails_naming_the_error_of_the_task_it_paused_on():
    failed = named(task("failed", desired="shutdown", err="task: non-zero exit (1)"))
    assert progress(paused(), [task("running", desired="running"), failed])[:2] == (
        "failed", "update paused: update paused due to failure or early termination of task "
        "k2y2h5nkmkag0bfsmipe2j7p5 (task: non-zero exit (1))")
    # the task is gone from the engine's list: the engine's message alone
    assert progress(paused(), [])[1] == (
        "update paused: update paused due to failure or early termination of task "
        "k2y2h5nkmkag0bfsmipe2j7p5")


def test_only_an_update_paused_on_the_engines_own_race_is_resumable():
    race = named(task("failed", desired="shutdown", err=RACE))
    assert resumable(paused(), [race]) == RACE
    # the other wording, "unable to remount secrets dir as readonly"
    other = named(task("failed", desired="shutdown", err=RACE.replace(" dir ", " secrets dir ")))
    assert resumable(paused(), [other]) is not None
    # a fault of the service, another task, another state: not resumed
    assert resumable(paused(), [named(task("failed", err="task: non-zero exit (1)"))]) is None
    assert resumable(paused(named="other0task"), [race]) is None
    assert resumable(paused(), []) is None
    for state in ("updating", "rollback_started", "rollback_paused", "completed"):
        assert resumable(paused(state), [race]) is None
    # the same race on a busy device other than a remount is not this one
    assert resumable(paused(), [named(task("failed", err="mkdir /x: device or resource busy"))]) is None
    # the caller's own rule, for a failure it knows to be transient
    assert resumable(paused(), [named(task("failed", err="task: non-zero exit (1)"))],
                     transient=lambda err: err.endswith("(1)")) == "task: non-zero exit (1)"


def test_a_rollback_that_completed_names_the_latest_task_that_failed_since_the_update_began():
    """The engine's message then says only "rollback completed": the task is
    the latest that failed since the update's start (Go drops a timestamp's
    trailing zeros, so "…21.9Z" is later than "…21.176716246Z")."""
    rolled = service({"Replicated": {"Replicas": 3}})
    rolled["UpdateStatus"] = {"State": "rollback_completed", "Message": "rollback completed",
                              "StartedAt": "2026-12-03T13:02:21.176716246Z"}
    before = task("failed", err="an earlier failure", stamp="2026-12-03T13:02:20.5Z")
    first = task("failed", err="task: non-zero exit (1)", stamp="2026-12-03T13:02:21.2Z")
    latest = task("failed", err="task: non-zero exit (2)", stamp="2026-12-03T13:02:21.9Z")
    assert progress(rolled, [before, latest, first, task("running", desired="running")])[:2] == (
        "failed", "update rollback_completed: rollback completed (task: non-zero exit (2))")
    assert progress(rolled, [before])[1] == "update rollback_completed: rollback completed"
    # a rollback is never resumed: the engine put the spec before back
    assert resumable(rolled, [named(task("failed", err=RACE, stamp="2026-12-03T13:02:22Z"))]) is None


def test_an_update_rolled_back_on_the_engines_race_is_told_apart():
    """Sent again by the deploy (swarm.Convergence), not resumed: the engine
    put the spec before back."""
    race = named(task("failed", desired="shutdown", err=RACE))
    for state in ("rollback_started", "rollback_paused"):
        rolled = paused(state)
        assert rolled_back_on_race(rolled, [race]) == RACE
        assert resumable(rolled, [race]) is None
    assert rolled_back_on_race(paused(), [race]) is None  # paused: resumed instead
    assert rolled_back_on_race(paused("rollback_started"),
                               [named(task("failed", err="task: non-zero exit (1)"))]) is None
