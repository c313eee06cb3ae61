"""KARGO_NOTIFY on runs that need no engine: a deploy that fails before the
engine is asked is one POST naming the failure (the body holds no value of
the environment), its exit status the same as without it; an undelivered
notification is one warning line; a run that deploys nothing, sends nothing."""
from support import Webhook, closed_port, write

SECRET = "kt-S3CR3T-value-9f2c"


def bad_replicas(kargo):
    # a value the loader refuses without quoting it (it may be a secret)
    write(kargo.workspace / ".env", f"FRONT_REPLICAS={SECRET}\n")
    write(kargo.workspace / "deploy/front.yml", """
        version: "3.8"
        services:
          front:
            image: ${FRONT_IMAGE}:${FRONT_TAG}
            environment:
              TOKEN: ${FRONT_REPLICAS}
            deploy:
              replicas: ${FRONT_REPLICAS}
    """)


def test_a_failed_deploy_is_one_post_and_keeps_its_exit_status(kargo):
    bad_replicas(kargo)
    plain = kargo.run("deploy", check=False)
    assert plain.returncode != 0
    hook = Webhook()
    refused = f"http://127.0.0.1:{closed_port()}/hooks/PRIVATE"
    try:
        proc = kargo.run("deploy", check=False,
                         env={"KARGO_NOTIFY": f"{hook.url} {refused}"})
    finally:
        hook.close()
    assert proc.returncode == plain.returncode
    [request] = hook.requests
    sent = request["json"]
    assert sent["outcome"] == "failed" and sent["command"] == "deploy"
    assert sent["workspace"] == str(kargo.workspace) and sent["revision"] is None
    assert sent["failures"] and "replicas" in sent["failures"][0]
    assert sent["text"].startswith(f"kargo deploy failed on {kargo.workspace}")
    assert SECRET not in request["raw"].decode()
    # the refused URL: one warning line, its path (a webhook's secret) not in it
    warnings = [line for line in proc.stderr.splitlines() if "warning: notification" in line]
    assert len(warnings) == 1 and "PRIVATE" not in warnings[0], proc.stderr
    assert proc.stderr.replace(warnings[0] + "\n", "") == plain.stderr


def test_a_run_that_deploys_nothing_sends_nothing(kargo):
    hook = Webhook()
    try:
        kargo.run("configure", env={"KARGO_NOTIFY": hook.url})
        kargo.run("show", env={"KARGO_NOTIFY": hook.url})
    finally:
        hook.close()
    assert hook.requests == []


def test_a_sync_that_cannot_pull_is_one_post_and_keeps_its_exit_status(kargo):
    # the workspace is no git repository: the sync is refused before any task
    plain = kargo.run("sync", check=False)
    hook = Webhook()
    try:
        proc = kargo.run("sync", check=False, env={"KARGO_NOTIFY": hook.url})
    finally:
        hook.close()
    assert proc.returncode == plain.returncode == 3
    assert (proc.stdout, proc.stderr) == (plain.stdout, plain.stderr)
    [request] = hook.requests
    sent = request["json"]
    assert sent["command"] == "sync" and sent["outcome"] == "failed"
    assert sent["failures"] == [plain.stderr.strip().removeprefix("kargo: sync: ")]
