"""The pure parts of `doit status`: rows from what was read, the JSON's
keys, the terminal's lines and the HTML page."""
import json

from kargo_tasks.operations import status

NS = "kargo-web"


def service(name, running, desired, mode=None, image="reg/app:1@sha256:" + "ab" * 32,
            restart=None, update=None, sid=None):
    spec = {"Name": f"{NS}_{name}", "Mode": mode or {"Replicated": {"Replicas": desired}},
            "TaskTemplate": {"ContainerSpec": {"Image": image, "Env": ["PW=hunter22"]}}}
    if restart:
        spec["TaskTemplate"]["RestartPolicy"] = {"Condition": restart}
    found = {"ID": sid or name, "Spec": spec,
             "ServiceStatus": {"RunningTasks": running, "DesiredTasks": desired}}
    if update:
        found["UpdateStatus"] = {"State": update}
    return found


def task(service_id, state, at, code=None, err=None):
    return {"ServiceID": service_id, "Status": {"State": state, "Timestamp": at, "Err": err,
                                                "ContainerStatus": {"ExitCode": code}}}


def read(**changes):
    found = {"stack": "web", "namespace": NS, "workspace": ["app", "db", "migrate"],
             "services": {f"{NS}_app": service("app", 2, 2),
                          f"{NS}_db": service("db", 0, 1),
                          f"{NS}_migrate": service("migrate", 0, 0, restart="none")},
             "tasks": [task("migrate", "failed", "2026-12-02T10:00:00Z", code=3),
                       task("migrate", "complete", "2026-12-02T11:00:00Z", code=0)],
             "reasons": [], "send": {}, "remove": [], "urls": {"app": ["http://localhost:8080"]},
             "error": None, "rolled_back": False, "current": "0123456789ab",
             "previous": "ba9876543210", "since": 1796223600.0}
    found.update(changes)
    return found


def test_rows_say_what_runs_and_what_differs():
    rows = status.rows(read())
    by = {s["service"]: s for s in rows["services"]}
    assert by["app"]["state"] == status.AS_SAID and not by["app"]["differs"]
    assert by["app"]["digest"] == "sha256:" + "ab" * 32 and by["app"]["image"] == "reg/app:1"
    assert by["db"]["state"] == "runs 0 of its 1 tasks" and by["db"]["differs"]
    assert by["migrate"]["mode"] == "replicated-job"
    assert by["migrate"]["job"] == {"result": "completed", "detail": "", "at": "2026-12-02T11:00:00Z"}
    assert rows["differs"] and rows["deployed_at"] == "2026-12-02T15:00:00Z"
    assert rows["version"] == "0123456789ab" and rows["rollback_to"] == "ba9876543210"


def test_a_service_drifted_a_job_failed_one_not_deployed_one_not_in_the_workspace():
    services = read()["services"]
    services[f"{NS}_db"] = service("db", 1, 1)
    services[f"{NS}_extra"] = service("extra", 1, 1)
    del services[f"{NS}_app"]
    found = read(services=services, send={"db": "changed outside kargo", "app": "new"},
                 remove=[f"{NS}_extra"],
                 tasks=[task("migrate", "failed", "2026-12-02T12:00:00Z", code=3)])
    by = {s["service"]: s for s in status.rows(found)["services"]}
    assert by["app"]["state"] == "not deployed"
    assert by["db"]["state"] == "changed outside kargo"
    assert by["migrate"]["state"] == "job failed: exit 3"
    assert by["extra"]["state"] == "not in the workspace (a deploy removes it)"


def test_as_the_workspace_says_is_not_differing():
    services = read()["services"]
    services[f"{NS}_db"] = service("db", 1, 1)
    rows = status.rows(read(services=services))
    assert not rows["differs"]
    assert not status.document([rows], "unix:///var/run/docker.sock")["differs"]


def test_lines_one_per_service_then_the_reasons():
    doc = status.document([status.rows(read(reasons=["variable MOTTO changed"]))], "unix:///x")
    lines = status.lines(doc)
    assert lines[0] == "engine: unix:///x"
    assert lines[1] == ("web  version 0123456789ab deployed 2026-12-02T15:00:00Z  "
                        "rollback:web goes back to ba9876543210  DIFFERS")
    assert lines[2] == ("  app      2/2  reg/app:1@sha256:abababababab  as the workspace says"
                        "  http://localhost:8080")
    assert lines[3].startswith("  db       0/1  ") and lines[3].endswith("runs 0 of its 1 tasks")
    assert lines[4].endswith("as the workspace says; job completed")
    assert lines[5] == "  ! variable MOTTO changed"


def test_json_and_html_hold_no_value_of_a_spec_and_load_nothing():
    doc = status.document([status.rows(read())], "unix:///x")
    text = json.dumps(doc)
    page = status.page(doc, "2026-12-02 15:00:00 UTC")
    for out in (text, page, "\n".join(status.lines(doc))):
        assert "hunter22" not in out
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert '<a href="http://localhost:8080">' in page


def test_html_escapes_what_it_shows():
    doc = status.document([status.rows(read(reasons=["<b>file</b> changed"]))], "unix:///x")
    page = status.page(doc, "now")
    assert "<b>file</b>" not in page and "&lt;b&gt;file&lt;/b&gt; changed" in page


def test_modes_as_docker_names_them_and_a_run_once_service_is_a_job():
    assert status.mode({"Mode": {"Replicated": {"Replicas": 2}}}) == "replicated"
    assert status.mode({"Mode": {"Global": {}}}) == "global"
    assert status.mode({"Mode": {"ReplicatedJob": {}}}) == "replicated-job"
    assert status.mode({"Mode": {"GlobalJob": {}}}) == "global-job"
    assert status.mode({"Mode": {"Global": {}},
                        "TaskTemplate": {"RestartPolicy": {"Condition": "none"}}}) == "global-job"


def test_a_jobs_last_result_is_its_latest_task():
    assert status.job_result([]) == {"result": "none", "detail": "", "at": None}
    running = [task("j", "complete", "2026-01-01T00:00:00Z"), task("j", "running", "2026-01-02T00:00:00Z")]
    assert status.job_result(running)["result"] == "running"
    refused = [task("j", "rejected", "2026-01-01T00:00:00Z", err="no such image")]
    assert status.job_result(refused) == {"result": "failed", "detail": "no such image",
                                          "at": "2026-01-01T00:00:00Z"}


def test_a_swarm_jobs_result_is_the_deploys_rule():
    """A job the engine restarts after each failure (restart condition any,
    a stack's default) has a task running again after its third failure: the
    deploy said it failed, so does status (engine/convergence.progress)."""
    job = {"Spec": {"Mode": {"ReplicatedJob": {"TotalCompletions": 1}}}}
    tries = [dict(task("j", "failed", f"2026-01-01T00:00:0{n}Z", code=3, err="task: non-zero exit (3)"),
                  ID=f"t{n}") for n in range(3)]
    again = dict(task("j", "running", "2026-01-01T00:00:09Z"), ID="t9")
    found = status.job_result([*tries, again], job)
    assert (found["result"], found["at"]) == ("failed", "2026-01-01T00:00:09Z")
    assert "3 failed: task: non-zero exit (3)" in found["detail"]
    assert status.job_result(tries[:1] + [again], job)["result"] == "running"
    done = dict(task("j", "complete", "2026-01-01T00:00:05Z"), ID="t5")
    assert status.job_result([done], job) == {"result": "completed", "detail": "",
                                              "at": "2026-01-01T00:00:05Z"}
