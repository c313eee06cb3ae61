"""The pure parts of jobs: which compose services are jobs, the engine's
refusal of an update_config on one (said before the engine is asked), and
what a rollback does with jobs (deploy/jobs.kept: nothing)."""
from kargo_tasks.compose.schema import errors, is_job
from kargo_tasks.deploy.jobs import kept
from kargo_tasks.workspace.namespace import Namespace


def test_is_job_reads_deploy_mode():
    assert is_job({"deploy": {"mode": "replicated-job"}})
    assert is_job({"deploy": {"mode": "global-job"}})
    assert not is_job({"deploy": {"mode": "global"}})
    assert not is_job({"image": "x"})


def test_update_config_on_a_job_is_refused_naming_its_place():
    doc = {"services": {"migrate": {"image": "x", "deploy": {
        "mode": "replicated-job", "update_config": {"parallelism": 1}}}}}
    assert errors(doc) == [(("services", "migrate", "deploy", "update_config"),
                            "services.migrate.deploy.update_config is not allowed: a job (mode "
                            "replicated-job) runs once, the engine refuses an update config on it")]
    doc["services"]["migrate"]["deploy"]["mode"] = "replicated"
    assert errors(doc) == []


def test_a_rollback_neither_sends_nor_removes_a_job():
    ns = Namespace("kargo-s")
    doc = {"services": {"web": {"image": "x"},
                        "migrate": {"image": "x", "deploy": {"mode": "replicated-job"}}}}
    deployed = {"kargo-s_seed": {"Spec": {"Mode": {"GlobalJob": {}}}},
                "kargo-s_old": {"Spec": {"Mode": {"Replicated": {"Replicas": 1}}}}}
    send, remove, lines = kept(doc, {"web": "changed", "migrate": "changed"},
                               ["kargo-s_old", "kargo-s_seed"], ns, deployed)
    assert send == {"web": "changed"} and remove == ["kargo-s_old"]
    assert lines == ["job migrate is kept as the last deploy left it: a job that ran is not "
                     "run again by a rollback", "job seed is kept: a rollback removes no job"]
