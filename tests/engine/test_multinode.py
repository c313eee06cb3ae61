"""Placement on a real 3-node Swarm: node labels from `<NODE>_LABELS`,
constraints from `<SERVICE>_CONSTRAINTS`, a drained or lost worker, and the
overlay network between nodes.

The cluster (multinode_fixtures.py, `scripts/swarm-nodes up --own-manager`):
a manager, kt-m, and two workers, kt-w1 and kt-w2, each a dockerd of its
own, a swarm apart from the host's (the module overlaps the other engine
tests). Every placement is asserted twice: on the manager (the node of each
running task) and on the worker daemons themselves (which one runs the
container).
"""
import pytest

from kargo_tasks.engine.labels import managed_key

from multinode_fixtures import (SERVICE_LABEL, WORKERS, cluster,  # noqa: F401
                                multienv, wait_for)
from support import write

# one cluster (fixed node names) made for the module: its tests on one worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("swarm-nodes")]

SLEEP = ["sleep", "3600"]


def ran(proc):
    """The tasks a doit run executed (the reporter prints `.  <task>`)."""
    return [line[3:] for line in proc.stdout.splitlines() if line.startswith(".  ")]


def other(hostname):
    return next(h for h in WORKERS if h != hostname)


def managers_containers(env, name):
    return env.client.containers.list(filters={"label": f"{SERVICE_LABEL}={env.service(name)}"})


def test_node_labels_and_constraints_place_services_on_the_labelled_worker(multienv, cluster):
    env = multienv
    key, zone = env.key, f"kt_zone_{env.name[3:]}"
    env.write_defaults({"db": SLEEP, "web": ["sleep", "3601"]})
    env.set_env(f'KT_W1_LABELS="{key}=db"\n'
                f'KT_W2_LABELS="{key}=web {zone}=b"\n'
                f'DB_CONSTRAINTS="node.labels.{key}==db"\n'
                f'WEB_CONSTRAINTS="node.labels.{key}==web node.labels.{zone}==b"\n'
                "DB_REPLICAS=2\n")
    db, web = env.service("db"), env.service("web")

    proc = env.run("deploy")
    # labels first, then the stack whose constraints read them
    assert proc.stdout.index("labels of kt-w") < proc.stdout.index(f"deploy {env.stack}: ")
    # the labels, on the nodes of those hostnames only
    managed = managed_key(env.kargo.root)  # this root's record of the keys it set
    assert cluster.labels("kt-w1") == {key: "db", managed: key}
    assert cluster.labels("kt-w2") == {key: "web", zone: "b", managed: ",".join(sorted([key, zone]))}
    assert key not in (cluster.manager()["Spec"].get("Labels") or {})
    assert f"node.labels.{key}==db" in \
        env.client.api.inspect_service(db)["Spec"]["TaskTemplate"]["Placement"]["Constraints"]
    # the manager placed both db tasks on kt-w1, web on kt-w2 ...
    assert env.placement("db") == ["kt-w1", "kt-w1"]
    assert env.placement("web") == ["kt-w2"]
    # ... and those daemons run them, nobody else
    assert len(cluster.containers("kt-w1", db)) == 2 and cluster.containers("kt-w2", db) == []
    assert len(cluster.containers("kt-w2", web)) == 1 and cluster.containers("kt-w1", web) == []
    assert managers_containers(env, "db") == [] and managers_containers(env, "web") == []

    again = env.run("deploy")
    assert again.stdout == "" and again.stderr == ""


def test_changed_labels_move_the_service_on_the_next_deploy(multienv, cluster):
    env = multienv
    key = env.key
    env.write_defaults({"db": SLEEP})
    constraint = f'DB_CONSTRAINTS="node.labels.{key}==db"\n'
    env.set_env(f'KT_W1_LABELS="{key}=db"\nKT_W2_LABELS="{key}=spare"\n' + constraint)
    db = env.service("db")
    env.run("deploy")
    assert env.placement("db") == ["kt-w1"]
    before = {t["ID"] for t in env.tasks("db")}

    env.set_env(f'KT_W1_LABELS="{key}=spare"\nKT_W2_LABELS="{key}=db"\n' + constraint)
    proc = env.run("deploy")
    # the labels are stale, and so is the stack whose constraint reads the
    # label; the stack file is not (it does not read *_LABELS)
    assert ran(proc) == ["deploy"], proc.stdout
    assert proc.stdout.index("labels of kt-w") < proc.stdout.index(f"deploy {env.stack}: ")
    assert cluster.labels("kt-w1")[key] == "spare" and cluster.labels("kt-w2")[key] == "db"
    # the deploy waited for the move: a new task, on kt-w2
    assert env.placement("db") == ["kt-w2"]
    assert {t["ID"] for t in env.tasks("db")}.isdisjoint(before)
    assert len(cluster.containers("kt-w2", db)) == 1
    wait_for(lambda: cluster.containers("kt-w1", db) == [], f"{db} stopped on kt-w1", timeout=30)

    assert env.run("deploy").stdout == ""


