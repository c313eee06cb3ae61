"""KARGO_NOTIFY on real deploys: a run of two stack tasks (`doit deploy:a
deploy:b`) is ONE POST naming both stacks and every service sent and why,
the workspace's git revision and kargo's version, no value of the
environment; a deploy that changes nothing sends nothing; a failed deploy
(a job that exits 3) sends its failing line and keeps its exit status,
whether or not the notification is delivered; a `doit sync` that
deployed is one POST, one that did nothing none."""
import subprocess

import pytest

from stack_fixtures import sent as sent_stacks
from stack_fixtures import stackenv  # noqa: F401
from support import Webhook, closed_port, write
from test_jobs import job_stack
from test_sync import SYNCED, synced  # noqa: F401

from kargo_tasks import __version__

pytestmark = pytest.mark.slow

SECRET = "kt-S3CR3T-greeting-51ab"


def git(workspace, *args):
    return subprocess.run(["git", "-C", str(workspace), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_one_post_per_run_naming_what_was_sent_and_nothing_for_a_no_op(stackenv):
    env = stackenv
    env.set_env(f'GREETING="{SECRET}"\n')
    ws = env.kargo.workspace
    git(ws, "init", "-q")
    git(ws, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(ws, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "ws")
    hook = Webhook()
    try:
        notify = {"KARGO_NOTIFY": hook.url}
        env.run(f"deploy:{env.a}", f"deploy:{env.b}", env=notify)
        assert len(hook.requests) == 1, [r["json"]["text"] for r in hook.requests]
        sent = hook.requests[0]["json"]
        assert sent["outcome"] == "succeeded" and sent["stacks"] == [env.a, env.b]
        assert sorted((s["stack"], s["service"], s["why"]) for s in sent["services"]) == [
            (env.a, "cache", "new"), (env.a, "web", "new"), (env.b, "worker", "new")]
        assert sent["revision"] == git(ws, "rev-parse", "HEAD")
        assert sent["kargo"] == __version__ and sent["workspace"] == str(ws)
        assert sent["text"].splitlines()[0].startswith(f"kargo deploy:{env.a} deploy:{env.b} "
                                                       "succeeded on ")
        assert SECRET not in hook.requests[0]["raw"].decode()
        # the value reached the service: the body left it out, it was there to leak
        assert any(SECRET in e for e in env.inspect(env.service(env.a, "web"))
                   ["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"])

        # `deploy` is a task of its own: it runs once, sends no service, notifies nothing
        again = env.run("deploy", env=notify)
        assert sent_stacks(again) == [] and len(hook.requests) == 1, again.stdout
        assert env.run("deploy", env=notify).stdout == "" and len(hook.requests) == 1

        # a rollback that changed something: one POST, its action and service
        env.set_env(f'GREETING="{SECRET}-2"\n')
        env.run(f"deploy:{env.a}", env=notify)
        env.run(f"rollback:{env.a}", env=notify)
        assert len(hook.requests) == 3
        back = hook.requests[2]["json"]
        assert back["command"] == f"rollback:{env.a}" and back["outcome"] == "succeeded"
        assert back["services"] == [{"stack": env.a, "service": "web", "why": "changed",
                                     "action": "rollback"}]
        assert not any(SECRET in r["raw"].decode() for r in hook.requests)
    finally:
        hook.close()


def test_a_failed_deploy_sends_its_line_and_keeps_its_exit_status(stackenv):
    env = stackenv
    c = job_stack(env, {"broken": ("exit 3", 1)})
    hook = Webhook()
    refused = f"http://127.0.0.1:{closed_port()}/x"
    try:
        proc = env.run(f"deploy:{c}", check=False, env={"KARGO_NOTIFY": f"{refused},{hook.url}"})
    finally:
        hook.close()
    assert proc.returncode == 1, proc.stderr
    [request] = hook.requests
    sent = request["json"]
    line = (f"service {env.service(c, 'broken')} failed: 0/1 completed, 3 failed: "
            "task: non-zero exit (3)")
    assert sent["outcome"] == "failed" and sent["failures"] == [line]
    assert sent["services"] == [{"stack": c, "service": "broken", "why": "new",
                                 "action": "deploy"}]
    assert line in sent["text"].splitlines()
    # the undelivered one: a warning line, the deploy's own error unchanged
    errors = [x for x in proc.stderr.splitlines() if x.strip()]
    assert errors[0] == f"kargo: deploy:{c}: {line}"
    assert len(errors) == 2 and errors[1].startswith("kargo: warning: notification not delivered")


def test_a_sync_that_deployed_is_one_post_and_a_sync_that_did_nothing_none(synced):
    env = synced
    hook = Webhook()
    try:
        notify = {"KARGO_NOTIFY": hook.url}
        first = env.run("sync", check=False, env=notify)
        assert first.returncode == SYNCED, first.stderr
        [request] = hook.requests
        sent = request["json"]
        assert sent["command"] == "sync" and sent["outcome"] == "succeeded"
        assert sent["stacks"] == [env.a, env.b]
        assert sent["revision"] == git(env.kargo.workspace, "rev-parse", "HEAD")
        assert env.run("sync", check=False, env=notify).returncode == 0
        assert len(hook.requests) == 1
    finally:
        hook.close()