def test_drained_worker_hands_its_task_to_the_other_labelled_worker(multienv, cluster):
    env = multienv
    key = env.key
    env.write_defaults({"db": SLEEP})
    env.set_env(f'KT_W1_LABELS="{key}=db"\nKT_W2_LABELS="{key}=db"\n'
                f'DB_CONSTRAINTS="node.labels.{key}==db"\n')
    db = env.service("db")
    env.run("deploy")
    [first] = env.placement("db")
    second = other(first)

    cluster.update_node(first, Availability="drain")
    env.converged_on("db", [second])
    wait_for(lambda: cluster.containers(first, db) == [], f"{db} stopped on {first}", timeout=30)
    assert len(cluster.containers(second, db)) == 1
    assert managers_containers(env, "db") == []  # never the unlabelled manager
    # the stack runs as deployed: nothing for kargo to do
    proc = env.run("deploy")
    assert proc.stdout == "" and proc.stderr == ""


def test_killed_worker_daemon_its_task_moves_to_the_other_labelled_worker(multienv, cluster):
    env = multienv
    key = env.key
    env.write_defaults({"db": SLEEP})
    env.set_env(f'KT_W1_LABELS="{key}=db"\nKT_W2_LABELS="{key}=db"\n'
                f'DB_CONSTRAINTS="node.labels.{key}==db"\n')
    db = env.service("db")
    env.run("deploy")
    [lost] = env.placement("db")
    survivor = other(lost)
    try:
        cluster.kill_daemon(lost)
        env.converged_on("db", [survivor])
        assert len(cluster.containers(survivor, db)) == 1
        assert managers_containers(env, "db") == []
        proc = env.run("deploy")
        assert proc.stdout == "" and proc.stderr == ""
    finally:
        cluster.up()
    # back: the node's daemon drops the task the manager moved away
    wait_for(lambda: cluster.containers(lost, db) == [], f"{db} stopped on {lost}", timeout=60)
    env.converged_on("db", [survivor])


def test_deploy_names_the_service_no_labelled_node_can_take(multienv, cluster):
    env = multienv
    key = env.key
    env.write_defaults({"db": SLEEP})
    base = f'KT_W1_LABELS="{key}=db"\nDB_CONSTRAINTS="node.labels.{key}==db"\n'
    env.set_env(base)
    db = env.service("db")
    env.run("deploy")
    assert env.placement("db") == ["kt-w1"]

    cluster.update_node("kt-w1", Availability="drain")
    errors = wait_for(lambda: env.placement("db") == [] and env.pending("db"),
                      f"{db} pending once kt-w1 is drained")
    assert any("no suitable node" in e for e in errors), errors
    # the operator changes the service meanwhile: the deploy runs, waits,
    # and fails naming the service that did not converge
    env.set_env(base + "KT_REVISION=2\n")
    proc = env.run("deploy", check=False, env={"KARGO_DEPLOY_TIMEOUT": "6"})
    assert proc.returncode != 0, proc.stdout
    assert ran(proc) == [f"_stack:{env.stack}", "deploy"], proc.stdout
    [line] = [line for line in proc.stderr.splitlines() if line.startswith("kargo: ")]
    assert line.startswith(f"kargo: deploy: service {db} did not converge in 6s: "
                           "0/1 running, pending: no suitable node"), proc.stderr
    assert env.placement("db") == [] and cluster.containers("kt-w2", db) == []

    # the node is back: the next deploy converges, on it, with the new spec
    cluster.update_node("kt-w1", Availability="active")
    proc = env.run("deploy")
    assert ran(proc) == ["deploy"] and f"deploy {env.stack}: " in proc.stdout, proc.stdout
    assert env.placement("db") == ["kt-w1"]
    [container] = cluster.containers("kt-w1", db)
    assert "KT_REVISION=2" in container.attrs["Config"]["Env"]
    assert env.run("deploy").stdout == ""


@pytest.mark.parametrize("loss", ["drain", "kill"])
def test_plain_deploy_reports_the_service_a_node_loss_left_unplaced(multienv, cluster, loss):
    """A lost node leaves the service short of tasks: the stack is stale, and
    the deploy's wait names the service and the scheduler's reason."""
    env = multienv
    key = env.key
    env.write_defaults({"db": SLEEP})
    env.set_env(f'KT_W1_LABELS="{key}=db"\nDB_CONSTRAINTS="node.labels.{key}==db"\n')
    db = env.service("db")
    first = env.run("deploy", check=False)
    if first.returncode != 0 or env.placement("db") != ["kt-w1"]:
        pytest.fail(f"set-up: {db} not deployed on kt-w1:\n{first.stdout}{first.stderr}")
    try:
        if loss == "drain":
            cluster.update_node("kt-w1", Availability="drain")
        else:
            cluster.kill_daemon("kt-w1")
        wait_for(lambda: env.placement("db") == [] and env.pending("db"),
                 f"{db} pending once kt-w1 is lost ({loss})")
        proc = env.run("deploy", check=False, env={"KARGO_DEPLOY_TIMEOUT": "6"})
        assert proc.returncode != 0, "doit deploy succeeded with 0/1 running:\n" + proc.stdout
        assert db in proc.stderr and "no suitable node" in proc.stderr, proc.stderr
    finally:
        if loss == "kill":
            cluster.up()


def test_services_on_two_nodes_reach_each_other_by_name_over_the_overlay(multienv, cluster):
    env = multienv
    key = env.key
    # srv answers its hostname to every connection on 7000; cli asks it every second
    env.write_defaults({
        "srv": ["sh", "-c", "while true; do hostname | nc -l -p 7000; done"],
        "cli": ["sh", "-c", "while true; do nc -w 5 srv 7000 </dev/null; sleep 1; done"]})
    env.set_env(f'KT_W1_LABELS="{key}=srv"\nKT_W2_LABELS="{key}=cli"\n'
                f'SRV_CONSTRAINTS="node.labels.{key}==srv"\n'
                f'CLI_CONSTRAINTS="node.labels.{key}==cli"\n')
    srv, cli = env.service("srv"), env.service("cli")
    env.run("deploy")
    assert env.placement("srv") == ["kt-w1"] and env.placement("cli") == ["kt-w2"]
    [server] = cluster.containers("kt-w1", srv)
    [client] = cluster.containers("kt-w2", cli)
    answer = server.attrs["Config"]["Hostname"]  # what srv sends

    # from cli's container on kt-w2: the short (compose) name and the full
    # service name resolve to srv's address on the shared overlay network
    [task] = env.tasks("srv")
    [address] = [a.split("/")[0] for att in task["NetworksAttachments"]
                 if att["Network"]["Spec"]["Name"] == env.back for a in att["Addresses"]]
    for name in ("srv", srv):
        lookup = client.exec_run(["nslookup", name])
        assert lookup.exit_code == 0 and address in lookup.output.decode(), lookup.output
        reply = client.exec_run(["nc", "-w", "5", name, "7000"])
        assert reply.exit_code == 0, reply.output
        assert reply.output.decode().strip() == answer
    # and cli's own loop got the answer: its log, through the manager
    def logged():
        logs = env.client.api.service_logs(cli, stdout=True, stderr=True)
        return answer.encode() in (logs if isinstance(logs, bytes) else b"".join(logs))
    wait_for(logged, f"{answer} in the log of {cli}", timeout=30)


GLOBAL_JOB_YML = """
version: "3.9"
services:
  sweep:
    image: ${BUSYBOX}
    command: ["sh", "-c", "sleep 1; echo swept"]
    deploy:
      mode: global-job
      endpoint_mode: dnsrr
    networks: [back]
networks:
  back:
    external: true
    name: ${DOCKER_BACK_NETWORK}
"""


def test_a_global_job_converges_when_it_completed_on_every_node(multienv, cluster):
    """A `global-job` runs once on each node: the deploy waits until the
    task of every node completed (it never runs), and the next deploy does
    not run it again."""
    env = multienv
    env.write_defaults({"sweep": SLEEP})
    write(env.kargo.workspace / "deploy/sweep.yml", GLOBAL_JOB_YML)
    env.run("deploy")
    sweep = env.service("sweep")
    tasks = env.client.api.tasks(filters={"service": sweep})
    nodes = [n for n in env.client.api.nodes()
             if n["Spec"]["Availability"] == "active" and n["Status"]["State"] == "ready"]
    assert len(nodes) == 3
    # one completed task on each node, when the deploy returned
    assert sorted(env.cluster.hostname(t["NodeID"]) for t in tasks
                  if t["Status"]["State"] == "complete") == sorted(
        env.cluster.hostname(n["ID"]) for n in nodes)
    again = env.run("deploy")
    assert again.stdout == "" and again.stderr == ""
    assert sorted(t["ID"] for t in env.client.api.tasks(filters={"service": sweep})) == sorted(
        t["ID"] for t in tasks)
